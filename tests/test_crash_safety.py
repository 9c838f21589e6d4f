"""Results survive crashes and kills: fault injection into the writer, and runs racing for one folder.

The writer stops at a named phase when ``ALLIANCE_SIM_PAUSE_AT`` says so
(sim/core/files.py); these tests SIGKILL the whole process group there, then
check that nothing counts the killed job and that rerunning the same command
completes the sweep with every job exactly once.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import ROOT, compose_config

from experiments.collect import main as collect_main
from experiments.run import sweep_progress
from sim.analysis.experiment import run_experiment
from sim.analysis.sweeps import complete_runs
from sim.core.files import (
    PAUSE_VARIABLE,
    TEMP_MARKER,
    StagedFolder,
    atomic_path,
    complete_folders,
    is_temporary,
    replace_folder,
    write_atomic,
)

TINY = ["population=small", "population.n_patients=40", "run.replicates=1", "run.weeks=4"]

# Each phase of sim.outputs.writer.write_results, and whether reaching it needs figures on.
PHASES = {
    "before_tables": False,
    "between_tables": False,
    "after_figures": True,
    "after_report": True,
    "before_rename": False,
}


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "experiments.run", *args]


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != PAUSE_VARIABLE}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def start_paused(cmd: list[str], phase: str) -> subprocess.Popen:
    """Start ``cmd`` in its own process group, its writers set to pause at ``phase``."""
    return subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=environment(**{PAUSE_VARIABLE: phase}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def kill_when_paused(proc: subprocess.Popen, phase: str, pauses: int = 1, patience: float = 180.0) -> int:
    """Wait until ``pauses`` writers of ``proc`` pause at ``phase`` (at most ``patience`` s), SIGKILL its group.

    Returns:
        The number of writers seen paused, or -1 if the process had ended before the kill.
    """
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True)
    reader.start()
    paused, deadline = 0, time.monotonic() + patience
    while paused < pauses:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        paused += line.strip() == f"paused at {phase.split('@')[0]}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    reader.join(timeout=30)
    proc.stderr.close()
    return paused if proc.returncode == -signal.SIGKILL else -1


def kill_at(cmd: list[str], phase: str, pauses: int = 1) -> None:
    """Run ``cmd`` until ``pauses`` writers pause at ``phase``, then SIGKILL its process group."""
    assert kill_when_paused(start_paused(cmd, phase), phase, pauses) == pauses, f"not killed at {phase}"


def seeds_of(runs: list[Path]) -> list[int]:
    return [yaml.safe_load((r / "config.yaml").read_text())["run"]["seed"] for r in runs]


def collected_runs(sweep: Path) -> pd.DataFrame:
    assert collect_main([str(sweep), "--outcomes", "disengaged_ever"]) == 0
    return pd.read_parquet(sweep / "collected" / "runs.parquet")


@dataclass
class KilledSweep:
    """A two-job sweep killed while writing job 1, what the tools saw then, and the rerun's output."""

    sweep: Path
    pauses: int
    complete_after_kill: list[str]
    names_after_kill: list[str]
    progress_after_kill: str
    collected_after_kill: list[str]
    rerun: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def killed_sweeps(tmp_path_factory) -> dict[str, KilledSweep]:
    """One sweep per write phase, all killed side by side, then all rerun side by side (keeps the file fast)."""
    root = tmp_path_factory.mktemp("phases")
    commands = {
        phase: command("-m", *TINY, f"run.figures={figures}", "run.seed=1,2", f"hydra.sweep.dir={root / phase}")
        for phase, figures in PHASES.items()
    }
    started = {phase: start_paused(cmd, f"{phase}@2") for phase, cmd in commands.items()}  # job 0 finishes first
    pauses = {phase: kill_when_paused(proc, phase) for phase, proc in started.items()}
    seen = {
        phase: (
            [r.name for r in complete_runs(root / phase)],
            sorted(p.name.split(TEMP_MARKER)[0] for p in (root / phase).iterdir()),
            sweep_progress(root / phase),
            collected_runs(root / phase)["run"].unique().tolist(),
        )
        for phase in PHASES
    }
    reruns = {
        phase: subprocess.Popen(
            cmd, cwd=ROOT, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for phase, cmd in commands.items()
    }
    done = {}
    for phase, proc in reruns.items():
        out, err = proc.communicate(timeout=300)
        done[phase] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return {phase: KilledSweep(root / phase, pauses[phase], *seen[phase], done[phase]) for phase in PHASES}


@pytest.mark.parametrize("phase", list(PHASES))
def test_a_sweep_killed_at_any_write_phase_is_completed_by_the_rerun_each_job_once(killed_sweeps, phase):
    killed = killed_sweeps[phase]
    sweep = killed.sweep
    assert killed.pauses == 1, f"job 1 was not killed at {phase}"
    assert killed.complete_after_kill == ["0"]  # the killed job is not counted...
    assert killed.names_after_kill == [".1", "0", "multirun.yaml"]  # ...and has no final folder
    assert killed.progress_after_kill.startswith("sweep: 1 of 2 jobs complete")
    assert killed.collected_after_kill == ["0"]

    assert killed.rerun.returncode == 0, killed.rerun.stderr
    assert f"already complete, skipped: {sweep / '0'}" in killed.rerun.stdout
    assert "sweep: 2 of 2 jobs complete" in killed.rerun.stdout
    runs = complete_runs(sweep)
    assert runs == [sweep / "0", sweep / "1"]  # 0 lost, 0 duplicated
    assert seeds_of(runs) == [1, 2]
    collected = collected_runs(sweep)
    assert collected.groupby("run")["run.seed"].first().to_dict() == {"0": 1, "1": 2}
    assert len(collected) == 2 * 3  # each job once, three arms each


def test_a_parallel_sweep_killed_with_two_jobs_writing_loses_none_on_rerun(tmp_path):
    sweep = tmp_path / "sweep"
    cmd = command(
        "-m", "hydra/launcher=parallel", *TINY, "run.figures=false", "run.seed=1,2,3", f"hydra.sweep.dir={sweep}"
    )
    # Both workers (separate processes) halfway through a job; which jobs they hold is up to the scheduler.
    paused = kill_when_paused(start_paused(cmd, "between_tables"), "between_tables", pauses=2, patience=60.0)
    assert paused >= 1
    killed = sorted(p.name.split(TEMP_MARKER)[0][1:] for p in sweep.iterdir() if is_temporary(p))
    complete = [r.name for r in complete_runs(sweep)]
    assert len(killed) >= paused and not set(killed) & set(complete) and not any((sweep / k).exists() for k in killed)
    assert sweep_progress(sweep).startswith(f"sweep: {len(complete)} of 3 jobs complete")

    rerun = subprocess.run(cmd, cwd=ROOT, env=environment(), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    runs = complete_runs(sweep)
    assert [r.name for r in runs] == ["0", "1", "2"] and seeds_of(runs) == [1, 2, 3]
    assert sweep_progress(sweep).startswith("sweep: 3 of 3 jobs complete")


def test_a_killed_single_run_leaves_no_folder_under_its_final_name(tmp_path):
    out = tmp_path / "run"
    kill_at(command(*TINY, "run.figures=false", f"hydra.run.dir={out}"), "between_tables")
    assert not out.exists()  # Hydra's empty folder is gone; only a hidden temporary one is left
    assert [p.name.startswith(".run.tmp-") for p in tmp_path.iterdir()] == [True]
    assert complete_folders(tmp_path, "manifest.json") == []


def test_two_runs_started_together_into_the_same_folder_both_complete_each_consistent(tmp_path):
    out = tmp_path / "same"  # what two runs started in the same second share: one timestamped name
    procs = {
        seed: subprocess.Popen(
            command(*TINY, "run.figures=false", f"run.seed={seed}", f"hydra.run.dir={out}"),
            cwd=ROOT,
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    }
    for proc in procs.values():
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    folders = complete_folders(tmp_path, "manifest.json")
    assert [f.name for f in folders] == ["same", "same_1"]
    by_seed = {}
    for folder in folders:
        seed = yaml.safe_load((folder / "config.yaml").read_text())["run"]["seed"]
        assert json.loads((folder / "manifest.json").read_text())["base_seed"] == seed
        by_seed[seed] = folder
    assert sorted(by_seed) == [1, 2]
    for seed, folder in by_seed.items():
        expected = run_experiment(compose_config(*TINY, "run.figures=false", f"run.seed={seed}"))
        pd.testing.assert_frame_equal(pd.read_parquet(folder / "weekly.parquet"), expected.weekly)
        pd.testing.assert_frame_equal(pd.read_parquet(folder / "patients.parquet"), expected.patients)


def test_staged_folders_aiming_at_one_name_get_distinct_names_and_never_write_into_a_full_one(tmp_path):
    target = tmp_path / "results"
    target.mkdir()  # an empty folder, as a launcher makes, is taken over
    first, second = StagedFolder(target), StagedFolder(target)
    (first.path / "a.txt").write_text("first")
    (second.path / "a.txt").write_text("second")
    assert complete_folders(tmp_path, "a.txt") == []  # staged, not yet complete
    assert first.commit() == target
    assert second.commit() == tmp_path / "results_1"
    assert (target / "a.txt").read_text() == "first"
    assert (tmp_path / "results_1" / "a.txt").read_text() == "second"


def test_an_error_while_staging_removes_only_the_staged_folder(tmp_path):
    (tmp_path / "keep").mkdir()
    with pytest.raises(RuntimeError), StagedFolder(tmp_path / "run") as stage:
        (stage.path / "half.parquet").write_bytes(b"")
        raise RuntimeError("disk full")
    assert [p.name for p in tmp_path.iterdir()] == ["keep"]


def test_a_folder_is_replaced_whole_and_only_if_this_kind_of_writer_made_it(tmp_path):
    target = tmp_path / "collected"
    for content in ("old", "new"):
        stage = StagedFolder(target)
        (stage.path / "runs.parquet").write_text(content)
        assert replace_folder(stage, "runs.parquet") == target
    assert (target / "runs.parquet").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["collected"]  # the old one is gone, nothing hidden left
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    stage = StagedFolder(foreign)
    (stage.path / "runs.parquet").write_text("new")
    assert replace_folder(stage, "runs.parquet") == tmp_path / "mine_1"
    assert (foreign / "notes.txt").read_text() == "keep"


def test_an_atomic_file_is_the_old_one_or_the_whole_new_one(tmp_path):
    path = tmp_path / "cache.json"
    write_atomic(path, "old")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["cache.json"]
    write_atomic(path, b"new")
    assert path.read_text() == "new"
