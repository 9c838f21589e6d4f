"""Sweep throughput: N runs of 1,000 patients x 104 weeks through Hydra's joblib launcher.

    .venv/bin/python benchmarks/bench_sweep.py              # 200 runs, 2 workers
    .venv/bin/python benchmarks/bench_sweep.py --runs 50 --jobs 2

Each run is one arm (fragmented care), one replicate, its own seed, written to
its own folder (figures off, as for any large sweep). Prints runs per minute,
start-up of the sweep and worker processes included.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--patients", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable,
            "-m",
            "experiments.run",
            "-m",
            "hydra/launcher=parallel",
            f"hydra.launcher.n_jobs={args.jobs}",
            "~arms.coordinated",
            "run.replicates=1",
            "run.figures=false",
            f"population.n_patients={args.patients}",
            f"run.seed=range(0,{args.runs})",
            f"hydra.sweep.dir={tmp}",
        ]
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        seconds = time.perf_counter() - start
        done = len(list(Path(tmp).glob("*/patients.parquet")))
    print(
        f"{done} runs of {args.patients:,} patients x 104 weeks, {args.jobs} workers: {seconds:.1f} s, "
        f"{done / seconds * 60:.0f} runs per minute"
    )


if __name__ == "__main__":
    main()
