"""Engine vs the per-agent reference, side by side; then the engine alone up to a million patients.

    .venv/bin/python benchmarks/bench_reference.py                 # everything (about 6 minutes)
    .venv/bin/python benchmarks/bench_reference.py --skip-large    # only the side-by-side part

1. Reference (sim/reference.py) and engine (sim/engine/model.py) on the same config
   and seed, alternating in one process, at 1,000 and 10,000 patients x 104
   weeks: patient-weeks per second for each and their ratio (medians of
   --repeats runs).
2. The engine alone at 100,000 and 1,000,000 patients x 104 weeks (no Mesa
   agent objects, no per-patient trajectories), each run in a fresh process:
   wall time and peak memory (max RSS).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def models(n: int, weeks: int):
    from experiments.schema import compose_config
    from sim.engine.model import CareModel
    from sim.reference import ReferenceModel

    cfg = compose_config()
    kw = {
        "run": dataclasses.replace(cfg.run, weeks=weeks),
        "population": dataclasses.replace(cfg.population, n_patients=n),
        "workforce": cfg.workforce,
        "mechanisms": cfg.mechanisms,
        "costs": cfg.costs,
        "seed": 1,
    }
    service = cfg.arms["fragmented"]
    return (lambda: CareModel(service, agents=False, **kw)), (lambda: ReferenceModel(service, **kw))


def timed(make) -> float:
    start = time.perf_counter()
    model = make()
    model.run_model()
    return time.perf_counter() - start


def large(n: int, weeks: int) -> dict[str, float]:
    """One engine run in this process (called in a child process)."""
    make_engine, _ = models(n, weeks)
    seconds = timed(make_engine)
    return {"seconds": seconds, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--large", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.large:
        print(json.dumps(large(args.large, args.weeks)))
        return

    print(f"engine vs reference, fragmented care, {args.weeks} weeks, median of {args.repeats} runs, alternating")
    print(f"{'patients':>9} {'reference pw/s':>15} {'engine pw/s':>13} {'ratio':>7}")
    for n in (1_000, 10_000):
        make_engine, make_reference = models(n, args.weeks)
        ref, eng = [], []
        for _ in range(args.repeats):
            ref.append(timed(make_reference))
            eng.append(timed(make_engine))
        pw = n * args.weeks
        r, e = statistics.median(ref), statistics.median(eng)
        print(f"{n:>9,} {pw / r:>15,.0f} {pw / e:>13,.0f} {r / e:>6.0f}x")
    if args.skip_large:
        return
    print("\nengine alone, fresh process per run (no agent objects, no trajectories)")
    print(f"{'patients':>10} {'seconds':>9} {'patient-weeks/s':>16} {'peak MiB':>9}")
    for n in (100_000, 1_000_000):
        repeats = args.repeats if n <= 100_000 else 1
        runs = []
        for _ in range(repeats):
            out = subprocess.run(
                [sys.executable, __file__, "--large", str(n), "--weeks", str(args.weeks)],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        secs = statistics.median(r["seconds"] for r in runs)
        peak = statistics.median(r["peak_mib"] for r in runs)
        print(
            f"{n:>10,} {secs:>9.1f} {n * args.weeks / secs:>16,.0f} {peak:>9.0f}  ({repeats} run{'s' * (repeats > 1)})"
        )


if __name__ == "__main__":
    main()
