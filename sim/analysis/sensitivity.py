"""Global sensitivity analysis: which parameters drive the benefit of coordinated care.

Morris screening over every service, clinician and patient parameter, then
Sobol indices for the most influential (SALib). Every point of a design runs
both arms on the same seeds (common random numbers), and is cached on disk
under a hash of everything that decides its result (the base config, the
point's values and the outcome definitions), so an interrupted analysis
resumes where it stopped and never reuses a point computed for other settings.

Designs and bootstraps draw from generators derived from the user's seed, 0
included, so the same settings give the same indices and intervals, bit for
bit. Settings too small for a method are refused before any work
(:meth:`Settings.check`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from ..core.files import write_atomic
from ..core.params import Config, ConfigError, ServiceParams, to_dict, validate
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
    "disengaged_ever": _arm_mean("coordinated", "disengaged_ever"),  # share ever disengaged, coordinated care
    "disengaged_ever_gap": _gap("disengaged_ever"),
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


CACHE_FORMAT = 2
"""Version of a cached point's content; part of its key, so a cache written by older code is never read."""


def point_key(config: Config, factors: list[Factor], values: np.ndarray) -> str:
    """Hash of everything that decides one evaluation: the cache key of a design point.

    The base config (sizes, seed and every override), the point's factor values,
    and the names of the outcomes computed for it (all of ``OUTCOMES``), so a
    point cached before an outcome existed is computed again, never read with
    that outcome missing.
    """
    payload = json.dumps(
        {
            "format": CACHE_FORMAT,
            "config": to_dict(config),
            "point": dict(zip([f.name for f in factors], map(float, values), strict=True)),
            "outcomes": sorted(OUTCOMES),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def _cached(path: Path, outcomes: list[str]) -> dict | None:
    """The cached row at ``path`` if it holds every requested outcome, else None (compute it again)."""
    try:
        row = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(row, dict) or any(not isinstance(row.get(name), (int, float)) for name in outcomes):
        return None
    return row


def _evaluate(config: Config, factors: list[Factor], values: np.ndarray, cache: Path, outcomes: list[str]) -> dict:
    path = cache / f"{point_key(config, factors, values)}.json"
    row = _cached(path, outcomes)
    if row is None:
        result = run_experiment(apply(config, factors, values))
        # Every outcome is stored (they are cheap next to the simulation), so a rerun
        # asking for other outcomes reuses the point instead of simulating it again.
        row = {name: outcome(result) for name, outcome in OUTCOMES.items()}
        write_atomic(path, json.dumps(row))  # a killed run leaves no file that looks complete
    return {name: row[name] for name in outcomes}


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


# --- sizes, seeds and designs ---

MORRIS_LEVELS = 4  # grid levels of the Morris design (p = 4, the usual choice; SALib needs it even)
MIN_TRAJECTORIES = 4
"""Fewest Morris trajectories accepted. SALib's sigma needs r >= 2 (ddof = 1) and its
bootstrap interval of mu* resamples the r elementary effects of each factor: with
r = 2 or 3 there are only 3 or 10 distinct resamples, so the "95% interval" is an
artefact; r = 4 (35 distinct resamples) is the smallest where it starts to mean
something. Screening studies usually take r = 10 to 20 (the default is 10)."""
MIN_SOBOL_SAMPLES = 64
"""Fewest Sobol base samples N accepted. N must be a power of two (scrambled Sobol'
points are balanced only then; scipy warns otherwise), and indices are also
computed at N/4 and N/2 to check convergence: N = 64 makes the smallest of those
16 base samples, below which the bootstrap interval is as unreliable as the index."""
ANALYSIS_STREAMS = {"morris_design": 1, "morris_bootstrap": 2, "sobol_design": 3, "sobol_bootstrap": 4}
"""One random stream per purpose, derived from the user's seed, so the designs never
share draws with the bootstraps and each is the same whatever else is computed."""


@dataclass(frozen=True)
class Settings:
    """Sizes and seed of an analysis.

    The defaults are the sizes docs/sensitivity.md shows converged for this
    model: Sobol indices of the top 4 factors at N = 256 (N = 64 with 6 factors
    gave wide intervals and indices still moving).
    """

    trajectories: int = 10  # Morris trajectories r
    sobol_top: int = 4  # factors carried from Morris to Sobol
    sobol_samples: int = 256  # Sobol base samples N (a power of two)
    seed: int = 0  # seed of the designs and bootstraps; every value, 0 included, is honoured

    def check(self) -> None:
        """Refuse settings too small for the methods, before any work.

        Raises:
            ConfigError: one line naming the option, its value and the minimum.
        """
        n = self.sobol_samples
        if self.trajectories < MIN_TRAJECTORIES:
            _refuse(
                "--trajectories",
                self.trajectories,
                f"at least {MIN_TRAJECTORIES} (Morris needs r >= 2 for sigma, r >= 4 for a bootstrap interval)",
            )
        if n < MIN_SOBOL_SAMPLES or n & (n - 1):
            _refuse(
                "--sobol-samples",
                n,
                f"a power of two >= {MIN_SOBOL_SAMPLES} (Sobol' points are balanced only in powers of two, "
                f"and the convergence check at N/4 needs >= {MIN_SOBOL_SAMPLES // 4} base samples)",
            )
        if self.sobol_top < 1:
            _refuse("--sobol-top", self.sobol_top, "at least 1 factor")
        if self.seed < 0:
            _refuse("--seed", self.seed, "an integer >= 0")

    @property
    def sobol_levels(self) -> list[int]:
        """The base sample sizes at which Sobol indices are computed: N/4, N/2 and N."""
        return [self.sobol_samples // 4, self.sobol_samples // 2, self.sobol_samples]


def _refuse(option: str, value: object, allowed: str) -> None:
    raise ConfigError(f"config error: {option} = {value!r} is not allowed; expected {allowed}")


def generator(seed: int, purpose: str) -> np.random.Generator:
    """The generator of one purpose (``ANALYSIS_STREAMS``), derived from the user's seed.

    Passed explicitly wherever SALib accepts a Generator: SALib reads an integer
    seed 0 as "no seed" in places and falls back to global state.
    """
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, ANALYSIS_STREAMS[purpose]])))


