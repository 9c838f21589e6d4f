"""Checks that need the whole config and the machine, run by every entry point before any work.

:func:`sim.core.params.validate` checks each value against its declared range.
What it cannot see is checked here, after composition and before anything is
simulated or written:

1. the output folder can be created and written (:func:`experiments.cli.check_writable`);
2. someone can be seen at all: intake is with a GP, so GPs with staff and slots;
3. every role a selected arm's pathway sends patients to has staff and slots
   (named by the service description's key with ``service=...``);
4. the runs fit in the machine's available memory (the estimate is printed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from experiments.cli import check_writable
from sim.analysis.experiment import replicate_groups, worker_count
from sim.core.params import Config, ConfigError
from sim.core.service import needed_roles

# Bytes measured with tracemalloc by benchmarks/bench_memory.py (compare_care_models,
# 500-2,000 patients, 10-40 weeks, 1-2 replicates, serial runs): about 1,460-1,830 per
# patient and run kept, 5-18 per patient-week kept, 140-200 per trajectory row (two
# engine versions), rounded up. The peak is at the final concatenation of the kept
# tables, so the running working set does not add to it in practice; it is added
# anyway, as each worker process holds one, which errs on the safe side.
BYTES_PER_PATIENT_RUNNING = 2_500
"""Working set of one run (state arrays, dyads, weekly temporaries), per patient."""
BYTES_PER_PATIENT_RUN_KEPT = 2_300
"""The per-patient table every finished run keeps until the end (twice at the final concatenation)."""
BYTES_PER_PATIENT_WEEK_KEPT = 25
"""Per patient-week of every run kept without ``run.trajectories`` (weekly aggregates, journeys)."""
BYTES_PER_TRAJECTORY_ROW = 250
"""Per patient-week of every run with ``run.trajectories`` on."""
BYTES_PROCESS = 250 * 2**20
"""A Python process with NumPy, pandas and the model imported (ru_maxrss, about 200 MB)."""


@dataclass(frozen=True)
class MemoryEstimate:
    """Estimated peak memory of an experiment, and what the machine has available."""

    bytes: int
    available: int | None
    workers: int = 1

    def text(self) -> str:
        """The estimate in GB, for the one-line refusal."""
        gb = self.bytes / 2**30
        have = "unknown" if self.available is None else f"{self.available / 2**30:.1f} GB"
        return f"about {gb:,.1f} GB estimated; {have} available"


def available_memory() -> int | None:
    """Memory the kernel can give this process now (``MemAvailable``), in bytes; None if unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import os

        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def estimate_memory(config: Config, parallel: int = 1) -> MemoryEstimate:
    """Peak memory of ``run_experiment(config)``, times ``parallel`` processes running at once.

    The main process keeps every run's tables; each of the experiment's worker
    processes (``run.jobs``) holds the working set of one stack of replicates
    (``replicate_groups``) at a time. A forked worker is counted as a whole
    process, which errs on the safe side.

    Args:
        config: The experiment (every arm, every replicate, kept until written).
        parallel: Processes that each run a config this size at the same time
            (a parallel sweep's workers, sensitivity's ``--jobs``).
    """
    pop, run = config.population, config.run
    patients = pop.n_patients + (pop.arrivals_per_week * run.weeks if pop.cohort == "open" else 0)
    runs = len(config.arms) * run.replicates
    workers = worker_count(config, runs)
    stacked = max(len(group) for group in replicate_groups(config, workers))  # runs a process steps at once
    per_week = BYTES_PER_TRAJECTORY_ROW if run.trajectories else BYTES_PER_PATIENT_WEEK_KEPT
    one = (
        BYTES_PROCESS * (1 + (workers if workers > 1 else 0))
        + workers * stacked * patients * BYTES_PER_PATIENT_RUNNING
        + patients * runs * BYTES_PER_PATIENT_RUN_KEPT
        + patients * run.weeks * runs * per_week
    )
    return MemoryEstimate(int(one * max(parallel, 1)), available_memory(), workers)


def check_staffing(config: Config) -> None:
    """Refuse a team in which nobody can be seen, or a needed role that has no one.

    Raises:
        ConfigError: naming the role, the arm and the key that would fix it.
    """
    _require_staff(config, "gp", "intake is with a GP, so with no GP time nobody can be seen")
    for arm, service in config.arms.items():
        for role, why in needed_roles(service, config.population.share_physio_pathway).items():
            _require_staff(config, role, f"arm {arm!r} needs a {role} ({why})")


def _require_staff(config: Config, role: str, why: str) -> None:
    """Refuse a role with no clinicians or no slots, naming the key to change and ``why`` the role is needed."""
    group = config.workforce.group(role)
    for key in ("per_1000_patients", "capacity_per_week"):
        if getattr(group, key) <= 0:
            where, value = _staff_key(config, role, key, getattr(group, key))
            raise ConfigError(f"config error: {where} = {value} is not allowed; expected > 0: {why}")


def _staff_key(config: Config, role: str, key: str, value: float) -> tuple[str, float]:
    """The key a user would change: the service description's, when there is one, else the workforce's."""
    if config.service is None:
        return f"workforce.{role}.{key}", value
    staff = config.service.staff.role(role)
    if key == "per_1000_patients":
        return f"service.staff.{role}.head_count", staff.head_count
    if staff.caseload_per_fte > 0:
        return f"service.staff.{role}.caseload_per_fte", staff.caseload_per_fte
    return f"service.staff.{role}.sessions_per_week", staff.sessions_per_week


def check_memory(config: Config, parallel: int = 1) -> MemoryEstimate:
    """Refuse an experiment whose estimated peak memory exceeds what the machine has available.

    Raises:
        ConfigError: naming the size and printing the estimate.
    """
    estimate = estimate_memory(config, parallel)
    if estimate.available is not None and estimate.bytes > estimate.available:
        pop, run = config.population, config.run
        size = (
            f"{pop.n_patients:,} patients x {len(config.arms)} arms x {run.replicates} replicates "
            f"x {run.weeks} weeks{' with trajectories' if run.trajectories else ''}"
            f"{f' in {estimate.workers} worker processes' if estimate.workers > 1 else ''}"
            f"{f' x {parallel} at once' if parallel > 1 else ''}"
        )
        raise ConfigError(
            f"config error: population.n_patients = {pop.n_patients} is not allowed; expected a size that fits "
            f"in memory: {size} needs {estimate.text()}"
        )
    return estimate


def check_before_work(config: Config, output: Path | None, parallel: int = 1) -> None:
    """Everything an entry point checks after composing the config and before any work.

    Args:
        config: The validated experiment config.
        output: The folder results will be written to (None: the tool writes nothing).
        parallel: Processes running a config this size at once.

    Raises:
        ConfigError: the first problem found, in one line.
    """
    if output is not None:
        check_writable(output)
    check_staffing(config)
    check_memory(config, parallel)
