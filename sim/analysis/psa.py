"""Probabilistic sensitivity analysis: draw the uncertain parameters, run every arm per draw.

The uncertain parameters are those declared with a ``prior`` in
``sim.core.params``. Each draw is one parameter set; every arm of a draw runs
on the same seed (common random numbers), so the difference between arms
within a draw is the effect of care under that parameter set, and the spread
across draws is the parameter uncertainty.

Parameters are named by path: ``mechanisms.<name>`` (and any other group of
the config) set the value; ``arms.<name>`` is a service parameter, and a draw
shifts every arm's value by (draw - default), clipped to the range, so the
arms keep their differences (see :class:`sim.core.params.Prior`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..core.params import Config, ConfigError, Prior, ServiceParams
from ..core.streams import replicate_seed

SERVICE = "arms"


@dataclass(frozen=True)
class UncertainParameter:
    """A parameter with a prior: where it lives, its default, range and prior."""

    path: str
    default: float
    lo: float
    hi: float
    prior: Prior

    @property
    def group(self) -> str:
        """Its parameter group (value of information is reported per group)."""
        return self.prior.group


def uncertain_parameters(config: Config) -> list[UncertainParameter]:
    """Every parameter declared with a prior, in declaration order (service parameters as ``arms.<name>``).

    The default is the value in ``config`` (so an override moves the prior
    along with it); for a service parameter it is the class default, from
    which each arm's preset is shifted.
    """
    found = []
    for group in dataclasses.fields(config):
        value = getattr(config, group.name)
        if dataclasses.is_dataclass(value):
            for f in dataclasses.fields(value):
                if "prior" in f.metadata:
                    found.append(_uncertain(f"{group.name}.{f.name}", getattr(value, f.name), f))
    for f in dataclasses.fields(ServiceParams):
        if "prior" in f.metadata:
            found.append(_uncertain(f"{SERVICE}.{f.name}", f.default, f))
    return found


def _uncertain(path: str, default: float, f: dataclasses.Field) -> UncertainParameter:
    return UncertainParameter(
        path, float(default), float(f.metadata["lo"]), float(f.metadata["hi"]), f.metadata["prior"]
    )


def distribution(p: UncertainParameter) -> stats.rv_continuous:
    """The (untruncated) SciPy distribution of a parameter's prior."""
    a, b = p.prior.parameters(p.default)
    family = p.prior.family
    if family == "beta":
        return stats.beta(a, b)
    if family == "lognormal":
        return stats.lognorm(s=b, scale=np.exp(a))
    if family == "normal":
        return stats.norm(a, b)
    return stats.uniform(a, b - a)


def sample_priors(parameters: list[UncertainParameter], draws: int, seed: int) -> pd.DataFrame:
    """``draws`` parameter sets from the priors, each truncated to its range (inverse-CDF sampling).

    Args:
        parameters: From :func:`uncertain_parameters`.
        draws: Number of parameter sets.
        seed: Seeds the draws (plain Monte Carlo; the same seed gives the same draws).

    Returns:
        One row per draw (``draw`` = 0..draws-1), one column per parameter path.
    """
    rng = np.random.default_rng(seed)
    columns = {}
    for p in parameters:
        dist = distribution(p)
        lo, hi = dist.cdf(p.lo), dist.cdf(p.hi)
        columns[p.path] = dist.ppf(lo + (hi - lo) * rng.random(draws))
    frame = pd.DataFrame(columns)
    frame.insert(0, "draw", np.arange(draws))
    return frame


WEIGHT = "weight"
"""The column of importance weights in a weighted posterior sample (ABC-SMC particles)."""


