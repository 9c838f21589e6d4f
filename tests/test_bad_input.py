"""Every bad input of issue #10 is refused before any work: one line naming the key, exit 2, nothing written."""

from __future__ import annotations

import errno
from pathlib import Path

import pandas as pd
import pytest
from conftest import compose_config, main_job

from experiments import calibrate, collect, mediate, preflight, run, sensitivity, validate
from experiments.preflight import (
    BYTES_PER_PATIENT_RUN_KEPT,
    BYTES_PER_PATIENT_RUNNING,
    BYTES_PER_PATIENT_WEEK_KEPT,
    BYTES_PROCESS,
    check_before_work,
    estimate_memory,
)
from sim.analysis.targets import load_targets
from sim.core.params import ConfigError

SMALL = ["--replicates", "1", "--patients", "50", "run.weeks=4"]
TARGET = "targets:\n  - {metric: share_improved, arm: coordinated, band: [0, 1]}\n"


def refused(capsys, tool, argv: list[str]) -> str:
    """Run a tool's main in process; assert status 2 and exactly one line on stderr; return it.

    ``main`` returns 2 for what it checks itself; the option parser exits with 2.
    """
    try:
        code = tool.main(argv)
    except SystemExit as stop:
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


def preflight_error(*argv: str) -> str:
    with pytest.raises(ConfigError) as err:
        run.preflight(list(argv))
    return str(err.value)


# --- the main job: checked before Hydra makes any folder -----------------------------


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("foo=1", "foo = 1 is not allowed; expected a key of Config"),
        ("run.weeks=abc", "run.weeks = 'abc' is not allowed"),
        ("arms.coordinated.training_warmth=1e6", "arms.coordinated.training_warmth = 1000000.0"),
        ("population.condition_severity_shift.fnd=100", "population.condition_severity_shift.fnd = 100"),
        ("arms.coordinated.stepping=2", "arms.coordinated.stepping = 2 is not allowed; expected true or false"),
        ("run.weeks=1000000000", "run.weeks = 1000000000 is not allowed"),
        ("arms={}", "arms = {} is not allowed; expected at least one arm"),
        ("~arms.fragmented", "run.reference_arm = 'fragmented' is not allowed; expected one of the arms present: "),
        ("population.n_patients=1000000000000", "population.n_patients = 1000000000000 is not allowed"),
        ("workforce.gp.per_1000_patients=0", "nobody can be seen"),
        ("workforce.gp.capacity_per_week=0", "nobody can be seen"),
    ],
)
def test_main_job_refuses_before_any_folder_exists(tmp_path, override, expected):
    message = preflight_error(override, f"hydra.run.dir={tmp_path}/out")
    assert expected in message and message.startswith("config error: ") and "\n" not in message
    assert not (tmp_path / "out").exists()


def test_a_size_beyond_the_machine_memory_is_refused_with_the_estimate(tmp_path, monkeypatch):
    monkeypatch.setattr(preflight, "available_memory", lambda: 8 * 2**30)
    message = preflight_error("population.n_patients=5000000", "run.jobs=1", f"hydra.run.dir={tmp_path}/out")
    assert message.startswith("config error: population.n_patients = 5000000 is not allowed")
    gb = estimate_memory(compose_config("population.n_patients=5000000", "run.jobs=1")).bytes / 2**30
    assert f"5,000,000 patients x 3 arms x 10 replicates x 104 weeks needs about {gb:,.1f} GB estimated" in message
    assert "8.0 GB available" in message
    assert not (tmp_path / "out").exists()
    preflight.check_memory(compose_config("population.n_patients=20000"))  # the same machine runs 20,000


def test_removing_the_reference_arm_names_the_arms_present():
    assert "coordinated, stepped" in preflight_error("~arms.fragmented")


def test_a_needed_role_with_no_staff_names_the_role_and_the_arm():
    message = preflight_error("arms.coordinated.stepping=true", "workforce.coordinator.per_1000_patients=0")
    assert "workforce.coordinator.per_1000_patients = 0" in message and "arm 'coordinated'" in message
    specialist = preflight_error("workforce.specialist.capacity_per_week=0")
    assert "workforce.specialist.capacity_per_week" in specialist and "needs a specialist" in specialist
    # A role no selected pathway uses may have no staff: no stepping, so no coordinator needed.
    compose_config("workforce.coordinator.per_1000_patients=0", "arms.stepped.stepping=false")


