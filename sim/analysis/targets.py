"""Calibration targets: published (or local) figures, and how the model's outputs are scored against them.

A target names a metric, the care model (arm) it is measured in, and the band
the simulated value must fall in. Metrics are computed per replicate from the
per-patient table, then summarised across replicates (mean and 95% t-interval).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..core.params import (
    ConfigError,
    MechanismParams,
    PopulationParams,
    RunParams,
    ServiceParams,
    WorkforceParams,
)
from ..engine.metrics import IMPROVEMENT_POINTS, patient_table
from ..engine.model import CareModel
from .experiment import ExperimentResult, pooled_sd, standardised_difference, t_interval, with_interval

PHQ15_MAX = 30.0  # top of the PHQ-15 scale

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


def _change_correlation(arm: pd.DataFrame, _ref: pd.DataFrame | None, _years: float) -> float:
    return float(arm["function_change"].corr(arm["symptoms_change"]))


FUNCTION_GAIN_POINTS = 10.0  # a functioning gain a patient notices (C8: judgement, about 4 WSAS points)


def _function_gain_without_symptom_gain(arm: pd.DataFrame, _ref: pd.DataFrame | None, _years: float) -> float:
    stuck = arm[arm["symptoms_change"] > -IMPROVEMENT_POINTS]
    return float((stuck["function_change"] >= FUNCTION_GAIN_POINTS).mean()) if len(stuck) else float("nan")


def _per_year(column: str) -> Metric:
    return lambda arm, _ref, years: float(arm[column].mean() / years)


def _mean(column: str) -> Metric:
    return lambda arm, _ref, _years: float(arm[column].astype(float).mean())


METRICS: dict[str, Metric] = {
    "alliance_outcome_r": _alliance_outcome_r,  # r(alliance at 3rd encounter, change in functioning)
    "disengaged_first_year": _mean("disengaged_first_year"),  # first disengaged within 52 weeks of entry (C2)
    "share_improved": _mean("improved"),
    "share_deteriorated": _mean("deteriorated"),
    "effect_size_function": _effect_size("function_final", +1.0),  # arm minus versus, pooled SD
    "effect_size_symptoms": _effect_size("symptoms_final", -1.0),  # versus minus arm: fewer is better
    "gp_visits_per_year": _per_year("visits_gp"),
    "specialist_visits_per_year": _per_year("visits_specialist"),
    "emergency_per_year": _per_year("emergency"),
    "cost_per_year": _per_year("cost"),
    "wai_third_mean": lambda arm, _ref, _years: float(arm["wai_third"].mean()),  # WAI-SR item mean, 1–5 (C6)
    "wai_third_sd": lambda arm, _ref, _years: float(arm["wai_third"].std()),
    "share_symptoms_zero": lambda arm, _ref, _years: float((arm["symptoms_final"] <= 0.0).mean()),  # C7
    "share_symptoms_max": lambda arm, _ref, _years: float((arm["symptoms_final"] >= PHQ15_MAX).mean()),
    "below_floor_count": lambda arm, _ref, _years: float(arm["below_floor"].sum()),
    "change_correlation": _change_correlation,  # r(change in functioning, change in symptoms) (C8)
    "function_gain_without_symptom_gain": _function_gain_without_symptom_gain,  # share, of patients whose
    # PHQ-15 did not fall by 3 points, whose functioning rose by 10 or more (C8)
    "baseline_correlation": lambda arm, _ref, _years: float(
        arm["function_baseline"].corr(arm["symptoms_baseline"])
    ),  # r(functioning, PHQ-15) at entry (C8c)
    "wsas_baseline_sd": lambda arm, _ref, _years: float(arm["wsas_baseline"].std()),  # spread at entry (C8d)
    "therapy_visits_per_patient": lambda arm, _ref, _years: float(
        (arm["visits_psychologist"] + arm["visits_physiotherapist"]).mean()
    ),  # over the whole run (C10)
}
"""Named metrics; ``mean:<column>`` and ``per_year:<column>`` work for any patient column."""

RENAMED_METRICS: dict[str, str] = {"dropout_first_year": "disengaged_first_year"}
"""Old metric names, refused with their new name: "dropout" meant two things (issue 14)."""

# Which free parameters a target may move when its file does not say (``moves:``), by metric, or by
# patient column for ``mean:<column>`` / ``per_year:<column>``. Each metric moves the mechanism that
# produces it and nothing else: a dropout figure refits dropout, never recovery. Calibration moves the
# parameters named here that have a search range in the free-parameters file (conf/calibration/free.yaml).
_M = "mechanisms."
_DROPOUT = tuple(_M + k for k in ("dropout_per_week", "dropout_alliance", "dropout_trust", "dropout_progress"))  # M13
_IMPROVING = tuple(  # M8, M9: self-management and the natural course
    _M + k for k in ("adherence_intercept", "recovery_per_week", "setpoint_share", "setpoint_rate", "fluctuation_sd")
)
_DETERIORATING = tuple(  # M8: the spread of the natural course
    _M + k
    for k in (
        "setpoint_distress",
        "setpoint_stress_reactivity",
        "setpoint_catastrophising",
        "setpoint_rate",
        "fluctuation_sd",
    )
)
_CONSULTING = (_M + "demand_per_week", _M + "demand_distress")  # M13/M18: patient-initiated GP visits
_REFERRING = tuple(_M + k for k in ("referral_severity", "referral_uncertainty", "referral_reference_points"))
_EMERGENCY = tuple(  # M18
    _M + k
    for k in (
        "emergency_per_week",
        "emergency_flare",
        "emergency_distress",
        "emergency_uncertainty",
        "emergency_outside_care",
    )
)
MOVES: dict[str, tuple[str, ...]] = {
    "alliance_outcome_r": ("mechanisms.adherence_bond",),  # C1: alliance -> self-management -> outcome
    "disengaged_first_year": _DROPOUT,  # C2
    "disengaged_ever": _DROPOUT,
    "share_improved": _IMPROVING,  # C3a
    "improved": _IMPROVING,
    "share_deteriorated": _DETERIORATING,  # C3b
    "deteriorated": _DETERIORATING,
    "gp_visits_per_year": _CONSULTING,  # C5a
    "visits_gp": _CONSULTING,
    "specialist_visits_per_year": _REFERRING,  # C5b
    "visits_specialist": _REFERRING,
    "emergency_per_year": _EMERGENCY,  # C5c
    "emergency": _EMERGENCY,
    "wai_third_mean": ("mechanisms.bond_initial", "mechanisms.trust_bond"),  # C6a: the early alliance's level
    "wai_third": ("mechanisms.bond_initial", "mechanisms.trust_bond"),
    "wai_third_sd": ("mechanisms.attachment_bond",),  # C6b: its spread
    "share_symptoms_zero": ("mechanisms.fluctuation_sd",),  # C7: week-to-week noise of the PHQ-15
    "share_symptoms_max": ("mechanisms.fluctuation_sd",),
    "change_correlation": ("mechanisms.function_per_symptom_point", "mechanisms.fluctuation_sd"),  # C8a
    "function_gain_without_symptom_gain": ("mechanisms.function_per_symptom_point",),  # C8b
}
"""Default ``moves`` per metric (or patient column); a metric absent here (costs, floors, effect sizes,
therapy visits, the baseline spread set by ``population.function_offset_sd``) moves nothing unless its
target or file names parameters with ``moves:``."""


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
    moves: tuple[str, ...] | None = None  # parameters calibration may move for it; None = the MOVES default

    def movable(self) -> tuple[str, ...]:
        """The parameters calibration may move to fit this target: its own ``moves``, else the default table."""
        if self.moves is not None:
            return self.moves
        kind, _, column = self.metric.partition(":")
        return MOVES.get(column if kind in ("mean", "per_year") and column else self.metric, ())

    def metric_function(self) -> Metric:
        """The function computing this target's metric."""
        kind, _, column = self.metric.partition(":")
        if kind == "mean" and column:
            return _mean(column)
        if kind == "per_year" and column:
            return _per_year(column)
        return METRICS[self.metric]