def salib_seed(seed: int, purpose: str) -> int:
    """A non-zero integer seed derived from the user's seed, for SALib calls that take only an integer.

    ``SALib.analyze.sobol.analyze`` tests ``if seed:``, so 0 would mean an
    unseeded bootstrap; the derived value lies in [1, 2**32], never 0.
    """
    state = np.random.SeedSequence([seed, ANALYSIS_STREAMS[purpose]]).generate_state(1, np.uint32)
    return int(state[0]) + 1


def morris_design(factors: list[Factor], settings: Settings) -> np.ndarray:
    """The Morris design: ``trajectories x (factors + 1)`` points."""
    from SALib.sample import morris as morris_sample

    return morris_sample.sample(
        salib_problem(factors),
        N=settings.trajectories,
        num_levels=MORRIS_LEVELS,
        seed=generator(settings.seed, "morris_design"),
    )


def sobol_design(factors: list[Factor], settings: Settings) -> np.ndarray:
    """The Saltelli design without second-order terms: ``N x (factors + 2)`` points.

    Rows come in blocks of ``factors + 2`` per base sample, so the first
    ``n`` blocks are the design of size ``n`` (used by the convergence check).
    """
    from SALib.sample import sobol as sobol_sample

    return sobol_sample.sample(
        salib_problem(factors),
        settings.sobol_samples,
        calc_second_order=False,
        seed=generator(settings.seed, "sobol_design"),
    )