def test_sweeps_check_every_job_first(tmp_path):
    assert "1.5" in preflight_error("-m", "arms.coordinated.continuity=0.5,1.5", f"hydra.sweep.dir={tmp_path}/s")
    assert "abc" in preflight_error("-m", "run.seed=1,2", "run.weeks=4,abc", f"hydra.sweep.dir={tmp_path}/s")
    assert not (tmp_path / "s").exists()


def test_output_folder_that_is_a_file_or_not_writable_is_refused_first(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert "expected a folder, not a file" in preflight_error(f"hydra.run.dir={afile}")
    assert "is a file, not a folder" in preflight_error(f"hydra.run.dir={afile}/run")
    readonly = Path("/proc/alliance-sim-results")  # /proc refuses new files, even for root
    assert "expected a writable folder" in preflight_error(f"hydra.run.dir={readonly}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("n_patients: [1\n", "line 2"), ("n_patients: !!python/object:os.system 1\n", "python/object")],
)
def test_config_file_with_bad_yaml_or_a_python_tag_is_one_line(tmp_path, text, expected):
    (tmp_path / "population").mkdir()
    (tmp_path / "population" / "bad.yaml").write_text(text)
    message = preflight_error("--config-dir", str(tmp_path), "population=bad")
    assert "bad.yaml" in message and expected in message and "\n" not in message


def test_group_names_are_replaced_not_merged():
    population = compose_config("population.cultural_group_shares={a:0.7,b:0.3}").population
    assert population.cultural_group_shares == {"a": 0.7, "b": 0.3}
    over_preset = compose_config("population=diverse", "population.cultural_group_shares={a:0.6,b:0.4}")
    assert over_preset.population.cultural_group_shares == {"a": 0.6, "b": 0.4}
    workforce = compose_config("workforce.cultural_group_shares={a:1.0}").workforce
    assert workforce.cultural_group_shares == {"a": 1.0}
    assert compose_config("population=diverse").population.cultural_group_shares == {"majority": 0.55, "minority": 0.45}


def test_patients_of_a_group_no_clinician_shares_always_meet_across_cultures():
    from sim.engine.model import initial_state

    config = compose_config("population.cultural_group_shares={a:0.5,b:0.5}", "workforce.cultural_group_shares={a:1.0}")
    from sim.core.streams import Streams

    groups, patients, clinicians = initial_state(
        config.arms["fragmented"],
        config.run,
        config.population,
        config.workforce,
        config.mechanisms,
        Streams(1),
    )
    assert groups == ["a", "b"]
    assert set(clinicians.cultural_group) == {0}  # every clinician is in group a
    assert set(patients.cultural_group) == {0, 1}  # group b patients: mismatch with everyone (M4)


def test_memory_estimate_grows_with_every_size_and_bounds_the_measured_constants():
    base = compose_config("population.n_patients=1000", "run.replicates=2", "run.jobs=1")
    bigger = compose_config("population.n_patients=2000", "run.replicates=2", "run.jobs=1")
    traj = compose_config("population.n_patients=1000", "run.replicates=2", "run.trajectories=true", "run.jobs=1")
    workers = compose_config("population.n_patients=1000", "run.replicates=2", "run.jobs=2")
    one, two = estimate_memory(base).bytes, estimate_memory(bigger).bytes
    kept = 6 * BYTES_PER_PATIENT_RUN_KEPT + 6 * 104 * BYTES_PER_PATIENT_WEEK_KEPT
    # One process steps both replicates of an arm at once (a stack): two runs' working sets.
    assert two - one == 1000 * (2 * BYTES_PER_PATIENT_RUNNING + kept)
    assert estimate_memory(traj).bytes > one
    assert estimate_memory(base, parallel=2).bytes == 2 * one
    # Two worker processes: two more processes, each stepping one replicate at a time (6 tasks fill 2
    # workers), so the same two runs' working sets as the serial stack; the main process only keeps.
    assert estimate_memory(workers).bytes - one == 2 * BYTES_PROCESS


def test_memory_estimate_is_above_a_measured_run():
    import tracemalloc

    from sim.analysis.experiment import run_experiment

    config = compose_config(
        "population.n_patients=600", "run.weeks=20", "run.replicates=1", "run.figures=false", "run.jobs=1"
    )
    tracemalloc.start()
    run_experiment(config)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < estimate_memory(config).bytes - BYTES_PROCESS < 3 * peak


def test_check_before_work_accepts_the_default_experiment(tmp_path):
    check_before_work(compose_config(), tmp_path / "results")


# --- the other tools ----------------------------------------------------------------


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n- b\n", "expected a mapping with a 'targets:' list"),
        ("targets: [oops]\n", "targets[0] = 'oops' is not allowed"),
        ("targets:\n  - {metric: share_improved, band: ['a', 1]}\n", "targets[0].band"),
        ("targets:\n  - {metric: 'mean:nope', band: [0, 1]}\n", "expected a patient column"),
        ("targets:\n  - {metric: effect_size_function, arm: coordinated, band: [0, 1]}\n", ".versus = None"),
        ("targets:\n  - {metric: share_improved, arm: nope, band: [0, 1]}\n", "arm = 'nope' is not allowed"),
        ("targets: [1\n", "expected plain YAML"),
        ("targets: !!python/object:os.system 1\n", "python/object"),
    ],
)
def test_bad_targets_are_refused_before_trial_zero(tmp_path, capsys, text, expected):
    targets = write(tmp_path, "t.yaml", text)
    out = tmp_path / "out"
    for tool in (validate, calibrate):
        line = refused(capsys, tool, ["--targets", targets, "--out", str(out), *SMALL])
        assert expected in line
    assert not out.exists()


