"""PSA throughput: draws x 3 arms x 2,000 patients x 104 weeks through ``python -m experiments.psa``.

    .venv/bin/python benchmarks/bench_psa.py                # 200 draws, 2 workers (the issue's target)
    .venv/bin/python benchmarks/bench_psa.py --draws 40 --jobs 2

Times the whole command (start-up, the runs, the decision analysis and the
report) and prints draws per minute and the time 200 draws would take at
that rate (an extrapolation when fewer were run: it says so).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_DRAWS, TARGET_MINUTES = 200, 15.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=TARGET_DRAWS)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--patients", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable,
            "-m",
            "experiments.psa",
            f"--draws={args.draws}",
            f"--jobs={args.jobs}",
            f"--patients={args.patients}",
            f"--out={tmp}/psa",
        ]
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        seconds = time.perf_counter() - start
    rate = args.draws / seconds * 60
    minutes = TARGET_DRAWS / rate
    how = "measured" if args.draws == TARGET_DRAWS else "extrapolated"
    print(
        f"{args.draws} draws x 3 arms x {args.patients:,} patients x 104 weeks, {args.jobs} workers: "
        f"{seconds:.1f} s, {rate:.1f} draws per minute; {TARGET_DRAWS} draws: {minutes:.1f} min ({how}; "
        f"target {TARGET_MINUTES:g} min)"
    )


if __name__ == "__main__":
    main()
