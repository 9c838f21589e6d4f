"""Decision analysis of a probabilistic sensitivity analysis: net benefit, acceptability, value of information.

Pure functions of arrays: ``costs`` and ``effects`` have one row per draw and
one column per strategy (arm). Net monetary benefit at a willingness to pay
lambda is NMB = lambda x effect - cost (effect in QALYs, lambda in currency
units per QALY).

- CEAC: the share of draws in which each strategy has the highest NMB.
- Frontier (CEAF): at each lambda, the strategy with the highest *expected*
  NMB, and the probability that it is the best.
- EVPI = E[max_d NMB_d] - max_d E[NMB_d], per patient; the population EVPI
  multiplies by the patients affected over the decision's horizon.
- EVPPI by the regression metamodel of Strong, Oakley & Brennan (2014, Med
  Decis Making 34:311): regress each strategy's NMB on the parameters of the
  group; EVPPI = E[max_d fitted_d] - max_d E[fitted_d].
"""

from __future__ import annotations

import numpy as np


def net_benefit(costs: np.ndarray, effects: np.ndarray, wtp: float) -> np.ndarray:
    """Net monetary benefit of every draw and strategy at willingness to pay ``wtp`` (draws x strategies)."""
    return wtp * np.asarray(effects, dtype=float) - np.asarray(costs, dtype=float)


def best_shares(values: np.ndarray) -> np.ndarray:
    """The share of draws in which each strategy has the highest value (ties go to the first strategy)."""
    values = np.asarray(values, dtype=float)
    best = np.argmax(values, axis=1)
    return np.bincount(best, minlength=values.shape[1]) / values.shape[0]


def ceac(costs: np.ndarray, effects: np.ndarray, wtp: np.ndarray) -> np.ndarray:
    """Cost-effectiveness acceptability curves: P(strategy has the highest NMB), one row per lambda in ``wtp``."""
    return np.vstack([best_shares(net_benefit(costs, effects, lam)) for lam in np.asarray(wtp, dtype=float)])


def frontier(costs: np.ndarray, effects: np.ndarray, wtp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The acceptability frontier: at each lambda, the strategy with the highest expected NMB and its CEAC value.

    Returns:
        ``(optimal, probability)``: the index of the optimal strategy and the
        probability that it is the most cost-effective, one each per lambda.
    """
    curves = ceac(costs, effects, wtp)
    optimal = np.array([int(np.argmax(net_benefit(costs, effects, lam).mean(axis=0))) for lam in wtp])
    return optimal, curves[np.arange(len(optimal)), optimal]


def evpi(values: np.ndarray) -> float:
    """Expected value of perfect information per patient: E[max_d NB_d] - max_d E[NB_d]."""
    values = np.asarray(values, dtype=float)
    # Never below 0 (it is an expectation of a non-negative gap): a negative value is rounding.
    return float(max(0.0, values.max(axis=1).mean() - values.mean(axis=0).max()))


def population_evpi(per_patient: float, patients_per_year: float, years: float, discount_rate: float) -> float:
    """EVPI for everyone the decision affects: per-patient EVPI x discounted patients over the horizon.

    Args:
        per_patient: EVPI per patient (currency units).
        patients_per_year: New patients each year whom the decision concerns.
        years: How long the decision stands before it is revisited.
        discount_rate: Annual discount rate (0.035 is the NICE reference case).
    """
    whole, part = int(years), years - int(years)
    weights = [(1.0 + discount_rate) ** -t for t in range(whole)]
    if part > 0:
        weights.append(part * (1.0 + discount_rate) ** -whole)
    return per_patient * patients_per_year * float(sum(weights))


def _basis(x: np.ndarray) -> np.ndarray:
    """A flexible regression basis of one parameter: cubic polynomial plus cubic terms at the quartiles."""
    z = (x - x.mean()) / (x.std() or 1.0)
    knots = np.quantile(z, [0.25, 0.5, 0.75])
    return np.column_stack([z, z**2, z**3, *(np.clip(z - k, 0.0, None) ** 3 for k in knots)])


def metamodel_fit(values: np.ndarray, parameters: np.ndarray) -> np.ndarray:
    """Fitted net benefits E[NB_d | parameters] from a regression metamodel, draws x strategies.

    Each parameter enters through an additive cubic-spline basis (six terms);
    with two to four parameters their pairwise products are added. The basis
    is cut to a tenth of the draws at most (the first columns kept: each
    parameter's linear term first), so the fit cannot interpolate noise.

    Args:
        values: Net benefit per draw and strategy.
        parameters: The group's parameter values per draw (draws x parameters).
    """
    values = np.asarray(values, dtype=float)
    x = np.asarray(parameters, dtype=float).reshape(values.shape[0], -1)
    bases = [_basis(x[:, j]) for j in range(x.shape[1])]
    # Order the columns by degree so a cut keeps each parameter's simplest terms.
    columns = [b[:, k] for k in range(6) for b in bases]
    if 2 <= x.shape[1] <= 4:
        z = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
        columns += [z[:, i] * z[:, j] for i in range(x.shape[1]) for j in range(i + 1, x.shape[1])]
    columns = columns[: max(1, values.shape[0] // 10)]
    design = np.column_stack([np.ones(values.shape[0]), *columns])
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    return design @ coef


def evppi(values: np.ndarray, parameters: np.ndarray) -> float:
    """Expected value of partial perfect information about a group of parameters (regression metamodel).

    Args:
        values: Net benefit per draw and strategy (draws x strategies).
        parameters: The group's parameter values per draw (draws x parameters).
    """
    fitted = metamodel_fit(values, parameters)
    return float(max(0.0, fitted.max(axis=1).mean() - fitted.mean(axis=0).max()))