def test_billion_laughs_targets_file_is_refused_fast(tmp_path, capsys):
    lines = ['a0: &a0 ["lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    lines.append("targets: *a9")
    path = write(tmp_path, "laughs.yaml", "\n".join(lines) + "\n")
    line = refused(capsys, calibrate, ["--targets", path, "--out", str(tmp_path / "out"), *SMALL])
    assert "expands to more than" in line
    assert not (tmp_path / "out").exists()


def test_oversized_targets_file_is_refused(tmp_path):
    path = write(tmp_path, "big.yaml", "# " + "x" * 1_100_000 + "\n" + TARGET)
    with pytest.raises(ConfigError, match="expected at most"):
        load_targets(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("parameters:\n  - {name: arms.coordinated.continuity, low: a, high: 0.9}\n", "low = 'a'"),
        ("parameters:\n  - {name: arms.coordinated.continuity, low: 0.9, high: 0.1}\n", "expected low < high"),
        ("parameters:\n  - {name: arms.coordinated.nope, low: 0.1, high: 0.9}\n", "arms.coordinated.nope"),
        ("parameters: []\n", "expected a non-empty list"),
    ],
)
def test_bad_free_parameters_are_refused_before_trial_zero(tmp_path, capsys, text, expected):
    params = write(tmp_path, "p.yaml", text)
    line = refused(capsys, calibrate, ["--params", params, "--out", str(tmp_path / "out"), *SMALL])
    assert expected in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("tool", "argv", "expected"),
    [
        (calibrate, ["--trials", "0"], "--trials = '0' is not allowed; expected a whole number >= 1"),
        (sensitivity, ["--jobs", "0"], "--jobs = 0 is not allowed; expected at least 1"),
        (validate, ["--patients", "-3"], "--patients = '-3' is not allowed"),
        (validate, ["foo=1"], "foo = 1 is not allowed"),
        (validate, ["run.weeks=abc"], "run.weeks = 'abc' is not allowed"),
        (sensitivity, ["run.weeks=abc"], "run.weeks = 'abc' is not allowed"),
        (sensitivity, ["~arms.fragmented"], "run.reference_arm = 'fragmented'"),
        (calibrate, ["--patients", "5000000", "run.jobs=2"], "in 2 worker processes needs about"),
        (sensitivity, ["--patients", "5000000", "--jobs", "2"], "x 2 at once needs about"),
        (mediate, ["--arm", "fragmented"], "--arm = 'fragmented' is not allowed; expected an arm compared with"),
        (mediate, ["--arm", "nope"], "--arm = 'nope' is not allowed; expected an arm compared with fragmented"),
        (mediate, ["--channels", "contact,nope"], "--channels = 'nope' is not allowed; expected any of"),
        (mediate, ["foo=1"], "foo = 1 is not allowed"),
        (mediate, ["run.weeks=abc"], "run.weeks = 'abc' is not allowed"),
        (mediate, ["~arms.fragmented"], "run.reference_arm = 'fragmented'"),
        (
            mediate,
            ["--channels", "contact", "mechanisms.contact_recovery_per_week=0"],
            "mechanisms.contact_recovery_per_week = 0.0 is not allowed with channel contact",
        ),
        (mediate, ["population.n_patients=5000000", "run.jobs=2"], "in 2 worker processes needs about"),
    ],
)
def test_tools_refuse_bad_options_and_overrides_in_one_line(tmp_path, capsys, monkeypatch, tool, argv, expected):
    monkeypatch.setattr(preflight, "available_memory", lambda: 8 * 2**30)
    line = refused(capsys, tool, ["--out", str(tmp_path / "out"), *argv])
    assert expected in line
    assert not (tmp_path / "out").exists()


