"""Mediation (issue #13 item 4): each channel really switches its mechanism off, shares are computed as
declared, and ``python -m experiments.mediate`` writes complete, reproducible results."""

from __future__ import annotations

import dataclasses
import filecmp
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, compose_config
from scipy import stats

from experiments import mediate
from sim.analysis.experiment import run_arm
from sim.analysis.mediation import (
    CHANNELS,
    FULL,
    MEDIATED_OUTCOMES,
    active_parts,
    largest_share,
    summarise,
    switch_off,
    two_arms,
)
from sim.core.params import Config, to_dict
from sim.engine.metrics import patient_table

COMPARED = "coordinated"


@pytest.fixture(scope="module")
def default_pair() -> Config:
    """The default experiment's coordinated and fragmented arms, at default parameters."""
    return two_arms(compose_config(), COMPARED)


def _leaves(tree: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_leaves(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


@pytest.mark.parametrize("channel", CHANNELS, ids=lambda c: c.name)
def test_a_channel_is_on_in_the_default_and_off_in_its_run_and_nothing_else_changes(default_pair, channel):
    off = switch_off(default_pair, channel)
    ref = default_pair.run.reference_arm
    for name in channel.mechanisms:
        assert getattr(default_pair.mechanisms, name) != 0, name
        assert getattr(off.mechanisms, name) == 0, name
    for name in channel.service_off:
        assert any(getattr(s, name) != 0 for s in default_pair.arms.values()), name
        assert all(getattr(s, name) == 0 for s in off.arms.values()), name
    for name in channel.service_shared:
        assert getattr(default_pair.arms[COMPARED], name) != getattr(default_pair.arms[ref], name), name
        assert {getattr(s, name) for s in off.arms.values()} == {getattr(default_pair.arms[ref], name)}, name
    # Exactly the declared parameters move, and every one of them does.
    before, after = _leaves(to_dict(default_pair)), _leaves(to_dict(off))
    changed = {k.split(".")[-1] for k in before if before[k] != after[k]}
    assert changed == {*channel.mechanisms, *channel.service_off, *channel.service_shared}
    assert active_parts(default_pair, COMPARED, channel) and not active_parts(off, COMPARED, channel)


def test_channels_have_distinct_names_and_cite_mechanisms():
    assert len({c.name for c in CHANNELS}) == len(CHANNELS)
    for channel in CHANNELS:
        assert channel.m_ids and all(m.startswith("M") and m[1:].isdigit() for m in channel.m_ids), channel.name
        assert channel.mechanisms or channel.service_off or channel.service_shared, channel.name


@pytest.mark.parametrize("channel", CHANNELS, ids=lambda c: c.name)
def test_switching_a_channel_off_changes_what_the_model_does(channel):
    config = two_arms(
        compose_config("population=small", "population.n_patients=150", "run.replicates=1", "run.weeks=40"), COMPARED
    )
    full = patient_table(run_arm(config, COMPARED, 0))
    off = patient_table(run_arm(switch_off(config, channel), COMPARED, 0))
    # Same patients (common random numbers), different course: the switched parameters reach the model.
    pd.testing.assert_series_equal(full["symptoms_baseline"], off["symptoms_baseline"])
    outcomes = ["function_final", "symptoms_final", "trust_final", "alliance_final"]
    assert not full[outcomes].equals(off[outcomes]), channel.name


def _hand_made() -> pd.DataFrame:
    rows = []
    full = {"function_final": [2.0, 4.0, 3.0, 0.0], "symptoms_final": [-1.0, -2.0, -1.5, -1.0]}
    off = {"function_final": [1.0, 1.0, 1.5, 0.5], "symptoms_final": [-0.5, -2.0, 0.5, -1.0]}
    for channel, values in ((FULL, full), ("contact", off)):
        for outcome, diffs in values.items():
            rows += [{"channel": channel, "outcome": outcome, "replicate": r, "diff": d} for r, d in enumerate(diffs)]
    return pd.DataFrame(rows)


def _t(values: list[float]) -> tuple[float, float, float]:
    a = np.asarray(values)
    half = stats.t.ppf(0.975, a.size - 1) * a.std(ddof=1) / np.sqrt(a.size)
    return a.mean(), a.mean() - half, a.mean() + half


def test_shares_are_one_minus_off_over_full_per_replicate_then_a_t_interval():
    table = summarise(_hand_made()).set_index(["channel", "outcome"])
    assert list(table.index) == [(FULL, o) for o in MEDIATED_OUTCOMES] + [("contact", o) for o in MEDIATED_OUTCOMES]
    # Functioning: replicate 3 has no full difference, so its share is undefined and left out.
    row = table.loc[("contact", "function_final")]
    np.testing.assert_allclose(row[["share_mean", "share_low", "share_high"]].astype(float), _t([0.5, 0.75, 0.5]))
    np.testing.assert_allclose(row[["diff_mean", "diff_low", "diff_high"]].astype(float), _t([1.0, 1.0, 1.5, 0.5]))
    assert row["replicates"] == 4
    # Symptoms: the channel carries half, none, more than all (the difference reverses), none.
    row = table.loc[("contact", "symptoms_final")]
    np.testing.assert_allclose(
        row[["share_mean", "share_low", "share_high"]].astype(float), _t([0.5, 0.0, 4.0 / 3.0, 0.0])
    )
    full = table.loc[(FULL, "symptoms_final")]
    np.testing.assert_allclose(full[["diff_mean", "diff_low", "diff_high"]].astype(float), _t([-1.0, -2.0, -1.5, -1.0]))
    assert full[["share_mean", "share_low", "share_high"]].astype(float).isna().all()
    assert table.loc[("contact", "symptoms_final"), "m_ids"] == "M8"


def test_the_largest_share_is_named():
    table = summarise(_hand_made())
    table.loc[len(table)] = {**table.iloc[-1].to_dict(), "channel": "avoidance", "share_mean": 0.9}
    assert largest_share(table, "symptoms_final") == "avoidance"
    assert largest_share(table, "function_final") == "contact"


def test_the_verdict_names_the_leader_and_says_when_its_lead_is_not_settled():
    from sim.outputs.mediation import verdict

    table = summarise(_hand_made())
    extra = {**table.iloc[-1].to_dict(), "channel": "self_management"}
    table.loc[len(table)] = {**extra, "share_mean": 5.0, "share_low": 4.5, "share_high": 5.5}
    text = verdict(table)
    assert text.startswith("self_management carries the largest share of the difference in symptoms")
    assert "next is contact" in text and "not settled" not in text
    table.loc[len(table) - 1, ["share_low", "share_high"]] = [-10.0, 10.0]  # a lead no wider than the noise
    assert "the intervals of self_management and contact overlap" in verdict(table)
    table.loc[len(table) - 1, ["share_mean", "share_low", "share_high"]] = [0.1, 0.0, 0.2]
    assert verdict(table).startswith("self_management does not carry the largest share")


TINY = ["population=small", "population.n_patients=80", "run.replicates=2", "run.weeks=12"]


def test_the_command_writes_every_file_and_the_same_seed_gives_the_same_files(tmp_path):
    argv = [*TINY, "--channels", "self_management,continuity", "run.jobs=2"]
    first = tmp_path / "a"
    assert mediate.main([*argv, "--out", str(first)]) == 0
    table = pd.read_csv(first / "mediation.csv")
    assert list(dict.fromkeys(table["channel"])) == [FULL, "self_management", "continuity"]
    assert set(table["outcome"]) == set(MEDIATED_OUTCOMES) and (table["replicates"] == 2).all()
    assert {"diff_mean", "diff_low", "diff_high", "share_mean", "share_low", "share_high"} <= set(table.columns)
    assert set(table["arm"]) == {COMPARED} and set(table["reference"]) == {"fragmented"}
    assert (first / "mediation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from test_report import Tables

    from sim.analysis.experiment import with_interval

    page = Tables()
    page.feed((first / "report.html").read_text())
    shown = page.tables["mediation"]
    # For a board: channels under their labels, one header row, nothing outside the page named.
    assert [r[0] for r in shown[1:]] == list(dict.fromkeys(table["label"]))
    assert "channel" not in shown[0] and all(len(r) == len(shown[0]) for r in shown)
    assert "docs/" not in " ".join(page.text) and "self_management" not in " ".join(page.text)
    # The report prints the table's numbers: the full difference and each share, with their intervals.
    for r, (channel, part) in zip(shown[1:], table.groupby("channel", sort=False), strict=True):
        fun, sym = (part[part["outcome"] == o].iloc[0] for o in ("function_final", "symptoms_final"))
        assert r[2] == with_interval(fun["diff_mean"], fun["diff_low"], fun["diff_high"], signed=True), channel
        if channel != FULL:
            assert r[5] == with_interval(sym["share_mean"], sym["share_low"], sym["share_high"]), channel
    assert "self_management" in (first / "mediation.md").read_text()
    manifest = json.loads((first / "manifest.json").read_text())
    assert "--channels=self_management,continuity" in manifest["overrides"]
    # The full model's own results are those of an ordinary two-arm experiment.
    summary = pd.read_csv(first / "summary.csv")
    assert set(summary["arm"]) == {COMPARED, "fragmented"}
    full = table[(table["channel"] == FULL) & (table["outcome"] == "function_final")].iloc[0]
    row = summary[(summary["outcome"] == "function_final") & (summary["contrast"] == "vs fragmented")].iloc[0]
    assert full["diff_mean"] == pytest.approx(row["mean"], rel=1e-9)

    second = tmp_path / "b"
    assert mediate.main([*argv, "--out", str(second)]) == 0
    names = sorted(p.name for p in first.iterdir() if p.is_file())
    assert names == sorted(p.name for p in second.iterdir() if p.is_file())
    for name in names:
        assert filecmp.cmp(first / name, second / name, shallow=False), name
    # One process or two: the same numbers (only the recorded run.jobs differs).
    serial = tmp_path / "c"
    assert mediate.main([*argv, "run.jobs=1", "--out", str(serial)]) == 0
    for name in ("mediation.csv", "mediation_replicates.csv", "mediation.png"):
        assert filecmp.cmp(first / name, serial / name, shallow=False), name


def test_a_channel_already_off_in_the_config_is_refused(default_pair):
    from sim.analysis.mediation import check_channels
    from sim.core.params import ConfigError

    contact = next(c for c in CHANNELS if c.name == "contact")
    with pytest.raises(ConfigError, match=r"mechanisms\.contact_recovery_per_week = 0\.0 is not allowed with channel"):
        check_channels(switch_off(default_pair, contact), COMPARED, [contact])
    # One coefficient of a channel at 0 leaves the rest to switch off: accepted.
    partly = dataclasses.replace(
        default_pair, mechanisms=dataclasses.replace(default_pair.mechanisms, recovery_per_week=0.0)
    )
    check_channels(partly, COMPARED)


def test_the_command_line_refuses_bad_input_in_one_line_with_exit_2_and_no_folder(tmp_path):
    out = tmp_path / "results" / "mediation"
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.mediate", "--arm", "nope", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "config error: --arm = 'nope' is not allowed; expected an arm compared with fragmented: coordinated, stepped"
    ]
    assert not (tmp_path / "results").exists()


def test_a_killed_mediation_leaves_no_folder_under_its_final_name(tmp_path):
    from test_crash_safety import kill_at

    from sim.core.files import complete_folders

    out = tmp_path / "mediation"
    cmd = [sys.executable, "-m", "experiments.mediate", *TINY, "--channels", "contact", "--out", str(out)]
    kill_at(cmd, "before_rename")  # every file written, the folder not yet renamed
    assert not out.exists()
    assert [p.name.startswith(".mediation.tmp-") for p in tmp_path.iterdir()] == [True]
    assert complete_folders(tmp_path, "manifest.json") == []
