"""The main job end to end, every preset at small size, and the documented outputs."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import CONF, ROOT, compose_config

from experiments.collect import main as collect_main
from sim.analysis.experiment import run_experiment
from sim.core.params import ConfigError, validate
from sim.core.streams import replicate_seed
from sim.engine.model import CareModel

DOC = (ROOT / "docs" / "outputs.md").read_text()
DOCUMENTED = set(re.findall(r"`([a-z_0-9]+)`", DOC))


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "experiments.run", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_main_job_writes_every_output_and_prints_the_headline(tmp_path):
    out = tmp_path / "run"
    proc = run_cli("population=small", "run.replicates=3", "run.weeks=30", f"hydra.run.dir={out}")
    assert proc.returncode == 0, proc.stderr
    for name in ("config.yaml", "manifest.json", "weekly.parquet", "patients.parquet", "summary.csv"):
        assert (out / name).is_file(), name
    for fig in ("function", "alliance", "disengaged"):
        assert (out / "figures" / f"{fig}.png").stat().st_size > 10_000
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no temporary folder left beside it
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["cohort"] == "closed" and len(manifest["replicate_seeds"]) == 3
    assert manifest["packages"]["mesa"].startswith("3.5")

    weekly = pd.read_parquet(out / "weekly.parquet")
    assert len(weekly) == 3 * 3 * 31  # arms x replicates x (weeks + baseline)
    patients = pd.read_parquet(out / "patients.parquet")
    assert len(patients) == 3 * 3 * 200
    summary = pd.read_csv(out / "summary.csv")
    diff = summary[(summary.outcome == "function_final") & (summary.contrast == "vs fragmented")].iloc[0]
    assert diff.ci_low <= diff["mean"] <= diff.ci_high and np.isfinite(diff.effect_size)
    assert "coordinated - fragmented" in proc.stdout and "function_final" in proc.stdout


def test_every_output_column_is_documented(small_config):
    result = run_experiment(small_config)
    for frame in (result.weekly, result.patients, result.summary):
        missing = [c for c in frame.columns if c not in DOCUMENTED and not c.startswith("visits_")]
        assert not missing, f"undocumented columns: {missing}"


def test_multirun_sweep_with_the_basic_launcher(tmp_path):
    proc = run_cli(
        "-m",
        "population=small",
        "population.n_patients=60",
        "run.replicates=1",
        "run.weeks=8",
        "arms.coordinated.continuity=0.5,0.9",
        f"hydra.sweep.dir={tmp_path}",
    )
    assert proc.returncode == 0, proc.stderr
    jobs = sorted(p.parent for p in tmp_path.glob("*/summary.csv"))
    assert [j.name for j in jobs] == ["0", "1"]
    swept = [yaml.safe_load((j / "config.yaml").read_text())["arms"]["coordinated"]["continuity"] for j in jobs]
    assert swept == [0.5, 0.9]


def test_parallel_sweep_with_the_joblib_launcher(tmp_path):
    proc = run_cli(
        "-m",
        "hydra/launcher=parallel",
        "population=small",
        "population.n_patients=60",
        "run.replicates=1",
        "run.weeks=8",
        "run.figures=false",
        "run.seed=1,2,3",
        f"hydra.sweep.dir={tmp_path}",
    )
    assert proc.returncode == 0, proc.stderr
    jobs = sorted(p.parent.name for p in tmp_path.glob("*/patients.parquet"))
    assert jobs == ["0", "1", "2"]
    assert not list(tmp_path.glob("*/figures"))
    seeds = {yaml.safe_load((tmp_path / j / "config.yaml").read_text())["run"]["seed"] for j in jobs}
    assert seeds == {1, 2, 3}


def _presets(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


@pytest.mark.parametrize("care_model", _presets("care_model"))
def test_every_care_model_preset_runs(care_model):
    config = compose_config(
        f"+care_model@arms.{care_model}_arm={care_model}",
        "population=small",
        "population.n_patients=80",
        "run.replicates=1",
        "run.weeks=20",
    )
    result = run_experiment(config)
    assert set(result.patients["arm"]) == {"coordinated", "fragmented", "stepped", f"{care_model}_arm"}
    assert result.weekly["n_in_care"].max() > 0


@pytest.mark.parametrize(("group", "preset"), [(g, p) for g in ("population", "workforce") for p in _presets(g)])
def test_every_population_and_workforce_preset_runs(group, preset):
    config = compose_config(f"{group}={preset}", "population.n_patients=80", "run.replicates=1", "run.weeks=60")
    result = run_experiment(config)
    assert len(result.weekly) > 0 and result.patients["visits_total"].sum() > 0


@pytest.mark.parametrize("experiment", _presets("experiment"))
def test_every_experiment_runs_at_tiny_size(experiment):
    config = compose_config(
        f"experiment={experiment}", "population=small", "population.n_patients=60", "run.replicates=2", "run.weeks=12"
    )
    result = run_experiment(config)
    assert result.summary["contrast"].str.startswith("vs").any()


def test_stepped_preset_inherits_coordinated_and_adds_stepping():
    config = compose_config()
    stepped, coordinated = config.arms["stepped"], config.arms["coordinated"]
    assert stepped.stepping and not coordinated.stepping
    assert stepped.continuity == coordinated.continuity


def test_open_cohort_drops_warmup_and_says_so():
    config = compose_config(
        "population=open_cohort",
        "population.n_patients=50",
        "population.arrivals_per_week=5",
        "run.replicates=1",
        "run.weeks=40",
    )
    result = run_experiment(config)
    assert result.weekly["week"].min() == config.population.warmup_weeks
    assert (result.weekly["cohort"] == "open").all()
    assert result.patients["arrival_week"].min() >= config.population.warmup_weeks
    assert result.weekly.groupby("arm")["n_patients"].is_monotonic_increasing.all()


def test_open_cohort_with_no_arrivals_after_the_warmup_is_refused_before_work(tmp_path):
    """An open cohort reports only patients arriving after the warm-up: with none, nothing to compare."""
    out = tmp_path / "run"
    proc = run_cli(
        "population=open_cohort",
        "population.n_patients=50",
        "population.arrivals_per_week=0",
        "run.weeks=52",
        f"hydra.run.dir={out}",
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "population.arrivals_per_week = 0.0 is not allowed" in proc.stderr and "week 26" in proc.stderr
    assert not out.exists()


def test_the_open_cohort_check_draws_the_arrivals_the_model_draws():
    """Refused exactly when some replicate's model would have no patient from the end of the warm-up on."""
    base = compose_config("population=open_cohort", "population.n_patients=20", "run.replicates=1", "run.weeks=40")
    # About one arrival expected in the 15 reported weeks: some seeds draw none.
    population = dataclasses.replace(base.population, arrivals_per_week=0.05)
    outcomes = set()
    for seed in range(8):
        config = dataclasses.replace(base, population=population, run=dataclasses.replace(base.run, seed=seed))
        model = CareModel(
            config.arms["coordinated"],
            run=config.run,
            population=config.population,
            workforce=config.workforce,
            seed=replicate_seed(seed, 0),
            agents=False,
        )
        reported = bool((model.patients.arrival_week >= config.population.warmup_weeks).any())
        try:
            validate(config)
            refused = False
        except ConfigError as err:
            refused = True
            assert "replicate 0 would have none" in str(err)
        assert refused == (not reported)
        outcomes.add(refused)
    assert outcomes == {True, False}  # both cases met


