"""Collect the runs of a sweep into tidy tables, with the swept parameters as columns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .experiment import OUTCOMES


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and not all(isinstance(v, (int, float)) for v in value.values()):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value if not isinstance(value, dict) else yaml.safe_dump(value).strip()
    return flat


def run_folders(sweep: Path) -> list[Path]:
    """Finished runs under a sweep folder (those with a manifest), in job order."""
    folders = [m.parent for m in Path(sweep).glob("*/manifest.json")]
    return sorted(folders, key=lambda f: (not f.name.isdigit(), int(f.name) if f.name.isdigit() else 0, f.name))


def collect(sweep: Path) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Every finished run of a sweep in two tidy tables.

    Returns:
        ``runs``: one row per run x arm, with the swept parameters as columns,
        then each outcome's mean over patients and replicates; ``weekly``: the
        weekly series of every run, with the same swept columns; and the names
        of the swept parameters (config keys whose values differ between runs,
        ``run.seed`` included when it was swept).
    """
    folders = run_folders(sweep)
    if not folders:
        raise FileNotFoundError(f"no finished runs (folders with manifest.json) under {sweep}")
    configs = {f: _flatten(yaml.safe_load((f / "config.yaml").read_text())) for f in folders}
    keys = sorted(set().union(*(c.keys() for c in configs.values())))
    swept = [k for k in keys if len({repr(c.get(k)) for c in configs.values()}) > 1]
    runs, weekly = [], []
    for folder in folders:
        keys_of_run = {"run": folder.name, **{k: configs[folder].get(k) for k in swept}}
        patients = pd.read_parquet(folder / "patients.parquet")
        outcomes = [o for o in OUTCOMES if o in patients.columns]
        by_arm = patients.groupby("arm", sort=False)[outcomes].mean(numeric_only=False).astype(float).reset_index()
        runs.append(by_arm.assign(**keys_of_run))
        weekly.append(pd.read_parquet(folder / "weekly.parquet").assign(**keys_of_run))
    order = ["run", *swept, "arm"]
    runs_df = pd.concat(runs, ignore_index=True)
    weekly_df = pd.concat(weekly, ignore_index=True)
    runs_df = runs_df[order + [c for c in runs_df.columns if c not in order]]
    weekly_df = weekly_df[["run", *swept] + [c for c in weekly_df.columns if c not in ["run", *swept]]]
    return runs_df, weekly_df, swept
