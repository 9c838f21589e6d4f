"""Fuzz: random bad overrides drawn from the schema are refused in one line naming the key, with nothing written.

The 200 examples run the real checks in process (compose, ``to_config`` and
the pre-work checks of ``experiments.run.preflight``) so they stay fast; a few
go through the real command line to prove the exit status, the single line
and the empty results folder.
"""

from __future__ import annotations

import dataclasses
import math
import typing

import pytest
from conftest import main_job
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiments import run
from sim.core.params import Config, ConfigError, ServiceParams

ARMS = ("coordinated", "fragmented", "stepped")


def leaves(cls: type, prefix: str) -> list[tuple[str, dataclasses.Field, typing.Any]]:
    """Every leaf field under ``cls`` as (dotted key, field, type hint)."""
    out = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(hints[f.name]):
            out += leaves(hints[f.name], f"{key}.")
        elif f.name != "arms":
            out.append((key, f, hints[f.name]))
    return out


FIELDS = [leaf for leaf in leaves(Config, "") if leaf[0] not in ("experiment", "run.reference_arm")]
FIELDS += [(f"arms.{arm}.{k}", f, h) for arm in ARMS for k, f, h in leaves(ServiceParams, "")]
NUMERIC = [leaf for leaf in FIELDS if "lo" in leaf[1].metadata and "keys" not in leaf[1].metadata]
BOUNDED = [leaf for leaf in NUMERIC if leaf[1].metadata["hi"] is not None]
INTS = [leaf for leaf in NUMERIC if leaf[2] is int]
FLAGS = [leaf for leaf in FIELDS if leaf[2] is bool]


@st.composite
def bad_override(draw) -> tuple[str, str]:
    """One override the schema must refuse, and the key the error must name."""
    kind = draw(st.sampled_from(["type", "below", "above", "unknown", "nonfinite", "huge", "flag", "fraction"]))
    if kind == "type":
        key, _, _ = draw(st.sampled_from(NUMERIC))
        word = draw(st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True).filter(lambda w: w not in ("null", "true")))
        return f"{key}={word}", key
    if kind == "below":
        key, f, _ = draw(st.sampled_from([leaf for leaf in NUMERIC if leaf[1].metadata["lo"] is not None]))
        lo = f.metadata["lo"]
        value = draw(st.integers(min_value=-(10**6), max_value=math.floor(lo) - 1))
        return f"{key}={value}", key
    if kind == "above":
        key, f, _ = draw(st.sampled_from(BOUNDED))
        hi = f.metadata["hi"]
        value = draw(st.integers(min_value=int(hi) + 1, max_value=int(hi) * 1000 + 10))
        return f"{key}={value}", key
    if kind == "unknown":
        group = draw(st.sampled_from(["run", "population", "workforce.gp", "mechanisms", "arms.coordinated"]))
        name = draw(st.from_regex(r"zz[a-z_]{1,10}", fullmatch=True))
        return f"{group}.{name}=1", f"{group}.{name}"
    if kind == "nonfinite":
        key, _, _ = draw(st.sampled_from(NUMERIC))
        return f"{key}={draw(st.sampled_from(['nan', 'inf', '-inf']))}", key
    if kind == "huge":
        return f"population.n_patients={draw(st.integers(min_value=10**9, max_value=10**15))}", "population.n_patients"
    if kind == "flag":
        key, _, _ = draw(st.sampled_from(FLAGS))
        return f"{key}={draw(st.sampled_from(['2', '-1', '0.5', 'maybe', 'yes_please']))}", key
    key, _, _ = draw(st.sampled_from(INTS))
    return f"{key}={draw(st.integers(min_value=1, max_value=99))}.5", key


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bad_override())
def test_random_bad_override_is_one_line_naming_the_key(tmp_path_factory, case):
    override, key = case
    out = tmp_path_factory.mktemp("fuzz") / "results"
    with pytest.raises(ConfigError) as err:
        run.preflight([override, f"hydra.run.dir={out}"])
    message = str(err.value)
    assert message.startswith("config error: ") and "\n" not in message
    assert f"{key} = " in message
    assert not out.exists()


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("mechanisms.bond_gain=nan", "mechanisms.bond_gain"),
        ("arms.stepped.review_interval_weeks=0", "arms.stepped.review_interval_weeks"),
        ("run.zzbogus=3", "run.zzbogus"),
        ("population.n_patients=100000000000000", "population.n_patients"),
    ],
)
def test_bad_override_on_the_real_command_line(tmp_path, override, key):
    proc = main_job(override, f"hydra.run.dir={tmp_path}/results/run")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{key} = " in lines[0]
    assert not (tmp_path / "results").exists()
