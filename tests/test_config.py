"""Bad configuration fails at start, naming the key, the value and what is allowed; nothing is written."""

from __future__ import annotations

import pytest
from conftest import compose_config, main_job

from sim.core.params import Config, ConfigError, PopulationParams, ServiceParams, from_dict, validate


@pytest.mark.parametrize(
    ("override", "key", "value", "allowed"),
    [
        ("arms.fragmented.continuity=1.5", "arms.fragmented.continuity", "1.5", "a probability in [0, 1]"),
        ("population.n_patients=-5", "population.n_patients", "-5", "a whole number in [1, 10000000]"),
        ("run.weeks=0", "run.weeks", "0", "a whole number in [1, 5200]"),
        ("population.cohort=sometimes", "population.cohort", "sometimes", "one of closed, open"),
        ("mechanisms.flare_per_week=-0.1", "mechanisms.flare_per_week", "-0.1", "a number in [0, 5]"),
        ("mechanisms.dropout_trust=50", "mechanisms.dropout_trust", "50", "a number in [0, 10]"),
        ("costs.visit.gp=-1", "costs.visit.gp", "-1", "a number in [0, 1e+06]"),
        ("+arms.fragmented.continuty=0.5", "arms.fragmented.continuty", "0.5", "a key of ServiceParams"),
        (
            "population.cultural_group_shares.majority=0.5",
            "population.cultural_group_shares",
            "",
            "summing to 1",
        ),
        ("+costs.visit.surgeon=10", "costs.visit.surgeon", "10", "a key among gp, specialist"),
    ],
)
def test_range_and_key_errors_name_key_value_and_what_is_allowed(override, key, value, allowed):
    with pytest.raises(ConfigError) as err:
        compose_config(override)
    message = str(err.value)
    assert key in message and value in message and allowed in message


@pytest.mark.parametrize(
    ("override", "key", "allowed"),
    [
        ("arms.fragmented.continuity=high", "arms.fragmented.continuity = 'high'", "a probability in [0, 1]"),
        ("population.n_patients=12.5", "population.n_patients = 12.5", "a whole number in [1, 10000000]"),
        ("run.trajectories=maybe", "run.trajectories = 'maybe'", "true or false"),
        ("arms.coordinated.stepping=2", "arms.coordinated.stepping = 2", "true or false"),
        ("run.bogus=1", "run.bogus = 1", "a key of RunParams"),
        ("run=5", "run = 5", "a mapping of RunParams keys"),
        ("population=nope", "population = nope", "one of default, diverse, open_cohort, small"),
    ],
)
def test_type_errors_and_unknown_keys_are_one_line_config_errors(override, key, allowed):
    with pytest.raises(ConfigError) as err:
        compose_config(override)
    message = str(err.value)
    assert "\n" not in message and message.startswith("config error: ")
    assert key in message and allowed in message


def test_validate_accepts_defaults_and_presets():
    validate(compose_config())
    validate(from_dict(Config, {"arms": {"a": {}}, "run": {"reference_arm": "a"}}))


def test_from_dict_rejects_unknown_keys_in_plain_python():
    with pytest.raises(ConfigError, match=r"population\.n_patiens"):
        from_dict(Config, {"population": {"n_patiens": 10}, "arms": {"a": {}}})
    with pytest.raises(ConfigError, match="a probability"):
        validate(ServiceParams(continuity=2.0))
    with pytest.raises(ConfigError, match="n_patients"):
        validate(PopulationParams(n_patients=0))


def test_command_line_error_exits_before_any_output(tmp_path):
    existing = tmp_path / "results" / "compare_care_models" / "earlier"
    existing.mkdir(parents=True)
    (existing / "weekly.parquet").write_bytes(b"keep me")
    proc = main_job("arms.fragmented.continuity=1.5", f"hydra.run.dir={tmp_path}/results/compare_care_models/new")
    assert proc.returncode == 2
    assert "arms.fragmented.continuity = 1.5" in proc.stderr and "[0, 1]" in proc.stderr
    assert not (tmp_path / "results" / "compare_care_models" / "new").exists()
    assert (existing / "weekly.parquet").read_bytes() == b"keep me"


def _float_fields_hold_floats(obj, path=""):
    import dataclasses
    import typing

    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        value, key = getattr(obj, f.name), f"{path}{f.name}"
        if dataclasses.is_dataclass(value):
            yield from _float_fields_hold_floats(value, f"{key}.")
        elif f.name == "arms":
            for arm, service in value.items():
                yield from _float_fields_hold_floats(service, f"{key}.{arm}.")
        elif hints[f.name] is float:
            yield key, type(value) is float
        elif hints[f.name] == dict[str, float]:
            yield key, all(type(v) is float for v in value.values())


@pytest.mark.parametrize(
    "preset", ["experiment=compare_care_models", "experiment=coordination_sweep", "population=diverse"]
)
def test_whole_numbers_for_real_valued_keys_are_stored_as_floats(preset):
    """config.yaml and the resume hash must not depend on whether 6 or 6.0 was typed."""
    config = compose_config(
        preset,
        "population.arrivals_per_week=3",
        "costs.visit.gp=40",
        "workforce.cultural_group_shares={a:1}",
        "arms.coordinated.followup_interval_weeks=6",
    )
    wrong = [key for key, ok in _float_fields_hold_floats(config) if not ok]
    assert wrong == []
