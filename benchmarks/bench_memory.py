"""Bytes per patient and per patient-week of an experiment, against the constants the size check uses.

    .venv/bin/python benchmarks/bench_memory.py

Runs the default experiment (three arms) at a few small sizes under
tracemalloc, fits peak = fixed + patients x (running + runs x kept) + patient-weeks
x runs x per_week, and prints the fitted bytes next to the constants in
``experiments/preflight.py`` (which must be at least as large, so the check
that refuses sizes too big for the machine errs on the safe side).
"""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from experiments import preflight  # noqa: E402
from experiments.schema import compose_config  # noqa: E402
from sim.analysis.experiment import run_experiment  # noqa: E402


def peak(patients: int, weeks: int, replicates: int = 1, trajectories: bool = False) -> tuple[int, int]:
    """Peak traced bytes of one experiment, and its number of runs (arms x replicates)."""
    config = compose_config(
        f"population.n_patients={patients}",
        f"run.weeks={weeks}",
        f"run.replicates={replicates}",
        f"run.trajectories={str(trajectories).lower()}",
        "run.figures=false",
        "run.jobs=1",  # serial: tracemalloc sees this process only
    )
    tracemalloc.start()
    run_experiment(config)
    top = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return top, len(config.arms) * replicates


def main() -> None:
    """Fit and print the per-patient and per-patient-week bytes."""
    peak(100, 2, trajectories=True)  # warm-up: one-off allocations (lazy imports, caches) are not per patient
    small, runs = peak(500, 10)
    large, _ = peak(2000, 10)
    doubled, runs2 = peak(2000, 10, replicates=2)
    longer, _ = peak(2000, 40)
    traj_short, _ = peak(2000, 10, trajectories=True)
    traj_long, _ = peak(2000, 40, trajectories=True)
    kept = (doubled - large) / (2000 * (runs2 - runs))
    running = (large - small) / 1500 - runs * kept
    per_week = (longer - large) / (2000 * 30 * runs)
    per_row = (traj_long - traj_short) / (2000 * 30 * runs)
    rows = [
        ("running, per patient", running, preflight.BYTES_PER_PATIENT_RUNNING),
        ("kept per run, per patient", kept, preflight.BYTES_PER_PATIENT_RUN_KEPT),
        ("kept per run, per patient-week", per_week, preflight.BYTES_PER_PATIENT_WEEK_KEPT),
        ("trajectories, per patient-week", per_row, preflight.BYTES_PER_TRAJECTORY_ROW),
    ]
    print(f"{'bytes':32s} {'measured':>10s} {'used':>10s}")
    for name, measured, used in rows:
        flag = "" if used >= measured else "  <- constant too small"
        if name.startswith("running") and measured < 0:
            flag = "  (not separable: the peak is at the final concatenation of the kept tables)"
        print(f"{name:32s} {measured:10.0f} {used:10d}{flag}")


if __name__ == "__main__":
    main()
