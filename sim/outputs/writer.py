"""Write an experiment's results: all files appear together or not at all.

Everything is written into ``<dir>.partial`` and renamed to ``<dir>`` at the
end, so an interrupted run never leaves a folder that looks complete, and an
existing, non-empty results folder is never written into.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from ..analysis.experiment import ExperimentResult
from ..core.params import Config, to_dict

PACKAGES = ("mesa", "numpy", "pandas", "scipy", "pyarrow", "seaborn", "matplotlib", "hydra-core", "omegaconf")


def versions() -> dict[str, Any]:
    """Python, platform, package versions and git commit, for the manifest."""
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": found,
        "git": git_commit(),
    }


def git_commit() -> str | None:
    """The commit of the working tree this package runs from (with ``+dirty``), if any."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")


def config_hash(config: Config) -> str:
    """Hash of a resolved config (seed included): the key of a finished run."""
    text = json.dumps(to_dict(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def finished_run(folder: Path, config: Config) -> Path | None:
    """A complete run of this exact config among the run folders under ``folder``, if any."""
    key = config_hash(config)
    for manifest in sorted(Path(folder).glob("*/manifest.json")):
        try:
            if json.loads(manifest.read_text()).get("config_hash") == key:
                return manifest.parent
        except (OSError, ValueError):
            continue
    return None


def free_directory(target: Path) -> Path:
    """``target`` if it is absent or empty, else the first ``target_N`` that is."""
    candidate, n = target, 1
    while candidate.exists() and any(candidate.iterdir()):
        candidate = target.with_name(f"{target.name}_{n}")
        n += 1
    return candidate


def write_results(
    result: ExperimentResult,
    target: Path,
    overrides: list[str] | None = None,
    extra_files: dict[str, str] | None = None,
) -> Path:
    """Write config, seeds, versions, tables and figures into ``target`` atomically.

    Args:
        result: What :func:`sim.analysis.experiment.run_experiment` returned.
        target: The results folder to create (if it exists it must be empty;
            otherwise a free sibling name is used).
        overrides: Command-line overrides, recorded in the manifest.
        extra_files: More text files to write alongside (name -> content).

    Returns:
        The folder the results were written to.
    """
    from .plots import standard_figures  # matplotlib only when writing
    from .report import build_report

    target = free_directory(Path(target))
    partial = target.with_name(target.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    try:
        with open(partial / "config.yaml", "w") as fh:
            yaml.safe_dump(to_dict(result.config), fh, sort_keys=False)
        manifest = {
            "experiment": result.config.experiment,
            "config_hash": config_hash(result.config),
            "cohort": result.config.population.cohort,
            "base_seed": result.config.run.seed,
            "replicate_seeds": {str(r): s for r, s in result.seeds.items()},
            "overrides": overrides or [],
            **versions(),
        }
        with open(partial / "manifest.json", "w") as fh:
            json.dump(manifest, fh, indent=2)
        result.weekly.to_parquet(partial / "weekly.parquet", index=False)
        result.patients.to_parquet(partial / "patients.parquet", index=False)
        if result.trajectories is not None:
            result.trajectories.to_parquet(partial / "trajectories.parquet", index=False)
        result.summary.to_csv(partial / "summary.csv", index=False)
        if result.config.run.figures:
            standard_figures(result.weekly, partial / "figures")
            (partial / "report.html").write_text(build_report(result, partial / "figures"))
        for name, text in (extra_files or {}).items():
            (partial / name).write_text(text)
        if target.exists():
            target.rmdir()  # empty (e.g. made by Hydra); replaced by the finished folder
        os.replace(partial, target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return target