MAX_FILE_BYTES = 1_000_000
"""Largest targets or parameters file read (the shipped ones are a few kB)."""
MAX_NODES = 100_000
"""Largest number of values a YAML file may expand to once its aliases are followed."""


def read_yaml(path: str | Path, what: str) -> object:
    """A small YAML file, loaded safely: no tags, a size limit, and no alias bombs.

    ``yaml.safe_load`` builds Python objects only, but an alias can refer to a
    list of aliases to lists of aliases (a "billion laughs" file): loading is
    quick, yet anything that walks the result runs for ever. The values are
    counted with each alias followed, and the file is refused past
    ``MAX_NODES``.

    Raises:
        ConfigError: for a missing, oversized, unreadable or exploding file.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config error: {what} file {str(path)!r} not found")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ConfigError(
            f"config error: {what} file {str(path)!r} is {size:,} bytes; expected at most {MAX_FILE_BYTES:,}"
        )
    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        mark = getattr(err, "problem_mark", None)
        where = f": line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"config error: {path}{where}: {problem}; expected plain YAML (no tags)") from err
    budget = [MAX_NODES]

    def count(node: object, depth: int) -> None:
        budget[0] -= 1
        if budget[0] < 0 or depth > 100:
            raise ConfigError(
                f"config error: {path} expands to more than {MAX_NODES:,} values or 100 levels "
                "(aliases nested in aliases); expected a plain list"
            )
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        for child in children:
            count(child, depth + 1)

    count(data, 0)
    return data


@cache
def patient_columns() -> tuple[str, ...]:
    """Columns of the per-patient table (what ``mean:<column>`` may name), from a five-patient run."""
    model = CareModel(
        ServiceParams(),
        run=RunParams(weeks=1),
        population=PopulationParams(n_patients=5),
        workforce=WorkforceParams(),
        mechanisms=MechanismParams(),
        seed=1,
        agents=False,
    )
    model.run_model()
    return tuple(patient_table(model).columns)


def _band_edge(value: object) -> float | None:
    """A band edge: a number, or +-infinity for a one-sided band (``.inf`` in YAML); not NaN."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or np.isnan(value):
        return None
    return float(value)


