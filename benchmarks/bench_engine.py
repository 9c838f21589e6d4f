"""Engine speed and memory: one arm at 1k, 10k and 100k patients x 104 weeks, and the main job.

    .venv/bin/python benchmarks/bench_engine.py            # all sizes, medians of 3 runs
    .venv/bin/python benchmarks/bench_engine.py --repeats 5 --sizes 1000 10000

Each measurement runs in a fresh process, so peak memory (max RSS) is that
run's alone and includes Python, NumPy, Mesa and the model's arrays and agents.
Targets (2-core machine): 100,000 patients x 104 weeks in < 20 s and < 2 GiB;
the default experiment end to end (all arms, 10 replicates, start-up
included) in < 30 s.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_main_job import main_job_seconds  # the same end-to-end timing as the side-by-side benchmark

ROOT = Path(__file__).resolve().parents[1]


def one_run(n_patients: int, weeks: int) -> dict[str, float]:
    """Time one fragmented-care arm in this process (called in a child process)."""
    sys.path.insert(0, str(ROOT))
    import yaml

    from sim.core.params import PopulationParams, RunParams, ServiceParams
    from sim.engine.model import CareModel

    service = ServiceParams(**yaml.safe_load((ROOT / "conf/care_model/fragmented.yaml").read_text()))
    start = time.perf_counter()
    model = CareModel(service, run=RunParams(weeks=weeks), population=PopulationParams(n_patients=n_patients), seed=1)
    built = time.perf_counter()
    model.run_model()
    end = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"seconds": end - start, "setup_seconds": built - start, "peak_mb": peak_mb}


def child(args: list[str]) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-main-job", action="store_true")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(args.one, args.weeks)))
        return

    print(f"one arm (fragmented care), {args.weeks} weeks, median of {args.repeats} runs, each in a fresh process")
    print(f"{'patients':>10} {'seconds':>9} {'setup s':>8} {'patient-weeks/s':>16} {'peak MiB':>9}")
    for n in args.sizes:
        runs = [child(["--one", str(n), "--weeks", str(args.weeks)]) for _ in range(args.repeats)]
        secs = statistics.median(r["seconds"] for r in runs)
        setup = statistics.median(r["setup_seconds"] for r in runs)
        peak = statistics.median(r["peak_mb"] for r in runs)
        print(f"{n:>10,} {secs:>9.2f} {setup:>8.2f} {n * args.weeks / secs:>16,.0f} {peak:>9.0f}")
    if not args.skip_main_job:
        times = [main_job_seconds(ROOT) for _ in range(args.repeats)]
        print(
            f"default experiment end to end (python -m experiments.run): median {statistics.median(times):.1f} s "
            f"over {args.repeats} runs ({', '.join(f'{t:.1f}' for t in times)})"
        )


if __name__ == "__main__":
    main()
