"""Mediation end to end: ``python -m experiments.mediate`` at its default size, timed.

    .venv/bin/python benchmarks/bench_mediate.py              # 2 arms x 10 replicates x 2,000 patients, every channel
    .venv/bin/python benchmarks/bench_mediate.py --repeats 3 run.jobs=1

Times the whole command (start-up, the full model, every channel switched
off, the tables, figures and report) in a fresh process, with /usr/bin/time
style CPU seconds of the process and its workers, and prints the load
average, since the development machine is shared. Extra arguments are passed
to the command as overrides. The target of issue #13 is under 10 minutes on
the 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_MINUTES = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="runs, one after the other (default 1)")
    parser.add_argument("overrides", nargs="*", help="overrides passed to experiments.mediate")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from sim.analysis.mediation import CHANNELS

    runs = 2 * 10 * (1 + len(CHANNELS))
    size = (
        f"overrides {' '.join(args.overrides)}"
        if args.overrides
        else f"default size: {runs} runs (2 arms x 10 replicates x (1 + {len(CHANNELS)} channels)) x 2,000 patients "
        "x 104 weeks"
    )
    for k in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            command = [sys.executable, "-m", "experiments.mediate", f"--out={tmp}/mediation", *args.overrides]
            load = os.getloadavg()[0]
            cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
            seconds = time.perf_counter() - start
            cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
        print(
            f"run {k + 1}: {seconds:.1f} s wall, {cpu:.1f} s CPU, load average {load:.1f} at the start; "
            f"{size}; target under {TARGET_MINUTES:g} min"
        )


if __name__ == "__main__":
    main()