def load_targets(path: str | Path) -> list[Target]:
    """Read and fully check targets from a YAML file (format: ``conf/targets/published.yaml``).

    Everything that can be checked without the experiment is checked here, so
    a bad file is refused before any work: see :func:`check_arms` for the arms.

    Raises:
        ConfigError: for a missing or unsafe file, an unknown metric or column,
            a malformed band, an effect size without ``versus:``, or unknown keys.
    """
    path = Path(path)
    data = read_yaml(path, "targets")
    if not isinstance(data, dict):
        raise ConfigError(
            f"config error: {path} = a {type(data).__name__} is not allowed; expected a mapping with a 'targets:' list"
        )
    entries = data.get("targets") or []
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"config error: {path}: targets = {entries!r} is not allowed; expected a non-empty list")
    columns = patient_columns()
    file_moves = _moves(data["moves"], f"{path}: moves") if "moves" in data else None
    known = {"id", "metric", "arm", "band", "figure", "source", "versus", "moves"}
    targets = []
    for i, e in enumerate(entries):
        where = f"{path}: targets[{i}]"
        if not isinstance(e, dict):
            raise ConfigError(f"config error: {where} = {e!r} is not allowed; expected a mapping (metric, arm, band)")
        unknown = set(e) - known
        if unknown:
            raise ConfigError(f"config error: {where} has unknown keys {sorted(unknown)}; allowed: {sorted(known)}")
        metric = str(e.get("metric", ""))
        kind, _, column = metric.partition(":")
        if metric in RENAMED_METRICS:
            raise ConfigError(
                f"config error: {where}.metric = {metric!r} is not allowed; it is now {RENAMED_METRICS[metric]!r} "
                "(first disengaged within 52 weeks of entry; 'disengaged_ever' is the share ever disengaged)"
            )
        if metric not in METRICS and not (kind in ("mean", "per_year") and column):
            allowed = ", ".join([*METRICS, "mean:<column>", "per_year:<column>"])
            raise ConfigError(f"config error: {where}.metric = {metric!r} is not allowed; expected one of {allowed}")
        if column and column not in columns:
            raise ConfigError(
                f"config error: {where}.metric = {metric!r} is not allowed; "
                f"expected a patient column: {', '.join(columns)}"
            )
        band = e.get("band")
        bounds = [_band_edge(b) for b in band] if isinstance(band, list) and len(band) == 2 else [None]
        if None in bounds or bounds[0] > bounds[1] or not np.isfinite(bounds).any():
            allowed = "[low, high], two numbers with low <= high (one may be .inf or -.inf)"
            raise ConfigError(f"config error: {where}.band = {band!r} is not allowed; expected {allowed}")
        versus = e.get("versus")
        if metric.startswith("effect_size_") and not versus:
            raise ConfigError(
                f"config error: {where}.versus = {versus!r} is not allowed; expected the arm {metric} compares with"
            )
        for key in ("id", "arm", "figure", "source", "versus"):
            if key in e and not isinstance(e[key], (str, int, float)) and e[key] is not None:
                raise ConfigError(f"config error: {where}.{key} = {e[key]!r} is not allowed; expected text")
        targets.append(
            Target(
                id=str(e.get("id", f"T{i + 1}")),
                metric=metric,
                arm=str(e.get("arm", "each")),
                low=bounds[0],
                high=bounds[1],
                figure=str(e.get("figure", "")),
                source=str(e.get("source", "")),
                versus=None if versus is None else str(versus),
                moves=_moves(e["moves"], f"{where}.moves") if "moves" in e else file_moves,
            )
        )
    return targets