def test_collect_refuses_a_missing_sweep_folder(tmp_path, capsys):
    line = refused(capsys, collect, [str(tmp_path / "nope")])
    assert "sweep = " in line and "expected a sweep folder" in line


def test_disk_full_while_writing_leaves_nothing(tmp_path, capsys, monkeypatch):
    def full(self, path, *args, **kwargs):
        Path(path).write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    out = tmp_path / "results" / "validation" / "run"
    line = refused(capsys, validate, ["--out", str(out), *SMALL])
    assert "No space left on device" in line and "nothing was kept" in line
    assert list(tmp_path.iterdir()) == []


# --- a few through the real command line: exit code, one line, no folder ---------------


@pytest.mark.parametrize(
    "argv",
    [
        ["population.n_patients=1000000000000"],
        ["-m", "run.seed=1,2", "arms.coordinated.stepping=2"],
        ["population.cultural_group_shares={a:0.7,b:0.2}"],
    ],
)
def test_main_job_command_line_exits_2_with_one_line_and_no_folder(tmp_path, argv):
    proc = main_job(*argv, f"hydra.run.dir={tmp_path}/results/run", f"hydra.sweep.dir={tmp_path}/results/sweep")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("config error: ")
    assert not (tmp_path / "results").exists()


def test_sweep_jobs_checked_quickly_are_the_configs_hydra_composes():
    from experiments.schema import compose_jobs, to_config

    jobs = [
        ["population=small", f"run.seed={seed}", f"arms.coordinated.continuity={c}", "run.weeks=8"]
        for seed in (1, 2)
        for c in (0.5, 0.9)
    ]
    quick = [to_config(cfg) for cfg in compose_jobs(jobs)]
    assert quick == [compose_config(*job) for job in jobs]
    assert len({(c.run.seed, c.arms["coordinated"].continuity) for c in quick}) == 4


def test_a_failed_write_removes_only_the_folders_this_run_created(tmp_path, capsys):
    from experiments.cli import writing

    existing = tmp_path / "results"
    (existing / "earlier").mkdir(parents=True)
    target = existing / "new" / "deeper" / "run"
    with pytest.raises(SystemExit) as stop, writing(target):
        target.mkdir(parents=True)
        raise OSError(errno.ENOSPC, "No space left on device")
    assert stop.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert sorted(p.name for p in existing.iterdir()) == ["earlier"]


def test_other_write_errors_are_not_hidden(tmp_path):
    from experiments.cli import writing

    with pytest.raises(OSError, match="Input/output"), writing(tmp_path / "out"):
        raise OSError(errno.EIO, "Input/output error")


def test_group_names_are_replaced_on_the_real_command_line(tmp_path):
    import yaml

    proc = main_job(
        "population=diverse",
        "population.cultural_group_shares={a:0.7,b:0.3}",
        "population.n_patients=30",
        "run.weeks=2",
        "run.replicates=1",
        "run.figures=false",
        f"hydra.run.dir={tmp_path}/run",
    )
    assert proc.returncode == 0, proc.stderr
    written = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert written["population"]["cultural_group_shares"] == {"a": 0.7, "b": 0.3}


def test_a_broken_arms_mapping_is_one_line_not_a_traceback():
    message = preflight_error("arms={x:{continuity:0.5}}")
    assert message.startswith("config error: ") and "arms" in message and "\n" not in message
