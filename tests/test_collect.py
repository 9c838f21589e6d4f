"""experiments.collect: one column per swept key from each job's own overrides, paired differences, each job once."""

from __future__ import annotations

import re
import subprocess
import sys

import pandas as pd
from conftest import ROOT

from experiments.collect import main as collect_main
from experiments.collect import x_axis
from sim.analysis.sweeps import DIFF_SUFFIX, complete_runs, override_values

DOCUMENTED = set(re.findall(r"`([a-z_0-9]+)`", (ROOT / "docs" / "outputs.md").read_text()))
TINY = ["population=small", "population.n_patients=40", "run.replicates=2", "run.weeks=4", "run.figures=false"]


def sweep(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "experiments.run", "-m", *TINY, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_sweep_over_a_care_model_setting_gets_a_numeric_column_and_paired_differences(tmp_path):
    proc = sweep("arms.coordinated.continuity=0.5,0.9", f"hydra.sweep.dir={tmp_path}")
    assert proc.returncode == 0, proc.stderr
    assert collect_main([str(tmp_path), "--outcomes", "function_final", "cost"]) == 0
    runs = pd.read_parquet(tmp_path / "collected" / "runs.parquet")
    assert list(runs.columns[:4]) == ["run", "arms.coordinated.continuity", "arm", "reference_arm"]
    assert "arms.coordinated" not in runs.columns  # not the whole arm as text
    assert runs["arms.coordinated.continuity"].dtype == float
    assert sorted(runs["arms.coordinated.continuity"].unique()) == [0.5, 0.9]
    assert x_axis(runs, ["arms.coordinated.continuity"]) == "arms.coordinated.continuity"
    assert (runs["reference_arm"] == "fragmented").all()
    reference = runs[runs["arm"] == "fragmented"]
    assert (reference[f"cost{DIFF_SUFFIX}"] == 0).all()
    for folder in complete_runs(tmp_path):  # the paired difference is the run's own summary.csv contrast
        summary = pd.read_csv(folder / "summary.csv")
        for outcome in ("function_final", "cost", "disengaged_ever"):
            expected = summary[
                (summary.outcome == outcome) & (summary.arm == "coordinated") & (summary.contrast == "vs fragmented")
            ]["mean"].item()
            row = runs[(runs["run"] == folder.name) & (runs["arm"] == "coordinated")]
            assert abs(row[f"{outcome}{DIFF_SUFFIX}"].item() - expected) < 1e-9
    csv = pd.read_csv(tmp_path / "collected" / "runs.csv")
    assert list(csv.columns) == list(runs.columns) and len(csv) == len(runs) == 2 * 3
    assert (tmp_path / "collected" / "cost.png").stat().st_size > 10_000


def test_repeated_sweep_values_run_once_and_are_collected_once(tmp_path):
    proc = sweep("run.seed=5,5", f"hydra.sweep.dir={tmp_path}")
    assert proc.returncode == 0, proc.stderr
    assert "same overrides as job 0, skipped" in proc.stdout
    assert "sweep: 1 of 1 jobs complete" in proc.stdout
    assert complete_runs(tmp_path) == [tmp_path / "0"]
    assert not (tmp_path / "1").exists()
    assert collect_main([str(tmp_path), "--outcomes", "cost"]) == 0
    runs = pd.read_parquet(tmp_path / "collected" / "runs.parquet")
    assert runs["run"].tolist() == ["0"] * 3


def test_override_values_are_typed_as_hydra_reads_them():
    values = override_values(
        ["+care_model@arms.x=usual_care", "arms.a.continuity=0.5", "run.seed=3", "arms.a.stepping=true", "~arms.b"]
    )
    assert values == {
        "care_model@arms.x": "usual_care",
        "arms.a.continuity": 0.5,
        "run.seed": 3,
        "arms.a.stepping": True,
    }
    assert type(values["arms.a.stepping"]) is bool and type(values["run.seed"]) is int


def test_every_collected_column_is_documented(tmp_path):
    proc = sweep("run.seed=1,2", f"hydra.sweep.dir={tmp_path}")
    assert proc.returncode == 0, proc.stderr
    assert collect_main([str(tmp_path), "--outcomes", "cost"]) == 0
    runs = pd.read_parquet(tmp_path / "collected" / "runs.parquet")
    swept = ["run.seed"]
    missing = [
        c
        for c in runs.columns
        if c not in swept
        and c not in DOCUMENTED
        and not (c.endswith(DIFF_SUFFIX) and c[: -len(DIFF_SUFFIX)] in DOCUMENTED)
    ]
    assert not missing, f"collected columns missing from docs/outputs.md: {missing}"
    assert "runs.parquet" in (ROOT / "docs" / "outputs.md").read_text()
