"""Global sensitivity analysis: sizes refused before work, seeds honoured, a cache that cannot go stale,
and convergence warnings that fire on each way an index can mislead.

Most tests drive the analysis with cheap synthetic model functions (a few
milliseconds for thousands of points); one runs the care model itself through
the cache, and the command-line tests replace the care model with a synthetic
one so they test the command, not the simulation.
"""

from __future__ import annotations

import dataclasses
import json
import types
import warnings

import numpy as np
import pandas as pd
import pytest

import sim.analysis.sensitivity as sens
from experiments import sensitivity
from experiments.schema import compose_config
from sim.core.params import ConfigError

FACTORS = [sens.Factor("a", 0.0, 1.0), sens.Factor("b", 0.0, 1.0), sens.Factor("c", 0.0, 1.0)]
SETTINGS = sens.Settings(trajectories=10, sobol_top=3, sobol_samples=256, seed=0)


def columns(over: list[sens.Factor], design: np.ndarray) -> dict[str, np.ndarray]:
    """The design's columns by factor name."""
    return {f.name: design[:, i] for i, f in enumerate(over)}


def additive(over, design):
    """y = 4a + 2b (c inert): S1 = ST = 0.8, 0.2 and 0."""
    x = columns(over, design)
    return pd.DataFrame({"y": 4 * x["a"] + 2 * x["b"]})


def noisy(over, design):
    """A weak signal under heavy noise that is still a fixed function of the point (reproducible)."""
    x = columns(over, design)
    noise = np.sin(1e4 * (x["a"] + 3 * x["b"] + 7 * x["c"]))
    return pd.DataFrame({"y": 0.2 * x["a"] + noise})


def sign_flipped(over, design):
    """Outputs whose sign flips on the rows of the Saltelli design that move factor a.

    Not a function of the inputs, as a model with a broken random stream or a
    mixed-up cache is not: the estimator returns S1(a) near -1 for ``negative``
    and ST(a) near 2 for ``above``, both with narrow intervals.
    """
    x = columns(over, design)
    position = np.arange(len(design)) % (len(over) + 2)
    sign = np.where(position == 1 + [f.name for f in over].index("a"), -1.0, 1.0)
    return pd.DataFrame({"negative": sign * (x["a"] - 0.5), "above": sign * (x["b"] - 0.5)})


def drifting(over, design):
    """Depends on a in the first half of the design and on b in the second (as two model versions would)."""
    x = columns(over, design)
    first = np.arange(len(design)) < len(design) // 2
    return pd.DataFrame({"y": np.where(first, x["a"], x["b"])})


def constant(over, design):
    return pd.DataFrame({"y": np.full(len(design), 3.0)})


def missing_at_a_point(over, design):
    """y = a, but no value at the first point (as an outcome of an arm with no patients would be)."""
    y = columns(over, design)["a"].copy()
    y[0] = np.nan
    return pd.DataFrame({"y": y})


def analyse(model, settings=SETTINGS) -> sens.Analysis:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from SALib or NumPy reaches the console
        return sens.run_analysis(FACTORS, model, settings)


# --- sizes refused before work ---


@pytest.mark.parametrize(
    ("change", "option", "minimum"),
    [
        ({"trajectories": 1}, "--trajectories = 1", "at least 4"),
        ({"trajectories": 3}, "--trajectories = 3", "at least 4"),
        ({"sobol_samples": 1}, "--sobol-samples = 1", "a power of two >= 64"),
        ({"sobol_samples": 32}, "--sobol-samples = 32", "a power of two >= 64"),
        ({"sobol_samples": 100}, "--sobol-samples = 100", "a power of two >= 64"),
        ({"sobol_top": 0}, "--sobol-top = 0", "at least 1"),
        ({"seed": -1}, "--seed = -1", ">= 0"),
    ],
)
def test_sizes_too_small_for_the_method_are_refused_before_any_evaluation(change, option, minimum):
    calls = []

    def model(over, design):
        calls.append(len(design))
        return additive(over, design)

    settings = dataclasses.replace(SETTINGS, **change)
    with pytest.raises(ConfigError) as err:
        sens.run_analysis(FACTORS, model, settings)
    message = str(err.value)
    assert option in message and minimum in message and "\n" not in message
    assert calls == []


def test_the_smallest_allowed_sizes_run():
    analysis = analyse(additive, sens.Settings(trajectories=4, sobol_top=2, sobol_samples=64))
    assert sorted(analysis.sobol["samples"].unique()) == [16, 32, 64]


# --- seeds ---


@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_identical_settings_give_identical_indices_and_intervals(seed):
    settings = sens.Settings(trajectories=10, sobol_top=3, sobol_samples=128, seed=seed)
    first, second = analyse(noisy, settings), analyse(noisy, settings)
    pd.testing.assert_frame_equal(first.indices, second.indices)
    sobol = first.sobol
    assert (sobol["ci_high"] > sobol["ci_low"]).all()  # real intervals, not zero-width


