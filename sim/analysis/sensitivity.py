"""Global sensitivity analysis: which parameters drive the benefit of coordinated care.

Morris screening over every service, clinician and patient parameter, then
Sobol indices for the most influential (SALib). Every point of a design runs
both arms on the same seeds (common random numbers), and is cached on disk
under a hash of its values and the base config, so an interrupted analysis
resumes where it stopped and never recomputes a finished point.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from ..core.params import Config, ServiceParams, to_dict, validate
from ..core.state import CLINICIAN_TRAITS
from .experiment import ExperimentResult, run_experiment

Outcome = Callable[[ExperimentResult], float]


def _arm_mean(arm: str, column: str) -> Outcome:
    return lambda r: float(r.patients.loc[r.patients["arm"] == arm, column].astype(float).mean())


def _gap(column: str) -> Outcome:
    return lambda r: _arm_mean("coordinated", column)(r) - _arm_mean("fragmented", column)(r)


OUTCOMES: dict[str, Outcome] = {
    "function_gap": _gap("function_final"),  # coordinated minus fragmented, final functioning (points)
    "symptoms_gap": _gap("symptoms_final"),  # coordinated minus fragmented, final PHQ-15
    "dropout": _arm_mean("coordinated", "dropout"),  # share ever disengaged under coordinated care
    "dropout_gap": _gap("dropout"),
    "cost": _arm_mean("coordinated", "cost"),  # cost per patient under coordinated care
    "cost_gap": _gap("cost"),
}
"""Outcomes of a design point, by name (the arms must be ``coordinated`` and ``fragmented``)."""


@dataclass(frozen=True)
class Factor:
    """One uncertain parameter: its dotted config path and its range."""

    name: str
    low: float
    high: float
    integer: bool = False


def get_path(obj: typing.Any, path: str) -> typing.Any:
    """The value at a dotted path of a parameter tree (``arms.coordinated.continuity``)."""
    for part in path.split("."):
        obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
    return obj


def replace_path(obj: typing.Any, path: str, value: typing.Any) -> typing.Any:
    """A copy of a frozen parameter tree with the value at a dotted path replaced."""
    head, _, rest = path.partition(".")
    if isinstance(obj, dict):
        child = obj[head]
        return {**obj, head: replace_path(child, rest, value) if rest else value}
    child = getattr(obj, head)
    return dataclasses.replace(obj, **{head: replace_path(child, rest, value) if rest else value})


def _around(value: float, spread: float, lo: float, hi: float | None) -> tuple[float, float]:
    low, high = max(lo, value - spread), value + spread
    return low, min(high, hi) if hi is not None else high


def default_space(config: Config) -> list[Factor]:
    """Every service, clinician and patient parameter, with a range.

    - Service: the coordinated arm's parameters, from the fragmented value to
      the coordinated one (±30% where the two presets agree; training ±0.2).
    - Clinicians: trait means of GPs and specialists ±0.15, their head counts ±30%.
    - Patients: trait means ±0.15, baseline severity ±3 points, help-seeking delay ±50%.
    """
    coordinated, fragmented = config.arms["coordinated"], config.arms["fragmented"]
    factors = []
    hints = typing.get_type_hints(ServiceParams)
    for f in dataclasses.fields(ServiceParams):
        if hints[f.name] is bool:
            continue
        a, b = getattr(coordinated, f.name), getattr(fragmented, f.name)
        lo, hi = f.metadata["lo"], f.metadata["hi"]
        if f.name.startswith("training_"):
            low, high = a - 0.2, a + 0.2
        elif a != b:
            low, high = min(a, b), max(a, b)
        else:
            low, high = _around(a, 0.3 * abs(a) or 0.1, lo if lo is not None else -np.inf, hi)
        factors.append(Factor(f"arms.coordinated.{f.name}", float(low), float(high), hints[f.name] is int))
    for role in ("gp", "specialist"):
        group = config.workforce.group(role)
        for trait in CLINICIAN_TRAITS:
            factors.append(Factor(f"workforce.{role}.{trait}", *_around(getattr(group, trait), 0.15, 0.0, 1.0)))
        heads = group.per_1000_patients
        factors.append(Factor(f"workforce.{role}.per_1000_patients", *_around(heads, 0.3 * heads, 0.0, None)))
    pop = config.population
    for trait in (
        "attachment_security_mean",
        "stress_reactivity_mean",
        "catastrophising_mean",
        "health_literacy_mean",
        "stigma_mean",
    ):
        factors.append(Factor(f"population.{trait}", *_around(getattr(pop, trait), 0.15, 0.0, 1.0)))
    factors.append(Factor("population.severity_mean", *_around(pop.severity_mean, 3.0, 0.0, 30.0)))
    delay = pop.help_seeking_delay_mean_weeks
    factors.append(Factor("population.help_seeking_delay_mean_weeks", *_around(delay, 0.5 * delay, 0.0, None)))
    return [f for f in factors if f.high > f.low]


def apply(config: Config, factors: list[Factor], values: Iterable[float]) -> Config:
    """The config with each factor set to its value (integers rounded), validated."""
    for factor, value in zip(factors, values, strict=True):
        config = replace_path(config, factor.name, round(value) if factor.integer else float(value))
    validate(config)
    return config


def point_key(config: Config, factors: list[Factor], values: np.ndarray) -> str:
    """Hash of the base config and this point's values: the cache key of one evaluation."""
    payload = json.dumps(
        {"config": to_dict(config), "point": dict(zip([f.name for f in factors], map(float, values), strict=True))},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def _evaluate(config: Config, factors: list[Factor], values: np.ndarray, cache: Path, outcomes: list[str]) -> dict:
    path = cache / f"{point_key(config, factors, values)}.json"
    if path.is_file():
        return json.loads(path.read_text())
    result = run_experiment(apply(config, factors, values))
    row = {name: OUTCOMES[name](result) for name in outcomes}
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(row))
    os.replace(tmp, path)  # a killed run leaves no file that looks complete
    return row


