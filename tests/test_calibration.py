"""Validation against published targets and the calibration command (sensitivity: test_sensitivity.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import ROOT, main_job

from experiments import calibrate, validate
from sim.analysis.experiment import run_experiment
from sim.analysis.targets import MOVES, effects_over_time, evaluate, fitted_targets, load_targets, loss
from sim.core.files import PAUSE_VARIABLE, complete_folders
from sim.core.params import LABELS, ConfigError, label, parameter_field

VALIDATION_SIZE = ["run.replicates=4", "population.n_patients=1000"]
"""A size that keeps the suite fast: 4 replicates x 1,000 patients, every preset, 104 weeks."""


@pytest.fixture(scope="module")
def validation_run():
    config = validate.validation_config(VALIDATION_SIZE)
    assert {"coordinated", "fragmented", "stepped", "usual_care"} <= set(config.arms)
    return run_experiment(config)


@pytest.fixture(scope="module")
def validation_table(validation_run) -> pd.DataFrame:
    """C1–C10 at the suite's size."""
    return evaluate(validation_run, load_targets(validate.DEFAULT_TARGETS))


def test_every_published_target_is_scored_fitted_or_predicted(validation_table):
    table = validation_table
    ids = {"C1", "C2", "C3a", "C3b", "C4a", "C4b", "C5a", "C5b", "C5c", "C6a", "C6b", "C7a", "C7b", "C7c"}
    assert set(table["target"]) == ids | {
        "C8a",
        "C8b",
        "C8c",
        "C8d",
        "C9a",
        "C9b",
        "C9c",
        "C9d",
        "C9e",
        "C9f",
        "C10a",
        "C10b",
    }
    for each in ("C2", "C6a", "C6b", "C7a", "C7b", "C7c", "C8a", "C8b"):
        assert len(table[table["target"] == each]) == 4  # in every preset
    fitted = table[table["role"] == "fitted"]
    assert set(fitted["arm"]) == {"fragmented"} and not fitted["target"].str.startswith(("C4", "C9", "C10")).any()


def test_defaults_reproduce_every_fitted_target(validation_table):
    """The in-sample rows: usual (fragmented) care, the only figures the fit saw."""
    fitted = validation_table[validation_table["role"] == "fitted"]
    outside = fitted[~fitted["inside"]]
    assert outside.empty, outside[["target", "arm", "simulated", "band_low", "band_high"]].to_string()


PREDICTED_OUTSIDE = {("C9e", "usual_care"), ("C9f", "usual_care")}
"""Predictions clearly outside their band with the current defaults (docs/validation.md): usual care's
effects against fragmented care are smaller than 0.10 (the stepped functioning effect sits at its band's
upper edge and is undetermined at this size). Reported, not tuned away (issues 12, 13)."""


def test_predicted_targets_inside_their_bands_except_the_known_misses(validation_table):
    """The out-of-sample rows. Known misses are listed above; any other row clearly outside fails, and so
    does a listed miss that has come inside (then shorten the list). At this test's size (4 x 1,000) a row
    whose 95% interval straddles a band edge is undetermined and is not counted either way: several
    predictions sit at an edge (docs/validation.md gives them at full size)."""
    predicted = validation_table[validation_table["role"] == "predicted"]
    clearly_out = (predicted["ci_high"] < predicted["band_low"]) | (predicted["ci_low"] > predicted["band_high"])
    clearly_in = (predicted["ci_low"] >= predicted["band_low"]) & (predicted["ci_high"] <= predicted["band_high"])
    outside = {(r.target, r.arm) for r in predicted[clearly_out].itertuples()}
    assert outside == PREDICTED_OUTSIDE, predicted[~predicted["inside"]].to_string()
    assert clearly_in.sum() >= 0.75 * len(predicted), predicted[~clearly_in].to_string()