def morris_indices(factors: list[Factor], design: np.ndarray, y: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Morris elementary effects (mu*, sigma) with bootstrap 95% intervals, tidy.

    An outcome missing at a point has no elementary effect there: its indices
    are NaN rather than SALib's masked estimate.
    """
    from SALib.analyze import morris

    problem = salib_problem(factors)
    rows = []
    for outcome in y.columns:
        values = y[outcome].to_numpy(dtype=float)
        if np.all(np.isfinite(values)):
            # A fresh generator per outcome: the same resamples for every outcome, whichever are asked for.
            si = morris.analyze(
                problem,
                design,
                values,
                num_levels=MORRIS_LEVELS,
                num_resamples=200,
                seed=generator(seed, "morris_bootstrap"),
            )
        else:
            si = {key: np.full(len(factors), np.nan) for key in ("mu_star", "mu_star_conf", "sigma")}
        for i, f in enumerate(factors):
            mu, conf = float(si["mu_star"][i]), float(si["mu_star_conf"][i])
            rows.append(_index_row("morris", outcome, f.name, "mu_star", mu, conf, design.shape[0]))
            rows.append(_index_row("morris", outcome, f.name, "sigma", float(si["sigma"][i]), np.nan, design.shape[0]))
    return pd.DataFrame(rows)


def sobol_indices(factors: list[Factor], y: pd.DataFrame, levels: list[int], seed: int) -> pd.DataFrame:
    """First-order and total Sobol indices with bootstrap 95% intervals, at each base sample size of ``levels``.

    An outcome that does not vary over a level's points has no variance to
    share out, and one missing at a point cannot be analysed: its indices are
    NaN there (and ``convergence_warnings`` says so), rather than SALib's
    division by zero or a NaN-poisoned estimate.
    """
    from SALib.analyze import sobol

    problem = salib_problem(factors)
    block = len(factors) + 2  # rows per base sample without second-order terms
    rows = []
    for n in levels:
        for outcome in y.columns:
            values = y[outcome].to_numpy(dtype=float)[: n * block]
            if np.all(np.isfinite(values)) and np.ptp(values) > 0:
                si = sobol.analyze(
                    problem,
                    values,
                    calc_second_order=False,
                    num_resamples=200,
                    seed=salib_seed(seed, "sobol_bootstrap"),
                )
            else:
                si = {key: np.full(len(factors), np.nan) for key in ("S1", "S1_conf", "ST", "ST_conf")}
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


WIDE = 0.15  # half-width of a 95% interval above which a Sobol index is too uncertain to read
DRIFT = 0.1  # change of a Sobol index between N/2 and N above which it has not settled


def convergence_warnings(sobol: pd.DataFrame, wide: float = WIDE, drift: float = DRIFT) -> list[str]:
    """Why the Sobol indices at the largest N should not be read yet, one line each; empty if none.

    An index is flagged when it is not defined (NaN: the outcome did not vary or is missing),
    its 95% interval is wider than ``±wide``, it lies outside [0, 1] beyond its
    interval (a share of variance cannot: the estimate is noise or the model
    output is not a function of the inputs), or it moved by more than ``drift``
    between the two largest sample sizes.
    """
    warnings = []
    n_max = sobol["samples"].max()
    final = sobol[sobol["samples"] == n_max]
    for r in final.itertuples():
        name = f"{r.outcome}/{r.parameter} {r.index}"
        if not np.isfinite(r.value):
            warnings.append(f"{name} is not defined at N={n_max}: the outcome did not vary, or is missing at a point")
            continue
        half = (r.ci_high - r.ci_low) / 2.0
        if half > wide:
            warnings.append(f"{name} = {r.value:.2f} ± {half:.2f}: interval wide (more than ±{wide})")
        if r.ci_high < 0:
            warnings.append(f"{name} = {r.value:.2f} is negative beyond its interval")
        if r.ci_low > 1:
            warnings.append(f"{name} = {r.value:.2f} is above 1 beyond its interval")
    sizes = sorted(sobol["samples"].unique())
    if len(sizes) > 1:
        prev = sobol[sobol["samples"] == sizes[-2]].set_index(["outcome", "parameter", "index"])["value"]
        last = final.set_index(["outcome", "parameter", "index"])["value"]
        moved = (last - prev).abs()
        for (outcome, parameter, index), change in moved[moved > drift].items():
            warnings.append(
                f"{outcome}/{parameter} {index} moved by {change:.2f} between N={sizes[-2]} and N={sizes[-1]}"
            )
    return warnings


def top_factors(morris: pd.DataFrame, factors: list[Factor], k: int) -> list[Factor]:
    """The k factors with the largest mu* (normalised per outcome, then the best rank over outcomes)."""
    mu = morris[morris["index"] == "mu_star"].copy()
    mu["scaled"] = mu["value"] / mu.groupby("outcome")["value"].transform("max").replace(0, 1)
    order = mu.groupby("parameter")["scaled"].max().sort_values(ascending=False).index[:k]
    by_name = {f.name: f for f in factors}
    return [by_name[name] for name in order]


Evaluate = Callable[[list[Factor], np.ndarray], pd.DataFrame]
"""Runs the model at every row of a design over the given factors; one column per outcome."""


@dataclass
class Analysis:
    """What an analysis found: indices of both methods, the factors carried to Sobol, and warnings."""

    morris: pd.DataFrame
    sobol: pd.DataFrame
    top: list[Factor]
    warnings: list[str]

    @property
    def indices(self) -> pd.DataFrame:
        """Morris and Sobol indices in one tidy table."""
        return pd.concat([self.morris, self.sobol], ignore_index=True)


def run_analysis(factors: list[Factor], evaluate: Evaluate, settings: Settings) -> Analysis:
    """Morris screening of every factor, then Sobol indices of the ``settings.sobol_top`` most influential.

    Args:
        factors: The uncertain parameters and their ranges.
        evaluate: Runs the model over a design (``evaluate_design`` for the care
            model; tests pass a cheap function).
        settings: Sizes and seed; checked here before any evaluation.

    Raises:
        ConfigError: settings too small for a method (nothing is evaluated).
    """
    settings.check()
    design = morris_design(factors, settings)
    morris = morris_indices(factors, design, evaluate(factors, design), settings.seed)
    top = top_factors(morris, factors, settings.sobol_top)
    sobol_points = sobol_design(top, settings)
    sobol = sobol_indices(top, evaluate(top, sobol_points), settings.sobol_levels, settings.seed)
    return Analysis(morris, sobol, top, convergence_warnings(sobol))


# --- judgement screen: does a ±20% error in one judgement value swamp the headline? ---

JUDGEMENT_SOURCE = "judgement"
"""Source tag of a value set by judgement (sim/core/params.py): the values no data pins down."""
SCREEN_SPREAD = 0.2
"""Default relative change of each judgement value in the screen (issue #13: ±20%)."""


def _relative_range(value: float, spread: float, lo: float | None, hi: float | None) -> tuple[float, float]:
    a, b = sorted((value * (1.0 - spread), value * (1.0 + spread)))
    return max(a, lo) if lo is not None else a, min(b, hi) if hi is not None else b


def judgement_space(config: Config, spread: float = SCREEN_SPREAD) -> list[Factor]:
    """Every numeric mechanism coefficient and clinician trait mean set by judgement, ±``spread`` of its value.

    A value of 0 (a switched-off term) has no relative range and is left out;
    ranges are clipped to the declared bounds. Service presets are not here:
    their values come from descriptions of services (docs/calibration.md).
    """
    factors: list[Factor] = []

    def add(path: str, field: dataclasses.Field, value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value == 0:
            return
        if not str(field.metadata.get("source", "")).startswith(JUDGEMENT_SOURCE):
            return
        low, high = _relative_range(float(value), spread, field.metadata.get("lo"), field.metadata.get("hi"))
        if high > low:
            factors.append(Factor(path, low, high, isinstance(value, int)))

    for f in dataclasses.fields(config.mechanisms):
        add(f"mechanisms.{f.name}", f, getattr(config.mechanisms, f.name))
    for role in dataclasses.fields(config.workforce):
        group = getattr(config.workforce, role.name)
        if not dataclasses.is_dataclass(group):
            continue
        for trait in CLINICIAN_TRAITS:
            f = next(x for x in dataclasses.fields(group) if x.name == trait)
            add(f"workforce.{role.name}.{trait}", f, getattr(group, trait))
    return factors


def oat_design(config: Config, factors: list[Factor]) -> np.ndarray:
    """One-at-a-time design: the defaults, then each factor at its low and at its high end, the rest at default."""
    base = np.array([float(get_path(config, f.name)) for f in factors])
    rows = [base]
    for j, f in enumerate(factors):
        for end in (f.low, f.high):
            row = base.copy()
            row[j] = end
            rows.append(row)
    return np.vstack(rows)


def oat_effects(factors: list[Factor], design: np.ndarray, y: pd.DataFrame) -> pd.DataFrame:
    """How far each factor's ends move each outcome from its value at the defaults (rows of ``oat_design``).

    ``ratio`` is the larger move over the size of the outcome at the defaults;
    ``flagged`` marks a move larger than the outcome itself (ratio > 1).
    """
    rows = []
    for outcome in y.columns:
        at_base = float(y[outcome].iloc[0])
        for j, f in enumerate(factors):
            low, high = float(y[outcome].iloc[1 + 2 * j]), float(y[outcome].iloc[2 + 2 * j])
            move = max(abs(low - at_base), abs(high - at_base))
            ratio = move / abs(at_base) if at_base else float("inf") if move else 0.0
            rows.append(
                {
                    "outcome": outcome,
                    "parameter": f.name,
                    "default": float(design[0, j]),
                    "low": f.low,
                    "high": f.high,
                    "outcome_at_default": at_base,
                    "outcome_at_low": low,
                    "outcome_at_high": high,
                    "largest_move": move,
                    "ratio": ratio,
                    "flagged": ratio > 1.0,
                }
            )
    return pd.DataFrame(rows).sort_values(["outcome", "ratio"], ascending=[True, False], ignore_index=True)