def evaluate_design(
    config: Config,
    factors: list[Factor],
    design: np.ndarray,
    cache: Path,
    outcomes: list[str],
    n_jobs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Evaluate every row of a design (cached, in parallel); one column per outcome.

    Args:
        config: The base config (arms ``coordinated`` and ``fragmented``).
        factors: The factors, in design column order.
        design: Points, one row each.
        cache: Folder of finished evaluations (created); finished points are skipped.
        outcomes: Names from ``OUTCOMES``.
        n_jobs: Parallel worker processes (joblib).
        progress: Called with the number of points finished in each batch.
    """
    cache.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    batch = max(4 * n_jobs, 8)
    with Parallel(n_jobs=n_jobs) as parallel:
        for start in range(0, len(design), batch):
            chunk = design[start : start + batch]
            rows += parallel(delayed(_evaluate)(config, factors, v, cache, outcomes) for v in chunk)
            if progress is not None:
                progress(len(chunk))
    return pd.DataFrame(rows, columns=outcomes)


def morris_indices(factors: list[Factor], design: np.ndarray, y: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Morris elementary effects (mu*, sigma) with bootstrap 95% intervals, tidy."""
    from SALib.analyze import morris

    problem = salib_problem(factors)
    rows = []
    for outcome in y.columns:
        si = morris.analyze(problem, design, y[outcome].to_numpy(), num_resamples=200, seed=seed)
        for i, f in enumerate(factors):
            mu, conf = float(si["mu_star"][i]), float(si["mu_star_conf"][i])
            rows.append(_index_row("morris", outcome, f.name, "mu_star", mu, conf, design.shape[0]))
            rows.append(_index_row("morris", outcome, f.name, "sigma", float(si["sigma"][i]), np.nan, design.shape[0]))
    return pd.DataFrame(rows)


def sobol_indices(factors: list[Factor], y: pd.DataFrame, base_samples: int, seed: int) -> pd.DataFrame:
    """First-order and total Sobol indices with bootstrap 95% intervals, at N/4, N/2 and N (convergence)."""
    from SALib.analyze import sobol

    problem = salib_problem(factors)
    block = len(factors) + 2  # rows per base sample without second-order terms
    rows = []
    for n in sorted({max(base_samples // 4, 4), max(base_samples // 2, 4), base_samples}):
        for outcome in y.columns:
            values = y[outcome].to_numpy()[: n * block]
            si = sobol.analyze(problem, values, calc_second_order=False, num_resamples=200, seed=seed)
            for i, f in enumerate(factors):
                rows.append(_index_row("sobol", outcome, f.name, "S1", si["S1"][i], si["S1_conf"][i], n))
                rows.append(_index_row("sobol", outcome, f.name, "ST", si["ST"][i], si["ST_conf"][i], n))
    return pd.DataFrame(rows)


def _index_row(method: str, outcome: str, parameter: str, index: str, value: float, conf: float, n: int) -> dict:
    return {
        "method": method,
        "outcome": outcome,
        "parameter": parameter,
        "index": index,
        "value": float(value),
        "ci_low": float(value - conf),
        "ci_high": float(value + conf),
        "samples": n,
    }


def salib_problem(factors: list[Factor]) -> dict:
    """The SALib problem definition of the factors."""
    return {"num_vars": len(factors), "names": [f.name for f in factors], "bounds": [[f.low, f.high] for f in factors]}


def convergence_warnings(sobol: pd.DataFrame, wide: float = 0.15, drift: float = 0.1) -> list[str]:
    """Warnings for wide intervals, indices negative beyond their interval, and indices still moving with N."""
    warnings = []
    n_max = sobol["samples"].max()
    final = sobol[sobol["samples"] == n_max]
    for r in final.itertuples():
        half = (r.ci_high - r.ci_low) / 2.0
        if half > wide:
            warnings.append(f"{r.outcome}/{r.parameter} {r.index} = {r.value:.2f} ± {half:.2f}: interval wide")
        if r.ci_high < 0:
            warnings.append(f"{r.outcome}/{r.parameter} {r.index} = {r.value:.2f} is negative beyond its interval")
    sizes = sorted(sobol["samples"].unique())
    if len(sizes) > 1:
        prev = sobol[sobol["samples"] == sizes[-2]].set_index(["outcome", "parameter", "index"])["value"]
        last = final.set_index(["outcome", "parameter", "index"])["value"]
        moved = (last - prev).abs()
        for key, change in moved[moved > drift].items():
            warnings.append(f"{'/'.join(key)} moved by {change:.2f} between N={sizes[-2]} and N={sizes[-1]}")
    return warnings


def top_factors(morris: pd.DataFrame, factors: list[Factor], k: int) -> list[Factor]:
    """The k factors with the largest mu* (normalised per outcome, then the best rank over outcomes)."""
    mu = morris[morris["index"] == "mu_star"].copy()
    mu["scaled"] = mu["value"] / mu.groupby("outcome")["value"].transform("max").replace(0, 1)
    order = mu.groupby("parameter")["scaled"].max().sort_values(ascending=False).index[:k]
    by_name = {f.name: f for f in factors}
    return [by_name[name] for name in order]