def _moves(value: object, where: str) -> tuple[str, ...]:
    """A ``moves:`` list, checked: dotted names of mechanism parameters (the protocol fits nothing else)."""
    names = {f.name for f in dataclasses.fields(MechanismParams)}
    allowed = "a list of mechanism parameters, e.g. [mechanisms.dropout_per_week]"
    if not isinstance(value, list) or not value:
        raise ConfigError(f"config error: {where} = {value!r} is not allowed; expected {allowed}")
    for name in value:
        group, _, field = str(name).partition(".")
        if not isinstance(name, str) or group != "mechanisms" or field not in names:
            raise ConfigError(
                f"config error: {where} names {name!r}, which is not allowed; expected {allowed} "
                "(service parameters of the presets are never fitted)"
            )
    return tuple(dict.fromkeys(value))


def check_arms(targets: list[Target], arms: list[str]) -> None:
    """Refuse a target measured in (or against) an arm the experiment does not run, before any work.

    Raises:
        ConfigError: naming the target, the arm and the arms present.
    """
    for target in targets:
        for key, arm in (("arm", target.arm), ("versus", target.versus)):
            if arm is not None and arm != "each" and arm not in arms:
                raise ConfigError(
                    f"config error: target {target.id}.{key} = {arm!r} is not allowed; "
                    f"expected one of the arms run: {', '.join(arms)}"
                )


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
                    "role": role(target, arm, result.config.run.reference_arm),
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


def role(target: Target, arm: str, reference_arm: str) -> str:
    """``fitted`` for a target measured in the usual-care (reference) arm alone, else ``predicted``.

    The calibration protocol: free mechanism parameters are fitted only to
    what usual care shows; every comparison between arms, and every figure in
    another care model, is a prediction.
    """
    return "fitted" if arm == reference_arm and target.versus is None else "predicted"


def fitted_targets(targets: list[Target], reference_arm: str) -> list[Target]:
    """The targets calibration may fit: those measured in the usual-care (reference) arm, no comparisons."""
    return [t for t in targets if t.arm in ("each", reference_arm) and t.versus is None]