def test_every_seed_is_honoured_zero_included():
    runs = {seed: analyse(noisy, dataclasses.replace(SETTINGS, seed=seed)) for seed in (0, 1, 2)}
    intervals = {seed: a.sobol[["ci_low", "ci_high"]].to_numpy() for seed, a in runs.items()}
    assert not np.array_equal(intervals[0], intervals[1])
    assert not np.array_equal(intervals[1], intervals[2])
    assert not np.array_equal(intervals[0], intervals[2])


def test_salib_never_gets_seed_zero():
    seeds = {sens.salib_seed(seed, "sobol_bootstrap") for seed in range(200)}
    assert 0 not in seeds and len(seeds) == 200
    assert sens.salib_seed(0, "sobol_bootstrap") == sens.salib_seed(0, "sobol_bootstrap")


# --- convergence warnings, each provoked by a synthetic model ---


def test_a_well_behaved_model_gives_the_right_indices_and_no_warning():
    analysis = analyse(additive, sens.Settings(trajectories=10, sobol_top=3, sobol_samples=1024))
    final = analysis.sobol[analysis.sobol["samples"] == 1024].set_index(["parameter", "index"])["value"]
    assert final[("a", "ST")] == pytest.approx(0.8, abs=0.05)
    assert final[("b", "ST")] == pytest.approx(0.2, abs=0.05)
    assert final[("c", "ST")] == pytest.approx(0.0, abs=0.02)
    assert analysis.warnings == []


def test_wide_intervals_are_flagged():
    text = "\n".join(analyse(noisy, sens.Settings(trajectories=10, sobol_top=3, sobol_samples=64)).warnings)
    assert "interval wide" in text


def test_an_index_below_zero_beyond_its_interval_is_flagged():
    analysis = analyse(sign_flipped)
    row = analysis.sobol.query("samples == 256 and outcome == 'negative' and parameter == 'a' and index == 'S1'")
    assert row["ci_high"].item() < 0
    assert "negative/a S1" in "\n".join(w for w in analysis.warnings if "negative beyond its interval" in w)


def test_an_index_above_one_beyond_its_interval_is_flagged():
    analysis = analyse(sign_flipped)
    row = analysis.sobol.query("samples == 256 and outcome == 'above' and parameter == 'a' and index == 'ST'")
    assert row["ci_low"].item() > 1
    assert any(w.startswith("above/a ST") and "above 1 beyond its interval" in w for w in analysis.warnings)


def test_an_index_still_moving_with_n_is_flagged():
    text = "\n".join(analyse(drifting).warnings)
    assert "moved by" in text and "between N=128 and N=256" in text


@pytest.mark.parametrize("model", [constant, missing_at_a_point])
def test_an_outcome_that_does_not_vary_or_is_missing_has_undefined_indices_and_a_warning(model):
    analysis = analyse(model)
    assert analysis.sobol["value"].isna().all()
    assert any("not defined" in w for w in analysis.warnings)


# --- the cache: keyed by everything that decides a point ---


@pytest.fixture(scope="module")
def tiny_config():
    config = compose_config("population.n_patients=30", "run.replicates=1", "run.weeks=8")
    return dataclasses.replace(config, arms={a: config.arms[a] for a in ("coordinated", "fragmented")})


def test_cache_stores_every_outcome_of_the_care_model_and_reuses_it_for_other_outcomes(tiny_config, tmp_path):
    factors = sens.default_space(tiny_config)[:2]
    design = np.array([[f.low for f in factors], [f.high for f in factors]])
    first = sens.evaluate_design(tiny_config, factors, design, tmp_path, ["function_gap"])
    rows = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("*.json"))]
    assert len(rows) == 2 and all(set(r) == set(sens.OUTCOMES) for r in rows)
    again = sens.evaluate_design(tiny_config, factors, design, tmp_path, ["cost", "function_gap"])
    assert list(again.columns) == ["cost", "function_gap"] and again.notna().all().all()
    pd.testing.assert_series_equal(first["function_gap"], again["function_gap"])


def test_a_cached_point_missing_an_outcome_is_computed_again(tiny_config, tmp_path):
    factors = sens.default_space(tiny_config)[:2]
    design = np.array([[f.low for f in factors]])
    sens.evaluate_design(tiny_config, factors, design, tmp_path, ["cost"])
    (path,) = tmp_path.glob("*.json")
    path.write_text(json.dumps({"cost": 1.0}))  # written by code that knew fewer outcomes
    y = sens.evaluate_design(tiny_config, factors, design, tmp_path, ["cost", "disengaged_ever"])
    assert y.notna().all().all() and y.loc[0, "cost"] != 1.0
    assert set(json.loads(path.read_text())) == set(sens.OUTCOMES)


def test_the_cache_key_changes_with_the_config_and_the_point(tiny_config):
    factors = sens.default_space(tiny_config)[:2]
    point = np.array([f.low for f in factors])
    key = sens.point_key(tiny_config, factors, point)
    other_seed = dataclasses.replace(tiny_config, run=dataclasses.replace(tiny_config.run, seed=99))
    assert sens.point_key(other_seed, factors, point) != key
    assert sens.point_key(tiny_config, factors, point + 1e-9) != key
    assert sens.point_key(tiny_config, factors, point.copy()) == key


