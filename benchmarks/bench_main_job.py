"""The main job end to end, this tree against commit 521185f, side by side on the same machine.

    .venv/bin/python benchmarks/bench_main_job.py                      # medians of 3 each
    .venv/bin/python benchmarks/bench_main_job.py --repeats 5 --base /tmp/base-521185f

Each measurement is ``python -m experiments.run`` (the default experiment at its
default size: 3 arms x 10 replicates x 2,000 patients x 104 weeks, figures and
report on) in a fresh process, run from the root of its own tree with this
interpreter, timed from start to exit. The two trees alternate, so a change in
the machine's load affects both alike; the load average is printed before and
after, and so is each run's CPU time (worker processes included), which other
jobs on a shared machine disturb much less than the wall time. Then the
simulation phase alone (``run_experiment`` on the default config, in a fresh
process, after imports) gives patient-weeks per second.

The base tree is made with ``git archive 521185f`` into a temporary folder
unless ``--base`` names an existing checkout of it. Target: ratio >= 4.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE_COMMIT = "521185f"

SIMULATION = """
import importlib, json, time
from experiments.schema import compose_config
run_experiment = importlib.import_module("{module}").run_experiment
config = compose_config()
start = time.perf_counter()
run_experiment(config)
seconds = time.perf_counter() - start
runs = len(config.arms) * config.run.replicates
print(json.dumps({"seconds": seconds, "patient_weeks": runs * config.population.n_patients * config.run.weeks}))
"""


def main_job_seconds(tree: Path) -> float:
    """Wall time of ``python -m experiments.run`` run from ``tree``, start-up included."""
    return main_job_times(tree)[0]


def main_job_times(tree: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system, worker processes included) of the main job run from ``tree``.

    CPU time is what a busy machine cannot hide: other jobs on the same cores
    stretch the wall time of both trees, but hardly the CPU each one uses.
    """
    with tempfile.TemporaryDirectory() as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "experiments.run", f"hydra.run.dir={tmp}/run"],
            cwd=tree,
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return wall, cpu


def simulation_phase(tree: Path) -> dict[str, float]:
    """Seconds and patient-weeks of the default experiment's simulation phase, run from ``tree``."""
    # Named from the tree's own files: asking for a module a tree lacks could import another checkout's
    # (an editable install resolves missing submodules elsewhere).
    module = "sim.analysis.experiment" if (tree / "sim" / "analysis").is_dir() else "sim.experiment"  # 521185f: flat
    code = SIMULATION.replace("{module}", module)
    out = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"simulation phase failed in {tree}:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def base_tree(folder: Path | None, scratch: Path) -> Path:
    """A checkout of the base commit: ``folder`` if given, else a ``git archive`` of it under ``scratch``."""
    if folder is not None:
        return folder
    tree = scratch / f"base-{BASE_COMMIT}"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", BASE_COMMIT], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--base", type=Path, help=f"an existing checkout of {BASE_COMMIT} (default: git archive)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        trees = {BASE_COMMIT: base_tree(args.base, Path(scratch)), "this tree": ROOT}
        print(f"{os.cpu_count()} cores; load average (1, 5, 15 min) before: {load()}")
        times: dict[str, list[float]] = {name: [] for name in trees}
        cpu: dict[str, list[float]] = {name: [] for name in trees}
        for i in range(args.repeats):
            # Alternate which tree goes first, so neither always runs on a warmer (or busier) machine.
            for name in list(trees)[:: 1 if i % 2 == 0 else -1]:
                wall, used = main_job_times(trees[name])
                times[name].append(wall)
                cpu[name].append(used)
                print(f"  {name}: {wall:.2f} s, {used:.2f} s of CPU (load {load()})", flush=True)
        phases = {name: simulation_phase(tree) for name, tree in trees.items()}
        print(f"load average after: {load()}\n")
        print(f"main job end to end (python -m experiments.run, default size), median of {args.repeats}:")
        for name, seconds in times.items():
            phase = phases[name]
            print(
                f"  {name:>10}: {statistics.median(seconds):6.2f} s  ({', '.join(f'{t:.2f}' for t in seconds)}), "
                f"CPU {statistics.median(cpu[name]):.2f} s; simulation phase {phase['seconds']:.2f} s = "
                f"{phase['patient_weeks'] / phase['seconds'] / 1e6:.2f} M patient-weeks/s"
            )
        ratio = statistics.median(times[BASE_COMMIT]) / statistics.median(times["this tree"])
        cpu_ratio = statistics.median(cpu[BASE_COMMIT]) / statistics.median(cpu["this tree"])
        print(f"  ratio: {ratio:.2f}x faster (target >= 4); CPU time {cpu_ratio:.2f}x less")


if __name__ == "__main__":
    main()