def _late_over_early(weekly: pd.DataFrame) -> dict[tuple[str, str], float]:
    """Per arm and outcome: the SMD gained from week 78 to 104 over the SMD gained from week 26 to 52."""
    smd = effects_over_time(weekly, "fragmented", weeks=(26, 52, 78, 104)).set_index(["arm", "outcome", "week"])["smd"]
    return {
        (arm, outcome): (smd[arm, outcome, 104] - smd[arm, outcome, 78])
        / (smd[arm, outcome, 52] - smd[arm, outcome, 26])
        for arm in ("coordinated", "stepped")
        for outcome in ("function", "symptoms")
    }


def test_effects_level_off_in_the_second_year(validation_run):
    """M8, M3, M19 (issue 12): the arms' differences stop growing once care has done what it can, because
    worry and avoidance drift back unless care renews them. With that return switched off they kept growing
    for two years (late gain a fifth to two fifths of the early one, measured at this size)."""
    assert all(ratio < 0.15 for ratio in _late_over_early(validation_run.weekly).values())
    off = ["mechanisms.uncertainty_return_per_week=0", "mechanisms.avoidance_return_per_week=0"]
    unbounded = _late_over_early(run_experiment(validate.validation_config([*VALIDATION_SIZE, *off])).weekly)
    assert all(ratio > 0.15 for ratio in unbounded.values()), unbounded


def test_effects_over_time_end_where_the_horizon_effect_sizes_are():
    """The timeline's last week is the horizon: the same standardised differences as C9 (to the SD's ddof)."""
    config = validate.validation_config(["run.replicates=3", "population.n_patients=500", "run.weeks=52"])
    result = run_experiment(config)
    table = evaluate(result, load_targets(validate.DEFAULT_TARGETS))
    over_time = effects_over_time(result.weekly, "fragmented", weeks=(13, 26, 52))
    assert set(over_time["week"]) == {13, 26, 52} and set(over_time["arm"]) == {"coordinated", "stepped", "usual_care"}
    for target, arm, outcome in (("C9a", "coordinated", "function"), ("C9d", "stepped", "symptoms")):
        horizon = table[(table["target"] == target) & (table["arm"] == arm)]["simulated"].item()
        row = over_time[(over_time["arm"] == arm) & (over_time["outcome"] == outcome) & (over_time["week"] == 52)]
        assert row["smd"].item() == pytest.approx(horizon, rel=2e-3)
        assert row["ci_low"].item() < row["smd"].item() < row["ci_high"].item()


def test_local_targets_in_the_same_format(tmp_path):
    """A local file in the published format is read and scored. Its bands are set around what the run
    gives, so each assertion can fail: bands centred on the values score 0, bands two half-widths off 4 each."""
    config = validate.validation_config(["run.replicates=2", "population.n_patients=100", "run.weeks=26"])
    result = run_experiment(config)
    wide = evaluate(result, load_targets(ROOT / "tests" / "golden" / "wide_targets.yaml"))
    fragmented = wide[wide["arm"] == "fragmented"].set_index("metric")["simulated"]
    half_widths = {"disengaged_first_year": 0.01, "gp_visits_per_year": 0.5}

    def local(shift: float) -> pd.DataFrame:
        entries = [
            {"id": f"L{i}", "metric": metric, "arm": "fragmented", "band": [v - h + shift * h, v + h + shift * h]}
            for i, (metric, h) in enumerate(half_widths.items())
            for v in [float(fragmented[metric])]
        ]
        path = tmp_path / f"local_{shift}.yaml"
        path.write_text(yaml.safe_dump({"targets": entries}))
        return evaluate(result, load_targets(path))

    centred, shifted = local(0.0), local(2.0)
    assert len(centred) == 2 and centred["inside"].all()
    assert loss(centred) == pytest.approx(0.0, abs=1e-9)
    assert not shifted["inside"].any()
    assert loss(shifted) == pytest.approx(8.0)


