"""Run an experiment: every arm in every replicate, paired by seed, and compare.

Replicate ``r`` of every arm uses the same seed, so the arms see the same
patients and the same care-independent draws (common random numbers); the
difference between arms within a replicate is the effect of care. Differences
are summarised across replicates with a t-based 95% interval, and standardised
by the pooled patient-level SD of the outcome at the horizon.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..core.params import ROLE_LABELS, ROLES, Config, validate
from ..core.streams import replicate_seed

if TYPE_CHECKING:
    from ..engine.system import CareSystem


OUTCOMES: dict[str, str] = {
    "function_final": "Functioning at the horizon (0-100, higher better)",
    "function_change": "Change in functioning from baseline (points)",
    "wsas_final": "WSAS equivalent at the horizon (0-40, higher worse)",
    "symptoms_final": "Symptoms at the horizon (PHQ-15, 0-30)",
    "symptoms_change": "Change in symptoms from baseline (PHQ-15 points)",
    "improved": "Share improved (PHQ-15 down >= 3 points)",
    "deteriorated": "Share deteriorated (PHQ-15 up >= 3 points)",
    "disengaged_first_year": "Disengaged in the first year after entry (share)",
    "disengaged_ever": "Disengaged at least once over the run (share)",
    "alliance_final": "Alliance with the latest clinician (0-1)",
    "trust_final": "Trust at the horizon (0-1)",
    "visits_total": "Clinician visits per patient",
    "investigations": "Investigations per patient",
    "emergency": "Emergency attendances per patient",
    "waiting_weeks": "Weeks waiting for a first appointment",
    "cost": "Cost per patient (currency units)",
    **{f"visits_{r}": f"Visits to a {ROLE_LABELS[r]} per patient" for r in ROLES},
    "coc": "Bice-Boxerman continuity of care index (0-1)",
    "upc": "Usual provider continuity (0-1)",
    "secon": "Sequential continuity (0-1)",
}
"""Per-patient outcomes compared between arms, with their meaning."""


@dataclass
class ExperimentResult:
    """Everything an experiment produced, as tidy frames."""

    config: Config
    seeds: dict[int, int]
    weekly: pd.DataFrame
    patients: pd.DataFrame
    summary: pd.DataFrame
    trajectories: pd.DataFrame | None = None
    journeys: pd.DataFrame | None = None  # a few patients' weekly states, replicate 0 of each arm
    mediation: pd.DataFrame | None = None  # share of the difference each channel carries (analysis.mediation)
    mediation_replicates: pd.DataFrame | None = None  # the per-replicate differences behind it


JOURNEYS = 6  # patients whose weekly states every experiment keeps, for the report


def system_params(config: Config) -> dict[str, object]:
    """What every arm's care system shares: the run, population, workforce, mechanisms and costs (keyword arguments)."""
    return {
        "run": config.run,
        "population": config.population,
        "workforce": config.workforce,
        "mechanisms": config.mechanisms,
        "costs": config.costs,
    }


def run_arm(config: Config, arm: str, replicate: int, *, audit: bool = False, journeys: int = 0) -> CareSystem:
    """Simulate one arm in one replicate and return the finished engine.

    The engine is the bare :class:`~sim.engine.system.CareSystem`: no Mesa model,
    agents or data collector (nothing in an experiment reads them, and loading
    Mesa alone takes about 0.3 s); build a :class:`~sim.engine.model.CareModel`
    to get them.

    Args:
        config: The experiment configuration (validated).
        arm: Name of the arm (a key of ``config.arms``).
        replicate: Replicate index, from 0.
        audit: Keep digests of the random streams (for tests).
        journeys: Record the weekly states of this many patients.
    """
    # Imported here: the main process of a parallel run never simulates.
    from ..engine.system import CareSystem

    model = CareSystem(
        config.arms[arm],
        **system_params(config),
        seed=replicate_seed(config.run.seed, replicate),
        audit=audit,
        journeys=journeys,
    )
    model.run_model()
    return model


@dataclass
class RunTables:
    """What one run (one arm in one replicate) contributes to an experiment."""

    weekly: pd.DataFrame
    patients: pd.DataFrame
    trajectories: pd.DataFrame | None  # every patient with run.trajectories, else the journeys of replicate 0


