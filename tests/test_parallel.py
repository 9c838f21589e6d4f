"""Runs in worker processes give what a serial run gives, bit for bit; commands load only what they use."""

from __future__ import annotations

import dataclasses
import filecmp
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT

from sim.analysis.experiment import in_background, run_arm, run_experiment
from sim.core.params import Config
from sim.engine.model import CareModel
from sim.outputs.writer import write_results


def with_jobs(config: Config, jobs: int, **run_changes: object) -> Config:
    return dataclasses.replace(config, run=dataclasses.replace(config.run, jobs=jobs, **run_changes))


def test_parallel_runs_give_the_serial_frames_and_files(small_config, tmp_path):
    finished: list[tuple[str, int]] = []
    serial = run_experiment(with_jobs(small_config, 1, trajectories=True))
    parallel = run_experiment(
        with_jobs(small_config, 2, trajectories=True), progress=lambda arm, r: finished.append((arm, r))
    )
    for name in ("weekly", "patients", "summary", "trajectories", "journeys"):
        pd.testing.assert_frame_equal(getattr(serial, name), getattr(parallel, name), check_exact=True)
    # Progress is reported once per finished run, whatever order the workers finish in.
    runs = [(arm, r) for r in range(small_config.run.replicates) for arm in small_config.arms]
    assert sorted(finished) == sorted(runs)

    a = write_results(serial, tmp_path / "serial")
    b = write_results(dataclasses.replace(parallel, config=serial.config), tmp_path / "parallel")
    for name in ("weekly.parquet", "patients.parquet", "trajectories.parquet", "summary.csv"):
        assert filecmp.cmp(a / name, b / name, shallow=False), name


def test_experiment_runs_use_the_engine_without_mesa(small_config):
    model = run_arm(small_config, "coordinated", 0)
    assert not isinstance(model, CareModel)  # no Mesa model, so no agent objects or data collector
    assert model.week == small_config.run.weeks  # it did run
    # A whole experiment (serial, so in this process) never loads Mesa: importing it takes about 0.3 s.
    run = "from experiments.schema import compose_config; from sim.analysis.experiment import run_experiment; "
    run += "run_experiment(compose_config('population=small', 'run.replicates=1', 'run.weeks=3', 'run.jobs=1'))"
    assert "mesa" not in loaded_modules(run)


def loaded_modules(statement: str) -> set[str]:
    """Top-level packages (and scipy.stats) loaded by ``statement`` in a fresh interpreter."""
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_the_main_job_and_the_package_load_no_plotting_or_optimisation_library():
    heavy = {"matplotlib", "seaborn", "scipy.stats", "optuna", "SALib", "hydra_plugins", "submitit", "solara"}
    outputs = "import sim.outputs.writer, sim.outputs.report, sim.analysis.experiment"
    for statement in ("import experiments.run", outputs):
        assert not heavy & loaded_modules(statement), statement
    # The main process of a parallel run never simulates, so it does not load Mesa either.
    assert "mesa" not in loaded_modules("import experiments.run")


def _write_pid(path: Path) -> None:
    path.write_text(str(os.getpid()))


def _fail() -> None:
    raise ValueError("drawing failed")


def test_in_background_runs_the_call_in_another_process_and_reports_a_failure(tmp_path):
    with in_background(_write_pid, tmp_path / "pid") as wait:
        wait()
    assert int((tmp_path / "pid").read_text()) != os.getpid()  # it ran, and not here
    with pytest.raises(RuntimeError, match="_fail failed"), in_background(_fail) as wait:
        wait()