def test_open_cohort_without_warmup_reports_its_starting_patients_even_with_no_arrivals():
    config = compose_config(
        "population=open_cohort",
        "population.n_patients=40",
        "population.arrivals_per_week=0",
        "population.warmup_weeks=0",
        "run.replicates=2",
        "run.weeks=20",
    )
    result = run_experiment(config)
    assert len(result.patients) == 2 * 3 * 40
    diff = result.summary[(result.summary.outcome == "function_final") & (result.summary.contrast == "vs fragmented")]
    assert len(diff) == 2 and diff["mean"].notna().all()


def test_sweeps_resume_without_overwriting_and_collect_into_one_table(tmp_path):
    base = [
        "-m",
        "population=small",
        "population.n_patients=60",
        "run.replicates=1",
        "run.weeks=8",
        "run.figures=false",
        f"hydra.sweep.dir={tmp_path}",
    ]
    assert run_cli(*base, "run.seed=1,2").returncode == 0
    first = (tmp_path / "0" / "patients.parquet").stat().st_mtime_ns
    shutil.rmtree(tmp_path / "1")  # as if killed before job 1 finished
    proc = run_cli(*base, "run.seed=1,2,3")
    assert proc.returncode == 0, proc.stderr
    assert "already complete, skipped" in proc.stdout
    assert "sweep: 3 of 3 jobs complete" in proc.stdout
    assert (tmp_path / "0" / "patients.parquet").stat().st_mtime_ns == first  # never overwritten
    assert sorted(p.parent.name for p in tmp_path.glob("*/manifest.json")) == ["0", "1", "2"]

    assert collect_main([str(tmp_path)]) == 0
    runs = pd.read_csv(tmp_path / "collected" / "runs.csv")
    assert len(runs) == 3 * 3 and list(runs.columns[:3]) == ["run", "run.seed", "arm"]
    assert sorted(runs["run.seed"].unique()) == [1, 2, 3]
    weekly = pd.read_parquet(tmp_path / "collected" / "weekly.parquet")
    assert len(weekly) == 3 * 3 * 9 and "run.seed" in weekly.columns
    assert (tmp_path / "collected" / "function_final.png").stat().st_size > 10_000


def test_submitit_launcher_runs_the_sweep_locally(tmp_path):
    proc = run_cli(
        "-m",
        "hydra/launcher=submitit_local",
        "population=small",
        "population.n_patients=60",
        "run.replicates=1",
        "run.weeks=8",
        "run.figures=false",
        "run.seed=1,2",
        f"hydra.sweep.dir={tmp_path}",
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.parent.name for p in tmp_path.glob("*/manifest.json")) == ["0", "1"]


def test_slurm_launcher_config_composes():
    proc = run_cli("hydra/launcher=slurm", "--cfg", "hydra")
    assert proc.returncode == 0, proc.stderr
    assert "SlurmLauncher" in proc.stdout and "timeout_min: 60" in proc.stdout