def simulate_run(config: Config, arm: str, replicate: int) -> RunTables:
    """Run one arm in one replicate and keep only its tables (what a worker process sends back).

    Args:
        config: The experiment configuration (validated).
        arm: Name of the arm (a key of ``config.arms``).
        replicate: Replicate index, from 0.
    """
    model = run_arm(config, arm, replicate, journeys=JOURNEYS if replicate == 0 else 0)
    return _run_tables(config, model, replicate)


def _run_tables(config: Config, model: CareSystem, replicate: int) -> RunTables:
    from ..engine.metrics import patient_table

    weekly = model.weekly_table()
    if config.population.cohort == "open":
        weekly = weekly[weekly["week"] >= config.population.warmup_weeks]
    recorded = config.run.trajectories or replicate == 0
    return RunTables(weekly, patient_table(model), model.trajectory_frame() if recorded else None)


STACK_PATIENTS = 20_000
"""Most patients stepped as one system when replicates of an arm are stacked (:func:`simulate_runs`).

From about 10,000 patients a week's NumPy calls cost what their elements
cost (docs/performance.md), so a bigger stack gains nothing and takes more memory."""


def simulate_runs(config: Config, arm: str, replicates: list[int]) -> list[RunTables]:
    """Run one arm in several replicates, stacked into one care system, and keep each run's tables.

    The tables are those of :func:`simulate_run` for each replicate, bit for
    bit (:mod:`sim.engine.stack`); an open cohort's replicates (whose sizes
    differ) run one after another.

    Args:
        config: The experiment configuration (validated).
        arm: Name of the arm (a key of ``config.arms``).
        replicates: Replicate indices, from 0; replicate 0, if present, first (it records the journeys).
    """
    if len(replicates) == 1 or config.population.cohort != "closed":
        return [simulate_run(config, arm, r) for r in replicates]
    from ..engine.stack import ReplicateStack

    stack = ReplicateStack(
        config.arms[arm],
        **system_params(config),
        seeds=[replicate_seed(config.run.seed, r) for r in replicates],
        journeys=JOURNEYS if replicates[0] == 0 else 0,
    )
    stack.run_model()
    return [_run_tables(config, part, r) for part, r in zip(stack.parts, replicates, strict=True)]