def check_posterior(
    sample: pd.DataFrame, parameters: list[UncertainParameter], source: str, draws: int, seed: int
) -> tuple[pd.DataFrame, list[str]]:
    """Draws from a posterior sample in place of the priors, for the parameters it holds.

    A column per fitted parameter (its path), values in range. With a
    ``weight`` column (weighted particles, as ``experiments.calibrate --method
    abc`` writes) ``draws`` rows are resampled with probability proportional
    to the weights; without one, the first ``draws`` rows are taken in order.
    Parameters with a prior but no column (those the calibration did not fit:
    judgement and service parameters) are drawn from their priors,
    independently, as without a posterior.

    Args:
        sample: The posterior sample.
        parameters: Every uncertain parameter.
        source: How to name the sample in an error.
        draws: How many draws to make.
        seed: Seeds the resampling and the prior draws.

    Returns:
        The draws (``draw`` and one column per parameter) and the paths taken from the sample.

    Raises:
        ConfigError: no column of a prior parameter, a dotted column that is not one, a value outside the
            parameter's range, or bad weights; named.
    """
    known = {p.path for p in parameters}
    fitted = [p for p in parameters if p.path in sample.columns]
    strangers = [c for c in sample.columns if "." in str(c) and c not in known]
    if strangers:
        raise ConfigError(
            f"config error: {source} has a column {strangers[0]!r}; allowed: the parameters with a prior "
            f"({', '.join(sorted(known))}), weight"
        )
    if not fitted:
        raise ConfigError(f"config error: {source} has no column of a parameter with a prior; expected one or more")
    if sample.empty:
        raise ConfigError(f"config error: {source} has no rows")
    for p in fitted:
        bad = sample[(sample[p.path] < p.lo) | (sample[p.path] > p.hi) | sample[p.path].isna()]
        if len(bad):
            raise ConfigError(
                f"config error: {source}: {p.path} = {bad[p.path].iloc[0]!r}; allowed: {p.lo:g} to {p.hi:g}"
            )
    rng = np.random.default_rng(seed)
    if WEIGHT in sample.columns:
        weights = sample[WEIGHT].to_numpy(dtype=float)
        if not (np.isfinite(weights).all() and (weights >= 0).all() and weights.sum() > 0):
            raise ConfigError(f"config error: {source}: weight must be finite, >= 0 and not all 0")
        rows = rng.choice(len(sample), size=draws, p=weights / weights.sum())
    else:
        rows = np.arange(min(draws, len(sample)))
    frame = sample[[p.path for p in fitted]].iloc[rows].reset_index(drop=True)
    rest = [p for p in parameters if p.path not in sample.columns]
    if rest:
        # A seed of its own (from the same one), so the prior draws do not depend on the resampling.
        drawn = sample_priors(rest, len(frame), int(rng.integers(2**32)))
        frame = pd.concat([frame, drawn.drop(columns="draw")], axis=1)
    frame = frame[[p.path for p in parameters]]
    frame.insert(0, "draw", np.arange(len(frame)))
    return frame, [p.path for p in fitted]


def apply_draw(config: Config, parameters: list[UncertainParameter], values: dict[str, float]) -> Config:
    """The config with one draw's values in place (service parameters shifted in every arm).

    Args:
        config: The base configuration.
        parameters: The uncertain parameters.
        values: One draw: parameter path -> value.
    """
    groups: dict[str, dict[str, float]] = {}
    shifts: dict[str, UncertainParameter] = {}
    for p in parameters:
        where, name = p.path.split(".", 1)
        if where == SERVICE:
            shifts[name] = p
        else:
            groups.setdefault(where, {})[name] = _typed(getattr(getattr(config, where), name), values[p.path])
    changes = {where: dataclasses.replace(getattr(config, where), **named) for where, named in groups.items()}
    arms = {}
    for arm, service in config.arms.items():
        shifted = {
            name: float(np.clip(getattr(service, name) + values[p.path] - p.default, p.lo, p.hi))
            for name, p in shifts.items()
        }
        arms[arm] = dataclasses.replace(service, **shifted)
    return dataclasses.replace(config, arms=arms, **changes)


def _typed(current: object, value: float) -> float | int:
    return round(value) if isinstance(current, int) else float(value)


def draw_seed(base_seed: int, draw: int) -> int:
    """The seed every arm of a draw runs on (the same derivation as an experiment's replicates)."""
    return replicate_seed(base_seed, draw)


def draw_config(config: Config, parameters: list[UncertainParameter], values: dict[str, float], draw: int) -> Config:
    """One draw's config: its values, one replicate on the draw's seed, serial (draws are the parallel unit)."""
    drawn = apply_draw(config, parameters, values)
    run = dataclasses.replace(
        config.run, replicates=1, seed=draw_seed(config.run.seed, draw), jobs=1, figures=False, trajectories=False
    )
    return dataclasses.replace(drawn, run=run)
