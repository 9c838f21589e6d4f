"""Calibration targets: published (or local) figures, and how the model's outputs are scored against them.

A target names a metric, the care model (arm) it is measured in, and the band
the simulated value must fall in. Metrics are computed per replicate from the
per-patient table, then summarised across replicates (mean and 95% t-interval).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..core.params import ConfigError
from .experiment import ExperimentResult, pooled_sd, standardised_difference, t_interval

Metric = Callable[[pd.DataFrame, pd.DataFrame | None, float], float]
"""(patients of the arm, patients of the comparison arm or None, years simulated) -> value."""


def _alliance_outcome_r(arm: pd.DataFrame, _ref: pd.DataFrame | None, _years: float) -> float:
    pair = arm[["alliance_third", "function_change"]].dropna()
    return float(pair.corr().iloc[0, 1]) if len(pair) > 2 else float("nan")


def _effect_size(column: str, sign: float) -> Metric:
    def metric(arm: pd.DataFrame, ref: pd.DataFrame | None, _years: float) -> float:
        if ref is None:
            raise ConfigError(f"metric effect_size_{column.split('_')[0]} needs 'versus: <arm>'")
        # One replicate's standardised difference (summary.csv applies the same formula to replicate means).
        difference = sign * float(arm[column].mean() - ref[column].mean())
        return standardised_difference(difference, float(pooled_sd(arm[column].var(), ref[column].var())))

    return metric


def _per_year(column: str) -> Metric:
    return lambda arm, _ref, years: float(arm[column].mean() / years)


def _mean(column: str) -> Metric:
    return lambda arm, _ref, _years: float(arm[column].astype(float).mean())


METRICS: dict[str, Metric] = {
    "alliance_outcome_r": _alliance_outcome_r,  # r(alliance at 3rd encounter, change in functioning)
    "dropout_first_year": lambda arm, _ref, _years: float((arm["dropout_week"] <= 52).mean()),
    "share_improved": _mean("improved"),
    "share_deteriorated": _mean("deteriorated"),
    "effect_size_function": _effect_size("function_final", +1.0),  # arm minus versus, pooled SD
    "effect_size_symptoms": _effect_size("symptoms_final", -1.0),  # versus minus arm: fewer is better
    "gp_visits_per_year": _per_year("visits_gp"),
    "specialist_visits_per_year": _per_year("visits_specialist"),
    "emergency_per_year": _per_year("emergency"),
    "cost_per_year": _per_year("cost"),
}
"""Named metrics; ``mean:<column>`` and ``per_year:<column>`` work for any patient column."""


@dataclass(frozen=True)
class Target:
    """One figure the model should reproduce."""

    id: str
    metric: str
    arm: str  # the care model it is measured in; "each" = every arm of the run
    low: float
    high: float
    figure: str = ""
    source: str = ""
    versus: str | None = None  # comparison arm, for effect sizes

    def metric_function(self) -> Metric:
        """The function computing this target's metric."""
        kind, _, column = self.metric.partition(":")
        if kind == "mean" and column:
            return _mean(column)
        if kind == "per_year" and column:
            return _per_year(column)
        return METRICS[self.metric]


def load_targets(path: str | Path) -> list[Target]:
    """Read targets from a YAML file (format: ``conf/targets/published.yaml``).

    Raises:
        ConfigError: for a missing file, an unknown metric or a malformed band.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config error: targets file {str(path)!r} not found")
    entries = (yaml.safe_load(path.read_text()) or {}).get("targets") or []
    if not entries:
        raise ConfigError(f"config error: {path} has no 'targets:' list")
    targets = []
    for i, e in enumerate(entries):
        where = f"{path}: targets[{i}]"
        metric = str(e.get("metric", ""))
        kind, _, column = metric.partition(":")
        if metric not in METRICS and not (kind in ("mean", "per_year") and column):
            allowed = ", ".join([*METRICS, "mean:<column>", "per_year:<column>"])
            raise ConfigError(f"config error: {where}.metric = {metric!r} is not allowed; expected one of {allowed}")
        band = e.get("band")
        if not (isinstance(band, list) and len(band) == 2 and float(band[0]) <= float(band[1])):
            allowed = "[low, high] with low <= high"
            raise ConfigError(f"config error: {where}.band = {band!r} is not allowed; expected {allowed}")
        known = {"id", "metric", "arm", "band", "figure", "source", "versus"}
        unknown = set(e) - known
        if unknown:
            raise ConfigError(f"config error: {where} has unknown keys {sorted(unknown)}; allowed: {sorted(known)}")
        targets.append(
            Target(
                id=str(e.get("id", f"T{i + 1}")),
                metric=metric,
                arm=str(e.get("arm", "each")),
                low=float(band[0]),
                high=float(band[1]),
                figure=str(e.get("figure", "")),
                source=str(e.get("source", "")),
                versus=e.get("versus"),
            )
        )
    return targets


def evaluate(result: ExperimentResult, targets: list[Target]) -> pd.DataFrame:
    """Score a finished experiment against targets.

    Returns:
        One row per target (and per arm for ``arm: each``): the published
        figure and source, the band, the simulated mean with its 95% interval
        across replicates, and whether the mean is inside the band.
    """
    years = result.config.run.weeks / 52.0
    patients = result.patients
    groups = {key: frame for key, frame in patients.groupby(["arm", "replicate"])}
    replicates = sorted(patients["replicate"].unique())
    arms = list(dict.fromkeys(patients["arm"]))
    rows = []
    for target in targets:
        fn = target.metric_function()
        for arm in arms if target.arm == "each" else [target.arm]:
            if arm not in arms or (target.versus and target.versus not in arms):
                raise ConfigError(f"config error: target {target.id} needs arm {arm!r}; the run has {arms}")
            values = np.array(
                [fn(groups[(arm, r)], groups[(target.versus, r)] if target.versus else None, years) for r in replicates]
            )
            mean, lo, hi = t_interval(values)
            rows.append(
                {
                    "target": target.id,
                    "arm": arm,
                    "metric": target.metric,
                    "band_low": target.low,
                    "band_high": target.high,
                    "simulated": mean,
                    "ci_low": lo,
                    "ci_high": hi,
                    "inside": bool(target.low <= mean <= target.high),
                    "figure": target.figure,
                    "source": target.source,
                }
            )
    return pd.DataFrame(rows)


def loss(table: pd.DataFrame) -> float:
    """Calibration loss: squared distance of each simulated value from its band's centre, in half-widths.

    A value at the edge of its band scores 1; outside it grows quadratically.
    """
    centre = (table["band_low"] + table["band_high"]) / 2.0
    half = ((table["band_high"] - table["band_low"]) / 2.0).clip(lower=1e-9)
    z = (table["simulated"] - centre) / half
    return float(np.nansum(z**2) + 100.0 * z.isna().sum())


def to_markdown(table: pd.DataFrame) -> str:
    """The validation table as Markdown (for ``docs/validation.md``)."""
    lines = [
        "| target | arm | published figure | band | simulated (95% CI) | inside |",
        "|---|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        lines.append(
            f"| {r.target} | {r.arm} | {r.figure} ({r.source}) | [{r.band_low:g}, {r.band_high:g}] | "
            f"{r.simulated:.3f} ({r.ci_low:.3f}–{r.ci_high:.3f}) | {'yes' if r.inside else '**no**'} |"
        )
    return "\n".join(lines) + "\n"