def loss(table: pd.DataFrame) -> float:
    """Calibration loss: squared distance of each simulated value from its band's centre, in half-widths.

    A value at the edge of its band scores 1; outside it grows quadratically.
    A one-sided band (one edge infinite) scores 0 inside and, outside, 1 plus
    the squared distance from its edge in units of that edge's size.
    """
    low, high, sim = table["band_low"], table["band_high"], table["simulated"]
    finite = np.isfinite(low) & np.isfinite(high)
    centre = ((low + high) / 2.0).where(finite, 0.0)
    half = ((high - low) / 2.0).where(finite, 1.0).clip(lower=1e-9)
    z = ((sim - centre) / half).where(finite, 0.0)
    edge = low.where(np.isfinite(low), high)
    outside = ~finite & ((sim < low) | (sim > high))
    one_sided = 1.0 + ((sim - edge) / edge.abs().clip(lower=1e-9)) ** 2
    z2 = (z**2).where(~outside, one_sided)
    return float(np.nansum(z2) + 100.0 * sim.isna().sum())


HORIZON_WEEKS = (26, 52, 78, 104)
"""Weeks at which :func:`effects_over_time` measures the standardised differences."""


def effects_over_time(weekly: pd.DataFrame, reference: str, weeks: tuple[int, ...] = HORIZON_WEEKS) -> pd.DataFrame:
    """Standardised differences of every arm against ``reference`` at several weeks of the run.

    Published effects of collaborative care fall with time (SMD 0.25 at 6 months, 0.15 later; C4):
    this table shows how the model's effects move instead. Each replicate's difference of the weekly
    means over the pooled weekly SD (the formula of every effect size here), signed so that better is
    positive, then the mean and 95% t-interval across replicates.

    Args:
        weekly: The weekly table (``arm``, ``replicate``, ``week``, ``function_mean``/``_sd``,
            ``symptoms_mean``/``_sd``).
        reference: The arm compared against.
        weeks: Weeks to report (those beyond the run are skipped).

    Returns:
        One row per arm, outcome and week: ``smd``, ``ci_low``, ``ci_high``.
    """
    rows = []
    at = weekly[weekly["week"].isin(weeks)].set_index(["arm", "replicate", "week"])
    for arm in [a for a in weekly["arm"].unique() if a != reference]:
        for outcome, sign in (("function", 1.0), ("symptoms", -1.0)):
            for week in sorted(set(weeks) & set(weekly["week"])):
                a, r = at.xs((arm, week), level=("arm", "week")), at.xs((reference, week), level=("arm", "week"))
                mean, sd = f"{outcome}_mean", f"{outcome}_sd"
                smd = np.array(
                    [
                        standardised_difference(
                            sign * (a.at[rep, mean] - r.at[rep, mean]),
                            float(pooled_sd(a.at[rep, sd] ** 2, r.at[rep, sd] ** 2)),
                        )
                        for rep in a.index.intersection(r.index)
                    ]
                )
                m, lo, hi = t_interval(smd)
                rows.append({"arm": arm, "outcome": outcome, "week": int(week), "smd": m, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def over_time_markdown(effects: pd.DataFrame) -> str:
    """The effects-over-time table as markdown: one row per arm and outcome, one column per week."""
    if effects.empty:
        return ""
    weeks = sorted(effects["week"].unique())
    lines = ["| arm | outcome | " + " | ".join(f"week {w}" for w in weeks) + " |", "|---|---|" + "---:|" * len(weeks)]
    for (arm, outcome), rows in effects.groupby(["arm", "outcome"], sort=False):
        cells = [with_interval(r.smd, r.ci_low, r.ci_high) for r in rows.sort_values("week").itertuples()]
        lines.append(f"| {arm} | {outcome} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_markdown(table: pd.DataFrame) -> str:
    """The validation table as Markdown (for ``docs/validation.md``): fitted rows, then predicted ones."""
    if "role" in table:
        parts = []
        for name, title in (("fitted", "Fitted (in-sample)"), ("predicted", "Predicted (out-of-sample)")):
            rows = table[table["role"] == name]
            if len(rows):
                parts.append(f"### {title}\n\n" + _markdown_rows(rows))
        return "\n".join(parts)
    return _markdown_rows(table)


def _markdown_rows(table: pd.DataFrame) -> str:
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