def test_a_one_sided_band_scores_zero_inside_and_grows_outside():
    row = {"target": "C7a", "arm": "a", "band_low": float("-inf"), "band_high": 0.02}
    inside = pd.DataFrame([{**row, "simulated": 0.01}])
    near, far = (pd.DataFrame([{**row, "simulated": v}]) for v in (0.03, 0.05))
    assert loss(inside) == 0.0
    assert 1.0 < loss(near) < loss(far)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"metric": "happiness", "band": [0, 1]}, "metric = 'happiness' is not allowed"),
        ({"metric": "share_improved", "band": [0.8, 0.2]}, "band = [0.8, 0.2] is not allowed"),
        ({"metric": "share_improved", "band": [0, 1], "colour": "red"}, "unknown keys ['colour']"),
        ({"metric": "share_improved", "band": [float("-inf"), float("inf")]}, "band = [-inf, inf] is not allowed"),
    ],
)
def test_bad_targets_are_refused_with_the_key(tmp_path, entry, message):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"targets": [entry]}))
    with pytest.raises(ConfigError) as err:
        load_targets(path)
    assert message in str(err.value)


def test_validate_command_writes_table_and_exits_zero_inside(tmp_path, capsys):
    code = validate.main(
        [
            "--replicates",
            "2",
            "--patients",
            "150",
            "--out",
            str(tmp_path / "v"),
            "run.weeks=26",
            "--targets",
            str(ROOT / "tests" / "golden" / "wide_targets.yaml"),
        ]
    )
    assert code == 0
    table = pd.read_csv(tmp_path / "v" / "validation.csv")
    assert {"target", "band_low", "band_high", "simulated", "ci_low", "ci_high", "inside", "source"} <= set(table)
    assert "| C2 |" in (tmp_path / "v" / "validation.md").read_text()
    assert "inside their band" in capsys.readouterr().out


FREE = [
    {"name": "mechanisms.dropout_per_week", "low": 0.0005, "high": 0.02, "log": True},
    {"name": "mechanisms.bond_initial", "low": 0.1, "high": 0.95},
]
TINY_FIT = ["--replicates", "1", "--patients", "150", "--profile-points", "3", "run.weeks=52"]


def free_file(tmp_path: Path) -> Path:
    path = tmp_path / "free.yaml"
    path.write_text(yaml.safe_dump({"parameters": FREE}))
    return path


def test_calibration_fits_with_two_optimiser_seeds_flags_bounds_and_profiles_the_loss(tmp_path):
    out = tmp_path / "cal"
    code = calibrate.main(["--trials", "4", "--params", str(free_file(tmp_path)), "--out", str(out), *TINY_FIT])
    assert code == 0
    record = yaml.safe_load((out / "calibration.yaml").read_text())
    trials = pd.read_csv(out / "trials.csv")
    assert trials.groupby("seed").size().to_dict() == {0: 4, 1: 4}  # two optimiser seeds by default
    runs = record["optimiser_seeds"]
    assert [r["seed"] for r in runs] == [0, 1]
    for run in runs:
        assert run["best_loss"] == pytest.approx(trials.loc[trials["seed"] == run["seed"], "loss"].min())
    assert runs[0]["start_loss"] == runs[1]["start_loss"]  # both start at the defaults, on the same seeds
    assert record["best"] == min(runs, key=lambda r: r["best_loss"])["best"]
    assert record["best_loss_spread"] == pytest.approx(abs(runs[0]["best_loss"] - runs[1]["best_loss"]))
    for p in FREE:
        bound = record["bounds"][p["name"]]
        assert bound["value"] == record["best"][p["name"]]
        assert bound["near_bound"] == calibrate.near_bound(bound["value"], p)
    # The profile spans each range and, at the best point, gives the fit's own loss (common random numbers).
    profile = pd.read_csv(out / "profile.csv")
    for p in FREE:
        part = profile[profile["parameter"] == p["name"]]
        assert part["value"].min() == p["low"] and part["value"].max() == p["high"]
        assert part["value"].is_monotonic_increasing and part["at_best"].sum() == 1
        assert part.loc[part["at_best"], "value"].iloc[0] == record["best"][p["name"]]
    assert profile.loc[profile["at_best"], "loss"].to_numpy() == pytest.approx(record["loss"])
    lowest = record["profile_lowest"]
    assert lowest["loss"] == profile["loss"].min() and lowest["below_best"] == (lowest["loss"] < record["loss"])
    assert (out / "profile.png").stat().st_size > 0 and (out / "fit.csv").is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cal", "free.yaml"]  # the working folder is gone