def replicate_groups(config: Config, n_jobs: int) -> list[list[int]]:
    """The replicates each task stacks (:func:`simulate_runs`): as few groups as fit ``STACK_PATIENTS``.

    The number of tasks (arms x groups) is made a multiple of ``n_jobs`` where
    the replicates allow it, so no worker is left idle while another runs a
    last task: 3 arms x 10 replicates on 2 workers are 6 tasks of 5 replicates.
    """
    replicates = config.run.replicates
    if config.population.cohort != "closed":
        return [[r] for r in range(replicates)]
    per_group = max(1, STACK_PATIENTS // max(config.population.n_patients, 1))
    groups = min(-(-replicates // per_group), replicates)
    while (len(config.arms) * groups) % n_jobs and groups < replicates:
        groups += 1
    return [list(map(int, part)) for part in np.array_split(np.arange(replicates), groups)]


def worker_count(config: Config, runs: int) -> int:
    """Worker processes for ``runs`` runs: ``run.jobs``, never more than the runs.

    ``run.jobs = 0`` means one per core, except inside a worker process (a job
    of a parallel sweep, whose launcher already spreads jobs over the cores),
    where it means one.
    """
    if config.run.jobs:
        wanted = config.run.jobs
    elif multiprocessing.parent_process() is not None:
        wanted = 1
    else:
        wanted = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(wanted, runs))


class ExperimentRuns:
    """Every run of an experiment, under way from creation: on worker processes when there are several.

    Iterating gives ``(arm, replicate, tables)`` in the order the runs finish.
    Every run derives its random streams from its own seed, so where, when and
    with which other replicates it runs cannot change a number;
    :func:`run_experiment` puts the tables back in order. Made early (the
    command line makes it as soon as the config is checked), the runs go on
    while the caller does other work.

    Args:
        config: The experiment configuration; validated here before any work.
    """

    def __init__(self, config: Config) -> None:
        validate(config)
        self.config = config
        n_jobs = worker_count(config, len(config.arms) * config.run.replicates)
        self._tasks = [(arm, group) for group in replicate_groups(config, n_jobs) for arm in config.arms]
        calls = [(config, arm, group) for arm, group in self._tasks]
        self._calls = WorkerCalls(simulate_runs, calls, worker_count(config, len(self._tasks)))

    def __iter__(self) -> Iterator[tuple[str, int, RunTables]]:
        for i, tables in self._calls:
            arm, group = self._tasks[i]
            for r, run_tables in zip(group, tables, strict=True):
                yield arm, r, run_tables

    def cancel(self) -> None:
        """Drop the runs not yet started (the ones under way finish in their workers, unread)."""
        self._calls.cancel()


class WorkerCalls[T]:
    """``function(*call)`` for every call, on ``n_jobs`` processes, submitted at creation.

    Iterating gives ``(index, result)`` in the order the calls finish. Calls go
    to separate processes (the engine holds the GIL, so threads would not
    help); with ``n_jobs = 1`` they run in this process, in order, as they are
    iterated. An error or an interrupt while iterating drops the calls not yet
    started and does not wait for the others.
    """

    def __init__(self, function: Callable[..., T], calls: list[tuple], n_jobs: int) -> None:
        self._pool: ProcessPoolExecutor | None = None
        if n_jobs == 1:
            self._serial = ((i, function(*args)) for i, args in enumerate(calls))
            return
        from ..engine import metrics, system  # noqa: F401  (loaded once here, inherited by forked workers)

        # Forked where the platform allows it: a worker then starts in milliseconds with
        # NumPy, pandas and the engine already loaded, where a fresh interpreter (spawn, or
        # joblib's loky) spends about 0.7 s of CPU per worker importing them again.
        context = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
        self._pool = ProcessPoolExecutor(max_workers=n_jobs, mp_context=context, initializer=_worker_start)
        with warnings.catch_warnings():
            # Python warns at any fork once the process has other threads. Here the only ones
            # are native (OpenBLAS, Arrow's allocator), built to survive a fork; there is no
            # other Python thread that could hold a lock the workers would need.
            warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
            self._futures = {self._pool.submit(function, *args): i for i, args in enumerate(calls)}

    def __iter__(self) -> Iterator[tuple[int, T]]:
        if self._pool is None:
            yield from self._serial
            return
        try:
            for future in as_completed(self._futures):
                yield self._futures[future], future.result()
        except BaseException:
            self.cancel()
            raise
        self._pool.shutdown()

    def cancel(self) -> None:
        """Drop the calls not yet started; do not wait for the others."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


def in_workers[T](function: Callable[..., T], calls: list[tuple], n_jobs: int) -> Iterator[tuple[int, T]]:
    """``(index, function(*calls[index]))`` for every call, in the order they finish, on ``n_jobs`` processes.

    See :class:`WorkerCalls`. Used by experiments (one call per group of runs),
    the PSA (one call per draw), mediation and calibration.
    """
    return iter(WorkerCalls(function, calls, n_jobs))


@contextmanager
def in_background(function: Callable[..., object], *args: object) -> Iterator[Callable[[], None]]:
    """Run ``function(*args)`` in a forked process while this one goes on; yields ``wait``.

    ``wait()`` returns once the call has finished and raises if it failed. On
    a machine with a free core the call costs no wall time (the writer draws
    the figures this way while it writes the tables and the report). Leaving
    the block on an error stops the process; where processes cannot be forked,
    the call runs here, at once.
    """
    if sys.platform != "linux":
        function(*args)
        yield lambda: None
        return

    def run() -> None:
        _worker_start()
        function(*args)

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)  # see in_workers
        process = multiprocessing.get_context("fork").Process(target=run, daemon=True)
        process.start()

    def wait() -> None:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"{getattr(function, '__name__', function)} failed in its process")

    try:
        yield wait
    finally:
        if process.is_alive():
            process.terminate()
        process.join()


PR_SET_PDEATHSIG = 1  # Linux prctl option: a signal the kernel sends this process when its parent dies


def _worker_start() -> None:
    """Set up a worker: Ctrl-C is the main process's to handle, and a killed main process takes its workers along."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def reference_arm(config: Config) -> str:
    """The arm others are compared with: ``run.reference_arm`` if present, else the first."""
    return config.run.reference_arm if config.run.reference_arm in config.arms else next(iter(config.arms))


def run_experiment(
    config: Config, progress: Callable[[str, int], None] | None = None, runs: ExperimentRuns | None = None
) -> ExperimentResult:
    """Run every arm in every replicate and compare the arms.

    Runs go to ``run.jobs`` worker processes (0 = one per core, 1 = all in
    this process, see :func:`worker_count`); the results are the same, bit for bit,
    however many.

    Args:
        config: The experiment configuration; validated here before any work.
        progress: Called after each finished run with the arm and replicate
            (the command line uses it for a progress bar), in the order runs finish.
        runs: The runs, if already started (:class:`ExperimentRuns`) for this same config; else they start here.
    """
    validate(config)
    if runs is None or runs.config != config:
        if runs is not None:
            runs.cancel()
        runs = ExperimentRuns(config)
    seeds = {r: replicate_seed(config.run.seed, r) for r in range(config.run.replicates)}
    done: dict[tuple[str, int], RunTables] = {}
    for arm, r, tables in runs:
        done[arm, r] = tables
        if progress is not None:
            progress(arm, r)
    weekly, patients, trajectories, journeys = [], [], [], []
    in_order = [(arm, r) for r in range(config.run.replicates) for arm in config.arms]
    for (arm, r), tables in ((run, done[run]) for run in in_order):
        keys = {"arm": arm, "replicate": r}
        weekly.append(tables.weekly.assign(**keys))
        patients.append(tables.patients.assign(**keys))
        if config.run.trajectories:
            trajectories.append(tables.trajectories.assign(**keys))
        if r == 0:
            frame = tables.trajectories
            journeys.append(frame[frame["patient_id"] < JOURNEYS].assign(**keys))
    key_first = ["arm", "replicate"]
    weekly_df = _keys_first(pd.concat(weekly, ignore_index=True), [*key_first, "week"])
    weekly_df["cohort"] = config.population.cohort
    patients_df = _keys_first(pd.concat(patients, ignore_index=True), [*key_first, "patient_id"])
    patients_df["cohort"] = config.population.cohort
    traj = _keys_first(pd.concat(trajectories, ignore_index=True), key_first) if trajectories else None
    summary = compare_arms(patients_df, reference_arm(config))
    journeys_df = _keys_first(pd.concat(journeys, ignore_index=True), key_first)
    return ExperimentResult(config, seeds, weekly_df, patients_df, summary, traj, journeys_df)


def _keys_first(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    rest = [c for c in frame.columns if c not in keys]
    return frame[keys + rest]


def t_interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% t-interval across replicates (NaN interval with one replicate)."""
    values = values[~np.isnan(values)]
    n = values.size
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(values.mean())
    if n < 2:
        return mean, float("nan"), float("nan")
    half = float(_half_width(values.std(ddof=1), n))
    return mean, mean - half, mean + half


SIGNIFICANT_DIGITS = 3
"""The one precision rule of every table, report and terminal line: three significant digits of the
largest number shown together (a mean and its interval share its decimals); none from 100 up."""


def decimals(*values: float) -> int:
    """Decimals that give the largest finite value ``SIGNIFICANT_DIGITS`` significant digits (0 from 100 up)."""
    finite = [abs(v) for v in values if np.isfinite(v) and v != 0]
    if not finite:
        return 0
    return max(0, SIGNIFICANT_DIGITS - 1 - int(np.floor(np.log10(max(finite)))))


def number(value: float, places: int | None = None, *, signed: bool = False) -> str:
    """A number by the one precision rule (see ``SIGNIFICANT_DIGITS``), with thousands separators.

    Args:
        value: The number; NaN or infinite gives "not defined".
        places: Decimals to use (default: :func:`decimals` of ``value``).
        signed: Put a sign on it (differences).
    """
    if not np.isfinite(value):
        return "not defined"
    places = decimals(value) if places is None else places
    return f"{value:{'+' if signed else ''},.{places}f}"


def with_interval(mean: float, low: float, high: float, *, signed: bool = False) -> str:
    """A mean with its 95% interval, as every table and report prints it: ``12.3 [11.8, 12.9]``.

    One precision rule (``SIGNIFICANT_DIGITS`` of the largest of the three); ``signed``
    puts a sign on differences. Without a finite interval (one replicate) it
    says so; without a finite mean, "not defined".
    """
    if not np.isfinite(mean):
        return "not defined"
    if not np.isfinite(low):
        return f"{number(mean, signed=signed)} (one replicate: no interval)"
    mean_text, low_text, high_text = (number(v, decimals(mean, low, high), signed=signed) for v in (mean, low, high))
    return f"{mean_text} [{low_text}, {high_text}]"


def pooled_sd(var_a: float | np.ndarray, var_b: float | np.ndarray) -> float | np.ndarray:
    """Standard deviation pooled over two arms with equal weight: sqrt((var_a + var_b) / 2)."""
    return np.sqrt((var_a + var_b) / 2.0)


def standardised_difference(difference: float, pooled: float) -> float:
    """The effect size used everywhere: a mean difference over the pooled SD of the two arms (NaN if SD is 0)."""
    return difference / pooled if pooled > 0 else float("nan")


T_975 = np.array(
    [
        np.nan,  # no interval from one value
        12.706204736174694,  # 1
        4.302652729749462,  # 2
        3.1824463052837078,  # 3
        2.7764451051977934,  # 4
        2.5705818356363146,  # 5
        2.4469118511449786,  # 6
        2.364624251592784,  # 7
        2.306004135204166,  # 8
        2.262157162798205,  # 9
        2.228138851986274,  # 10
        2.200985160091639,  # 11
        2.1788128296672284,  # 12
        2.1603686564627913,  # 13
        2.144786687917804,  # 14
        2.131449545559776,  # 15
        2.1199052992212546,  # 16
        2.1098155778333156,  # 17
        2.1009220402410382,  # 18
        2.0930240544083087,  # 19
        2.085963447265864,  # 20
        2.0796138447276795,  # 21
        2.0738730679040254,  # 22
        2.0686576104190486,  # 23
        2.0638985616280245,  # 24
        2.0595385527532972,  # 25
        2.0555294386428735,  # 26
        2.0518305164802846,  # 27
        2.0484071417952454,  # 28
        2.045229642132703,  # 29
        2.0422724563012378,  # 30
    ]
)
"""The 0.975 quantile of Student's t by degrees of freedom (index 1 to 30), as ``scipy.special.stdtrit``
gives it, bit for bit (tests/test_stack.py checks it): intervals over up to 31 replicates need
no scipy, whose import takes about 0.25 s of the main job."""


def _half_width(sd: np.ndarray | float, n: np.ndarray | int) -> np.ndarray | float:
    """Half-width of the 95% t-interval of a mean of ``n`` values with sample SD ``sd`` (NaN if n < 2)."""
    n = np.asarray(n)
    df = np.where(n >= 2, n - 1, 0)
    if np.all(df < T_975.size):
        return T_975[df] * sd / np.sqrt(n)
    # stdtrit is the t quantile itself (what scipy.stats.t.ppf computes, bit for bit) without loading
    # scipy.stats (0.5 s).
    from scipy.special import stdtrit

    return stdtrit(np.where(df > 0, df, np.nan), 0.975) * sd / np.sqrt(n)


def weekly_intervals(weekly: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Each arm's weekly mean of ``columns`` across replicates, with the same 95% t-interval as :func:`t_interval`.

    Args:
        weekly: The weekly table (``arm``, ``replicate``, ``week`` and the columns).
        columns: Weekly aggregates to summarise.

    Returns:
        One row per arm and week, in the order they first appear in ``weekly``:
        ``arm``, ``week``, then ``<column>``, ``<column>_low`` and
        ``<column>_high`` for each column (NaN interval with one replicate;
        NaN values, such as alliance before anyone is seen, are left out).
    """
    groups = weekly.groupby(["arm", "week"], sort=False)[columns]
    mean, sd, n = groups.mean(), groups.std(ddof=1), groups.count()
    half = _half_width(sd.to_numpy(), n.to_numpy())
    out = mean.copy()
    for j, column in enumerate(columns):
        out[f"{column}_low"] = mean[column] - half[:, j]
        out[f"{column}_high"] = mean[column] + half[:, j]
    return out.reset_index()


def compare_arms(patients: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Each arm's outcomes, and each arm's paired difference from the reference arm.

    Args:
        patients: The per-patient table of all arms and replicates.
        reference: The arm the others are compared with.

    Returns:
        One row per outcome x arm x contrast: ``contrast`` is ``level`` (the arm's
        own mean) or ``vs <reference>`` (arm minus reference, paired by
        replicate). ``mean``, ``ci_low``, ``ci_high`` are across replicates;
        ``effect_size`` is the mean difference over the pooled patient-level SD
        of the two arms (a standardised mean difference).
    """
    rows = []
    outcomes = [o for o in OUTCOMES if o in patients.columns]
    by_rep = patients.groupby(["arm", "replicate"])[outcomes].mean(numeric_only=False).astype(float)
    sd = patients.groupby(["arm", "replicate"])[outcomes].std().astype(float)
    arms = list(pd.unique(patients["arm"]))  # in order of appearance
    # Each arm's rows once (indexed by replicate): a label lookup in the (arm, replicate) index is slow.
    level, spread = {arm: by_rep.loc[arm] for arm in arms}, {arm: sd.loc[arm] for arm in arms}
    for outcome in outcomes:
        for arm in arms:
            m, lo, hi = t_interval(level[arm][outcome].to_numpy())
            rows.append(_row(outcome, arm, "level", m, lo, hi, float("nan"), level[arm].shape[0]))
        for arm in arms:
            if arm == reference:
                continue
            m, lo, hi, pairs = _paired(level[arm][outcome] - level[reference][outcome])
            # Each replicate's pooled SD, averaged; the difference is already averaged over replicates.
            pooled = pooled_sd(spread[arm][outcome] ** 2, spread[reference][outcome] ** 2).mean()
            effect = standardised_difference(m, pooled)
            rows.append(_row(outcome, arm, f"vs {reference}", m, lo, hi, effect, pairs))
    return pd.DataFrame(rows)


def paired_difference(by_replicate: pd.Series, arm: str, reference: str) -> tuple[float, float, float, int]:
    """An arm minus the reference, paired by replicate: mean, 95% t-interval and the number of pairs.

    The one formula for every paired comparison (``compare_arms`` for patient
    outcomes, the report for QALYs).

    Args:
        by_replicate: One value per arm and replicate, indexed by ``(arm, replicate)``.
        arm: The arm compared.
        reference: The arm it is compared with.
    """
    return _paired(by_replicate.loc[arm] - by_replicate.loc[reference])


def _paired(diff: pd.Series) -> tuple[float, float, float, int]:
    # Differences by replicate (aligned on it): their mean, 95% t-interval and number.
    m, lo, hi = t_interval(diff.to_numpy())
    return m, lo, hi, diff.size


def _row(outcome: str, arm: str, contrast: str, m: float, lo: float, hi: float, es: float, n: int) -> dict:
    return {
        "outcome": outcome,
        "arm": arm,
        "contrast": contrast,
        "mean": m,
        "ci_low": lo,
        "ci_high": hi,
        "effect_size": es,
        "replicates": n,
        "description": OUTCOMES[outcome],
    }


def headline(summary: pd.DataFrame) -> pd.DataFrame:
    """A compact table for the terminal: each arm's mean and the difference with its CI."""
    levels = summary[summary["contrast"] == "level"].pivot(index="outcome", columns="arm", values="mean")
    diffs = summary[summary["contrast"] != "level"]
    table = levels.loc[[o for o in OUTCOMES if o in levels.index]].map(number)
    for (arm, contrast), part in diffs.groupby(["arm", "contrast"], sort=False):
        part = part.set_index("outcome")
        label = f"{arm} {contrast.replace('vs ', '- ')}"
        table[label] = [
            with_interval(part.at[o, "mean"], part.at[o, "ci_low"], part.at[o, "ci_high"], signed=True)
            for o in table.index
        ]
        table[f"d ({arm})"] = [number(part.at[o, "effect_size"]) for o in table.index]
    return table
