"""Collect the complete runs of a sweep into tidy tables, one column per swept key.

The swept keys are read from each run's own command-line overrides (recorded
in its manifest), so a sweep over ``arms.coordinated.continuity`` gives a
numeric ``arms.coordinated.continuity`` column, whatever else the arm holds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..core.files import complete_folders
from .experiment import OUTCOMES

MANIFEST = "manifest.json"
"""Written last into every run folder: a folder holding it under a final name is a complete run."""

DIFF_SUFFIX = "_diff"
"""Suffix of the columns holding each arm's paired difference from the reference arm."""


def complete_runs(folder: Path) -> list[Path]:
    """The complete runs directly under ``folder`` (e.g. a sweep's jobs), in job order.

    A launcher's empty job folder and a killed run's hidden temporary folder
    are not runs (see :func:`sim.core.files.complete_folders`).
    """
    folders = complete_folders(folder, MANIFEST)
    return sorted(folders, key=lambda f: (not f.name.isdigit(), int(f.name) if f.name.isdigit() else 0, f.name))


def read_manifest(run: Path) -> dict[str, Any]:
    """The manifest of a complete run."""
    return json.loads((Path(run) / MANIFEST).read_text())


def override_value(text: str) -> Any:
    """A command-line override's value as Hydra reads it: bool, null, int, float, else text."""
    word = text.strip()
    if word.lower() in ("true", "false"):
        return word.lower() == "true"
    if word.lower() == "null":
        return None
    for kind in (int, float):
        try:
            return kind(word)
        except ValueError:
            pass
    return word.strip("'\"")


def override_values(overrides: list[str]) -> dict[str, Any]:
    """``key=value`` overrides as ``{key: value}``; ``+``/``~`` prefixes dropped, deletions skipped."""
    values: dict[str, Any] = {}
    for override in overrides:
        key, sep, value = override.partition("=")
        if sep:
            values[key.lstrip("+~")] = override_value(value)
    return values


def reference_arm(config: dict[str, Any]) -> str:
    """The reference arm of a run's config.yaml: ``run.reference_arm`` if present, else the first arm."""
    arms = list(config["arms"])
    wanted = config.get("run", {}).get("reference_arm")
    return wanted if wanted in arms else arms[0]


def run_outcomes(patients: pd.DataFrame, reference: str) -> pd.DataFrame:
    """One row per arm: each outcome's mean, and its paired difference from ``reference``.

    Means are over patients within a replicate, then over replicates (as in
    summary.csv); differences pair each arm with the reference arm of the same
    replicate (same seeds), then average over replicates.
    """
    outcomes = [o for o in OUTCOMES if o in patients.columns]
    per_replicate = patients[outcomes].astype(float).groupby([patients["arm"], patients["replicate"]], sort=False)
    means = per_replicate.mean()
    diffs = means.sub(means.xs(reference, level="arm"), level="replicate")
    levels = means.groupby(level="arm", sort=False).mean()
    paired = diffs.groupby(level="arm", sort=False).mean().add_suffix(DIFF_SUFFIX)
    return levels.join(paired).reset_index().assign(reference_arm=reference)


def collect(sweep: Path) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Every complete run of a sweep, once, in two tidy tables.

    Runs with the same config (seed included) are the same job: only the
    first is kept.

    Returns:
        ``runs``: one row per run x arm: ``run``, the swept keys, ``arm``,
        ``reference_arm``, each outcome's mean, then each outcome's paired
        difference from the reference arm (``<outcome>_diff``); ``weekly``:
        the weekly series of every run, with ``run`` and the swept keys; and
        the swept keys (keys of the runs' overrides whose values differ
        between runs, ``run.seed`` included when it was swept).
    """
    runs_found = complete_runs(sweep)
    if not runs_found:
        raise FileNotFoundError(f"no complete runs (folders with {MANIFEST}) under {sweep}")
    manifests: dict[Path, dict[str, Any]] = {}
    hashes: set[str] = set()
    for run in runs_found:
        manifest = read_manifest(run)
        if manifest.get("config_hash") not in hashes:
            hashes.add(manifest.get("config_hash"))
            manifests[run] = manifest
    values = {run: override_values(m.get("overrides", [])) for run, m in manifests.items()}
    keys = list(dict.fromkeys(k for v in values.values() for k in v))
    swept = [k for k in keys if len({repr(v.get(k)) for v in values.values()}) > 1]
    runs, weekly = [], []
    for run in manifests:
        keys_of_run = {"run": run.name, **{k: values[run].get(k) for k in swept}}
        config = yaml.safe_load((run / "config.yaml").read_text())
        outcomes = run_outcomes(pd.read_parquet(run / "patients.parquet"), reference_arm(config))
        runs.append(outcomes.assign(**keys_of_run))
        weekly.append(pd.read_parquet(run / "weekly.parquet").assign(**keys_of_run))
    order = ["run", *swept, "arm", "reference_arm"]
    runs_df = pd.concat(runs, ignore_index=True)
    weekly_df = pd.concat(weekly, ignore_index=True)
    runs_df = runs_df[order + [c for c in runs_df.columns if c not in order]]
    weekly_df = weekly_df[["run", *swept] + [c for c in weekly_df.columns if c not in ["run", *swept]]]
    return runs_df, weekly_df, swept
