"""The judgement screen (experiments.screen): which judgement values, wrong by ±20%, swamp the headline."""

from __future__ import annotations

import dataclasses
import types

import numpy as np
import pandas as pd
import pytest

import sim.analysis.sensitivity as sens
from experiments import screen
from experiments.schema import compose_config
from sim.core.params import CALIBRATED, Config


def test_the_space_holds_judgement_values_only_each_within_20_percent_and_its_bounds():
    config = Config()
    factors = {f.name: f for f in sens.judgement_space(config)}
    meta = {f"mechanisms.{f.name}": f.metadata for f in dataclasses.fields(config.mechanisms)}
    assert factors, "no judgement value found"
    for name, factor in factors.items():
        value = float(sens.get_path(config, name))
        assert factor.low <= value <= factor.high
        assert factor.low >= 0.8 * value - 1e-12 and factor.high <= 1.2 * value + 1e-12
        if name in meta:
            assert meta[name]["source"].startswith("judgement")
            assert meta[name]["lo"] is None or factor.low >= meta[name]["lo"]
            assert meta[name]["hi"] is None or factor.high <= meta[name]["hi"]
    calibrated = {k for k, m in meta.items() if m["source"] == CALIBRATED}
    assert calibrated and not calibrated & set(factors)  # fitted values have their own uncertainty (posterior)
    assert "workforce.gp.validation" in factors


def test_the_design_moves_one_value_at_a_time():
    config = Config()
    factors = sens.judgement_space(config)[:5]
    design = sens.oat_design(config, factors)
    assert design.shape == (1 + 2 * len(factors), len(factors))
    changed = design[1:] != design[0]
    assert (changed.sum(axis=1) == 1).all()
    for j, f in enumerate(factors):
        assert design[1 + 2 * j, j] == f.low and design[2 + 2 * j, j] == f.high


def test_a_move_larger_than_the_outcome_is_flagged_and_a_small_one_is_not():
    factors = [sens.Factor("big", 0.8, 1.2), sens.Factor("small", 0.8, 1.2)]
    design = np.array([[1, 1], [0.8, 1], [1.2, 1], [1, 0.8], [1, 1.2]], dtype=float)
    y = pd.DataFrame({"gap": [2.0, -1.0, 4.5, 1.9, 2.1]})
    effects = sens.oat_effects(factors, design, y).set_index("parameter")
    assert effects.loc["big", "largest_move"] == pytest.approx(3.0)
    assert effects.loc["big", "ratio"] == pytest.approx(1.5) and effects.loc["big", "flagged"]
    assert effects.loc["small", "ratio"] == pytest.approx(0.05) and not effects.loc["small", "flagged"]
    assert list(effects.index) == ["big", "small"]  # largest first


def synthetic(config: Config) -> types.SimpleNamespace:
    """The gap rests on function_avoidance (judgement): 1 point at 25, 0.5 more per point of it."""
    gap = 1.0 + 0.5 * (config.mechanisms.function_avoidance - 25.0)
    patients = pd.DataFrame(
        {
            "arm": ["coordinated", "fragmented"],
            "function_final": [60.0 + gap, 60.0],
            "symptoms_final": [9.0, 10.0],
            "disengaged_ever": [0.2, 0.2],
            "cost": [100.0, 100.0],
        }
    )
    return types.SimpleNamespace(patients=patients)


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    monkeypatch.setattr(sens, "run_experiment", synthetic)
    monkeypatch.setattr(screen, "CACHE", tmp_path / "cache")


def test_the_command_flags_the_value_the_headline_rests_on(tmp_path, tiny, capsys):
    out = tmp_path / "screen"
    assert screen.main(["--jobs", "1", "--patients", "50", "--replicates", "1", "--out", str(out)]) == 0
    effects = pd.read_csv(out / "screen.csv")
    gap = effects[effects["outcome"] == "function_gap"]
    assert set(gap.loc[gap["flagged"], "parameter"]) == {"mechanisms.function_avoidance"}
    assert effects.loc[effects["outcome"] == "symptoms_gap", "flagged"].sum() == 0
    assert (out / "screen.png").stat().st_size > 0 and (out / "manifest.json").exists()
    assert "function_gap: 1.000 at the defaults; 1 flagged" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--spread", "1.5"], "--spread = 1.5 is not allowed; expected 0 < spread < 1"),
        (["--jobs", "0"], "--jobs = 0 is not allowed; expected at least 1"),
        (["--outcomes", "joy"], "--outcomes 'joy' is not allowed"),
    ],
)
def test_bad_settings_are_refused_in_one_line_before_any_work(tmp_path, tiny, capsys, args, message):
    out = tmp_path / "screen"
    assert screen.main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists() and not (tmp_path / "cache").exists()


def test_the_default_experiment_has_the_two_arms_the_screen_compares():
    assert {"coordinated", "fragmented"} <= set(compose_config("experiment=compare_care_models").arms)
