"""Write an experiment's results: all files appear together or not at all.

The experiment-specific content (config.yaml, tables, figures, report, and
manifest.json last, which marks a run complete) goes into a private temporary
folder that :class:`sim.core.files.StagedFolder` publishes under the run's name
by one atomic rename. An interrupted run never leaves a folder that looks
complete, and an existing, non-empty results folder is never written into.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import subprocess
import sys
from contextlib import ExitStack
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..analysis.capacity import capacity_warnings
from ..analysis.experiment import ExperimentResult, in_background
from ..analysis.sweeps import MANIFEST, complete_runs
from ..core.files import StagedFolder, pause_point
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
    for run in complete_runs(folder):
        try:
            if json.loads((run / MANIFEST).read_text()).get("config_hash") == key:
                return run
        except (OSError, ValueError):
            continue
    return None


def _standard_figures(weekly: pd.DataFrame, figures: Path) -> None:
    from .plots import standard_figures

    standard_figures(weekly, figures)


def _report_figures(result: ExperimentResult, drawn: Path) -> None:
    from .report import report_figures

    report_figures(result, drawn)


def write_results(
    result: ExperimentResult,
    target: Path,
    overrides: list[str] | None = None,
    extra_files: dict[str, str] | None = None,
) -> Path:
    """Write config, seeds, versions, tables and figures as one complete folder.

    Args:
        result: What :func:`sim.analysis.experiment.run_experiment` returned.
        target: The results folder to create (if it exists it must be empty;
            otherwise the first free sibling ``<target>_N`` is used).
        overrides: Command-line overrides, recorded in the manifest.
        extra_files: More text files to write alongside (name -> content).

    Returns:
        The folder the results were written to.
    """
    from .report import build_report

    with StagedFolder(Path(target)) as stage, ExitStack() as drawing:
        staged = stage.path
        if result.config.run.figures:
            # The figures are drawn in two more processes (the standard ones; the report's own) while this
            # one writes the tables and builds the report's tables; the report waits for them only to embed
            # them. This process needs no matplotlib (the command line loads it while the runs go on,
            # so the figure processes start with it).
            figures = staged / "figures"
            drawn = staged / ".report-figures"  # the report's own figures, until embedded
            standard_drawn = drawing.enter_context(in_background(_standard_figures, result.weekly, figures))
            report_drawn = drawing.enter_context(in_background(_report_figures, result, drawn))
        with open(staged / "config.yaml", "w") as fh:
            yaml.safe_dump(to_dict(result.config), fh, sort_keys=False)
        pause_point("before_tables")
        result.weekly.to_parquet(staged / "weekly.parquet", index=False)
        pause_point("between_tables")
        result.patients.to_parquet(staged / "patients.parquet", index=False)
        if result.trajectories is not None:
            result.trajectories.to_parquet(staged / "trajectories.parquet", index=False)
        result.summary.to_csv(staged / "summary.csv", index=False)
        if result.mediation is not None:
            from .mediation import figure_png, to_markdown

            result.mediation.to_csv(staged / "mediation.csv", index=False)
            if result.mediation_replicates is not None:
                result.mediation_replicates.to_csv(staged / "mediation_replicates.csv", index=False)
            (staged / "mediation.png").write_bytes(figure_png(result.mediation))
            (staged / "mediation.md").write_text(to_markdown(result.mediation))
        if result.config.run.figures:
            warnings = capacity_warnings(result.weekly)
            report = build_report(
                result, figures, warnings, wait=lambda: (standard_drawn(), report_drawn()), drawn=drawn
            )
            shutil.rmtree(drawn)
            pause_point("after_figures")
            (staged / "report.html").write_text(report)
            pause_point("after_report")
        for name, text in (extra_files or {}).items():
            (staged / name).write_text(text)
        manifest = {
            "experiment": result.config.experiment,
            "config_hash": config_hash(result.config),
            "cohort": result.config.population.cohort,
            "base_seed": result.config.run.seed,
            "replicate_seeds": {str(r): s for r, s in result.seeds.items()},
            "overrides": overrides or [],
            **versions(),
        }
        with open(staged / MANIFEST, "w") as fh:
            json.dump(manifest, fh, indent=2)
        pause_point("before_rename")
        return stage.commit()