# --- the command, with a synthetic care model ---


def synthetic_experiment(config):
    """A stand-in for ``run_experiment``: per-arm outcomes that are fixed functions of a few parameters."""
    validation = config.arms["coordinated"].training_validation
    referral = config.arms["coordinated"].p_referral_per_visit
    severity = config.population.severity_mean
    patients = pd.DataFrame(
        {
            "arm": ["coordinated", "fragmented"],
            "function_final": [50 + 20 * validation - severity, 50 - severity],
            "symptoms_final": [severity - 5 * validation, severity],
            "disengaged_ever": [0.3 - 0.2 * validation, 0.3],
            "cost": [100 + 900 * referral + 10 * severity, 100 + 10 * severity],
        }
    )
    return types.SimpleNamespace(patients=patients)


ARGS = ["--trajectories", "4", "--sobol-top", "2", "--sobol-samples", "64", "--jobs", "1"]


@pytest.fixture
def synthetic(monkeypatch):
    calls = []

    def run(config):
        calls.append(1)
        return synthetic_experiment(config)

    monkeypatch.setattr(sens, "run_experiment", run)
    return calls


def test_command_writes_indices_with_intervals_and_resumes_from_its_cache(tmp_path, synthetic):
    out = tmp_path / "s"
    args = [*ARGS, "--outcomes", "function_gap", "cost", "--out", str(out)]
    assert sensitivity.main(args) == 0
    indices = pd.read_csv(out / "indices.csv")
    factors = pd.read_csv(out / "factors.csv")
    mu = indices[(indices["method"] == "morris") & (indices["index"] == "mu_star")]
    assert len(mu) == 2 * len(factors) and (mu["value"] >= 0).all()
    sobol = indices[indices["method"] == "sobol"]
    assert sorted(sobol["samples"].unique()) == [16, 32, 64] and sobol["value"].notna().all()
    top = set(sobol["parameter"])
    assert "arms.coordinated.training_validation" in top
    assert {n.split(".")[0] for n in factors["name"]} == {"arms", "workforce", "population"}
    assert (out / "sensitivity.png").stat().st_size > 0
    evaluated = len(synthetic)
    assert sensitivity.main(args) == 0  # everything comes from the cache
    assert len(synthetic) == evaluated
    pd.testing.assert_frame_equal(pd.read_csv(out / "indices.csv"), indices)


def test_the_same_command_run_afresh_writes_the_same_files(tmp_path, synthetic):
    for out in ("first", "second"):
        assert sensitivity.main([*ARGS, "--seed", "0", "--out", str(tmp_path / out)]) == 0
    for name in ("indices.csv", "factors.csv", "warnings.txt"):
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes(), name


def test_rerun_with_other_outcomes_has_no_missing_index(tmp_path, synthetic):
    out = tmp_path / "s"
    assert sensitivity.main([*ARGS, "--outcomes", "function_gap", "--out", str(out)]) == 0
    assert sensitivity.main([*ARGS, "--outcomes", "cost", "disengaged_ever", "--out", str(out)]) == 0
    indices = pd.read_csv(out / "indices.csv")
    assert set(indices["outcome"]) == {"cost", "disengaged_ever"}
    assert indices.loc[indices["index"] != "sigma", "value"].notna().all()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--trajectories", "1"], "--trajectories = 1 is not allowed; expected at least 4"),
        (["--sobol-samples", "1"], "--sobol-samples = 1 is not allowed; expected a power of two >= 64"),
        (["--sobol-samples", "96"], "--sobol-samples = 96 is not allowed"),
        (["--jobs", "0"], "--jobs = 0 is not allowed; expected at least 1"),
        (["--seed", "-3"], "--seed = -3 is not allowed"),
        (["--outcomes", "happiness"], "outcome 'happiness' is not allowed"),
    ],
)
def test_command_refuses_bad_settings_in_one_line_before_any_work(tmp_path, capsys, synthetic, args, message):
    out = tmp_path / "s"
    assert sensitivity.main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert synthetic == [] and not out.exists()


def test_help_names_the_folder_the_command_writes_to(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # argparse would wrap the folder name at its hyphen
    with pytest.raises(SystemExit):
        sensitivity.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "results/sensitivity/<settings-hash>" in text and "<timestamp>" not in text


def test_default_sizes_are_the_documented_converged_ones():
    defaults = sens.Settings()
    assert (defaults.sobol_top, defaults.sobol_samples) == (4, 256)
    defaults.check()


def test_replace_path_changes_one_value_of_a_frozen_tree(tiny_config):
    changed = sens.replace_path(tiny_config, "arms.coordinated.continuity", 0.11)
    assert sens.get_path(changed, "arms.coordinated.continuity") == 0.11
    assert tiny_config.arms["coordinated"].continuity != 0.11
    assert changed.arms["fragmented"] == tiny_config.arms["fragmented"]