@pytest.mark.parametrize(
    ("low", "high", "log", "value", "expected"),
    [
        (0.1, 0.95, False, 0.14, "low"),  # 4.7 % of the width from low
        (0.1, 0.95, False, 0.15, "no"),  # 5.9 %
        (0.1, 0.95, False, 0.92, "high"),
        (0.001, 0.1, True, 0.00125, "low"),  # 4.8 % of the log-width
        (0.001, 0.1, True, 0.0013, "no"),  # 5.7 % of the log-width, though 0.3 % of the linear width
    ],
)
def test_a_best_value_within_5_percent_of_a_bound_is_flagged_on_the_search_scale(low, high, log, value, expected):
    assert calibrate.near_bound(value, {"name": "x", "low": low, "high": high, "log": log}) == expected


def test_an_interrupted_fit_leaves_no_result_and_resumes_to_the_full_budget(tmp_path, capsys):
    out = tmp_path / "cal"
    cmd = [sys.executable, "-m", "experiments.calibrate", "--trials", "3", "--params", str(free_file(tmp_path))]
    env = {k: v for k, v in os.environ.items() if k != PAUSE_VARIABLE} | {PAUSE_VARIABLE: "calibration_trial@5"}
    proc = subprocess.Popen([*cmd, "--out", str(out), *TINY_FIT], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:  # the 5th trial: the second seed's study has begun
            if line.strip() == "paused at calibration_trial":
                break
    finally:
        proc.kill()
        proc.wait()
    assert not out.exists() and complete_folders(tmp_path, "calibration.yaml") == []
    assert (tmp_path / ".cal.partial" / "study.db").is_file()
    # A new fit into the same folder is refused; resuming takes no other options.
    assert calibrate.main(["--trials", "3", "--out", str(out)]) == 2
    assert calibrate.main(["--resume", str(out), "--trials", "9"]) == 2
    assert "takes no other options" in capsys.readouterr().err
    assert calibrate.main(["--resume", str(out)]) == 0
    trials = pd.read_csv(out / "trials.csv")
    assert trials.groupby("seed").size().to_dict() == {0: 3, 1: 3}
    assert not (tmp_path / ".cal.partial").exists()
    assert calibrate.main(["--resume", str(out)]) == 2
    assert "that fit is finished" in capsys.readouterr().err


def test_calibration_refuses_a_bad_parameter_before_spending_the_budget(tmp_path, capsys):
    params = tmp_path / "free.yaml"
    params.write_text(yaml.safe_dump({"parameters": [{"name": "mechanisms.no_such_thing", "low": 0, "high": 1}]}))
    assert calibrate.main(["--trials", "50", "--params", str(params), "--out", str(tmp_path / "c")]) == 2
    assert "no_such_thing" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_calibration_refuses_targets_with_nothing_measured_in_usual_care(tmp_path, capsys):
    path = tmp_path / "effects_only.yaml"
    entry = {"id": "E", "metric": "effect_size_symptoms", "arm": "coordinated", "versus": "fragmented", "band": [0, 1]}
    path.write_text(yaml.safe_dump({"targets": [entry]}))
    assert calibrate.main(["--trials", "2", "--targets", str(path), "--out", str(tmp_path / "c")]) == 2
    assert "no target is measured in the reference arm 'fragmented'" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


# --- safe local calibration (issue 14): what a targets file may move, the manifest, the fit as a preset ---


def targets_file(tmp_path, entries: list[dict], **top) -> str:
    path = tmp_path / "local.yaml"
    path.write_text(yaml.safe_dump({**top, "targets": entries}))
    return str(path)


def test_a_dropout_figure_moves_dropout_parameters_only(tmp_path):
    free = calibrate.load_free_parameters(calibrate.DEFAULT_PARAMS)
    dropout = load_targets(
        targets_file(
            tmp_path, [{"id": "L1", "metric": "disengaged_first_year", "arm": "fragmented", "band": [0.25, 0.35]}]
        )
    )
    moved, movers = calibrate.parameters_to_move(dropout, free, calibrate.DEFAULT_PARAMS)
    assert [p["name"] for p in moved] == ["mechanisms.dropout_per_week"] and movers == {
        "mechanisms.dropout_per_week": ["L1"]
    }
    improved = load_targets(
        targets_file(tmp_path, [{"id": "L2", "metric": "share_improved", "arm": "fragmented", "band": [0.5, 0.6]}])
    )
    names = {p["name"] for p in calibrate.parameters_to_move(improved, free, calibrate.DEFAULT_PARAMS)[0]}
    assert "mechanisms.recovery_per_week" in names and not any("dropout" in n for n in names)


def test_the_published_targets_move_every_shipped_free_parameter():
    """The default table covers the shipped fit: refitting the published figures moves all of free.yaml."""
    free = calibrate.load_free_parameters(calibrate.DEFAULT_PARAMS)
    fitted = fitted_targets(load_targets(validate.DEFAULT_TARGETS), "fragmented")
    moved, movers = calibrate.parameters_to_move(fitted, free, calibrate.DEFAULT_PARAMS)
    assert moved == free
    assert set(movers[None]) == {"C5a", "C5b", "C7c", "C8c", "C8d"}  # scored; no parameter of theirs is in free.yaml


def test_every_default_move_is_a_labelled_mechanism_parameter():
    for metric, names in MOVES.items():
        for name in names:
            assert name.startswith("mechanisms.") and parameter_field(name), metric
            assert label(name) in LABELS.values(), name


def test_moves_in_a_targets_file_replace_the_default_per_target_or_per_file(tmp_path):
    entry = {"id": "L1", "metric": "share_improved", "arm": "fragmented", "band": [0.5, 0.6]}
    file_wide = load_targets(targets_file(tmp_path, [entry], moves=["mechanisms.setpoint_share"]))
    assert file_wide[0].movable() == ("mechanisms.setpoint_share",)
    own = load_targets(
        targets_file(
            tmp_path, [{**entry, "moves": ["mechanisms.recovery_per_week"]}], moves=["mechanisms.setpoint_share"]
        )
    )
    assert own[0].movable() == ("mechanisms.recovery_per_week",)


@pytest.mark.parametrize(
    ("moves", "message"),
    [
        (["arms.fragmented.continuity"], "never fitted"),
        (["mechanisms.no_such_thing"], "'mechanisms.no_such_thing', which is not allowed"),
        ([], "moves = [] is not allowed"),
        ("mechanisms.setpoint_share", "expected a list of mechanism parameters"),
    ],
)
def test_bad_moves_are_refused_naming_the_key(tmp_path, moves, message):
    entry = {"id": "L1", "metric": "share_improved", "arm": "fragmented", "band": [0.5, 0.6], "moves": moves}
    with pytest.raises(ConfigError) as err:
        load_targets(targets_file(tmp_path, [entry]))
    assert message in str(err.value) and "targets[0].moves" in str(err.value)


def test_a_move_without_a_search_range_is_refused_before_any_trial(tmp_path, capsys):
    entry = {"id": "L1", "metric": "share_improved", "arm": "fragmented", "band": [0.5, 0.6]}
    path = targets_file(tmp_path, [{**entry, "moves": ["mechanisms.bond_gain"]}])
    assert calibrate.main(["--trials", "50", "--targets", path, "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "L1.moves names mechanisms.bond_gain, which has no search range" in err and err.count("\n") == 1
    assert not (tmp_path / "c").exists()


def test_the_old_dropout_metric_is_refused_with_its_new_name(tmp_path):
    entry = {"metric": "dropout_first_year", "arm": "fragmented", "band": [0.1, 0.2]}
    with pytest.raises(ConfigError, match="it is now 'disengaged_first_year'"):
        load_targets(targets_file(tmp_path, [entry]))


def test_first_year_disengagement_and_ever_disengaged_are_distinct_columns(small_config):
    patients = run_experiment(small_config).patients
    assert (patients["disengaged_ever"] | ~patients["disengaged_first_year"]).all()  # first year implies ever
    first = patients["disengaged_week"] - patients["arrival_week"] <= 52
    assert (patients["disengaged_first_year"] == first.fillna(False)).all()


def test_the_record_is_a_full_manifest_and_apply_writes_a_preset_the_main_job_uses(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(calibrate, "FIT_DIR", tmp_path / "conf" / "fit")
    path = targets_file(
        tmp_path, [{"id": "L1", "metric": "disengaged_first_year", "arm": "fragmented", "band": [0.25, 0.35]}]
    )
    params = tmp_path / "free.yaml"  # the one free parameter the dropout figure moves, and one it must not
    params.write_text(
        yaml.safe_dump(
            {
                "parameters": [
                    {"name": "mechanisms.dropout_per_week", "low": 0.0005, "high": 0.02, "log": True},
                    {"name": "mechanisms.recovery_per_week", "low": 0.005, "high": 0.5, "log": True},
                ]
            }
        )
    )
    args = ["--targets", path, "--params", str(params), "--trials", "2", "--replicates", "1", "--patients", "100"]
    args += ["--seed", "7"]
    # The size given as an override wins over --patients: the record says what was used (issue 14).
    size = ["population.n_patients=150", "run.weeks=40", "workforce.gp.per_1000_patients=3"]
    assert calibrate.main([*args, "--out", str(tmp_path / "c1"), "--apply", "local", *size]) == 0
    out = capsys.readouterr().out
    assert out.index("this fit moves 1 of the 2 free parameters") < out.index("best loss")
    assert "kept at their current values: Recovery achieved by self-management" in out
    record = yaml.safe_load((tmp_path / "c1" / "calibration.yaml").read_text())
    manifest = record["manifest"]
    assert list(record["best"]) == ["mechanisms.dropout_per_week"]
    assert manifest["size"] == {"patients": 150, "replicates": 1, "weeks": 40, "cohort": "closed", "arm": "fragmented"}
    assert manifest["changed_from_defaults"]["workforce.gp.per_1000_patients"] == 3
    assert manifest["seeds"]["optimiser_seeds"] == [7, 8] and len(manifest["seeds"]["replicate_seeds"]) == 1
    assert (
        manifest["git"]
        and manifest["packages"]["numpy"]
        and "workforce.gp.per_1000_patients=3" in manifest["overrides"]
    )
    preset = tmp_path / "conf" / "fit" / "local.yaml"
    fitted = record["best"]["mechanisms.dropout_per_week"]
    assert yaml.safe_load(preset.read_text()) == {"mechanisms": {"dropout_per_week": fitted}}

    # An existing preset is kept unless --force: refused before any work, nothing written.
    assert calibrate.main([*args, "--out", str(tmp_path / "c2"), "--apply", "local", *size]) == 2
    assert "exists (add --force to replace it)" in capsys.readouterr().err and not (tmp_path / "c2").exists()
    assert calibrate.main([*args, "--trials", "1", "--out", str(tmp_path / "c3"), "--apply", "local", "--force"]) == 0

    refitted = yaml.safe_load(preset.read_text())["mechanisms"]["dropout_per_week"]
    run = main_job(
        "--config-dir",
        str(tmp_path / "conf"),
        "+fit=local",
        "population=small",
        "population.n_patients=60",
        "run.replicates=1",
        "run.weeks=4",
        "run.figures=false",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert run.returncode == 0, run.stderr
    used = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert used["mechanisms"]["dropout_per_week"] == refitted


def test_apply_refuses_a_name_that_is_not_a_plain_file_name(tmp_path, capsys):
    assert calibrate.main(["--trials", "2", "--apply", "../escape", "--out", str(tmp_path / "c")]) == 2
    assert "--apply = '../escape' is not allowed" in capsys.readouterr().err and not (tmp_path / "c").exists()


def test_a_trial_sets_its_values_exactly_as_the_same_overrides_would():
    base = ["experiment=compare_care_models", "run.replicates=2"]
    values = {
        "mechanisms.bond_initial": 0.712276123,
        "mechanisms.dropout_per_week": 0.00232844123,
        "arms.fragmented.continuity": 0.4,
    }
    composed = validate.validation_config([*base, *(f"{k}={v!r}" for k, v in values.items())])
    assert calibrate.with_values(validate.validation_config(base), values) == composed
