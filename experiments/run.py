"""Run an experiment from the command line (the main job).

    python -m experiments.run                                  # coordinated vs fragmented
    python -m experiments.run population=small run.replicates=3
    python -m experiments.run arms.fragmented.continuity=0.4   # any parameter
    python -m experiments.run -m arms.coordinated.continuity=0.5,0.7,0.9   # a sweep

Results go to ``results/<experiment>/<timestamp>/`` (multirun: one numbered
folder per job under ``results/<experiment>/multirun_<timestamp>/``). A folder
appears under its name only when complete (see sim/core/files.py). A sweep
re-run into the same folder (``hydra.sweep.dir=...``) skips every job whose
exact config (seed included) already finished there, never overwrites one, and
redoes any job that was killed; repeated sweep values run once.

Before Hydra creates any folder, :func:`preflight` composes and checks every
job's config (see ``experiments/preflight.py``); bad input ends in one line and
exit status 2 with nothing written.
"""

from __future__ import annotations

import importlib
import itertools
import os
import sys
import threading
from pathlib import Path

import hydra
import pandas as pd
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from experiments.cli import existing_ancestor, exit_config_error, progress, remove_created, writing
from experiments.preflight import check_before_work
from experiments.schema import compose_jobs, one_line, register, replace_mappings, to_config
from sim.analysis.capacity import capacity_warnings
from sim.analysis.experiment import ExperimentRuns, headline, run_experiment
from sim.analysis.sweeps import complete_runs, read_manifest
from sim.core.files import remove_if_empty
from sim.core.params import Config, ConfigError
from sim.outputs.writer import finished_run, write_results

register()

# Hydra options that do no work (help, printing the config) or that change where configs come from.
_NO_WORK = {"--help", "-h", "--hydra-help", "--version", "--cfg", "-c", "--info", "-i", "--shell-completion", "-sc"}
_WITH_VALUE = {"--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd", "--package", "-p"}
_kept: Path | None = None
_started: ExperimentRuns | None = None
"""The nearest folder that existed before this run: nothing at or above it is ever removed."""


def preflight(argv: list[str]) -> tuple[Path | None, Config | None]:
    """Compose and check every job of the command line before Hydra creates any folder.

    Hydra makes the run folder (and, for a sweep, the sweep folder with
    ``multirun.yaml``) before ``main`` runs, so the checks happen here: every
    job's config is composed, validated and checked against the team, the
    machine's memory and the output folder (a repeated sweep value runs once: see ``main``).

    Returns:
        The nearest existing folder above the output (None if the command does no work), and the
        config of a single run (None for a sweep), with which its runs can start at once.

    Raises:
        ConfigError: the first problem, in one line.
    """
    if any(a.split("=")[0] in _NO_WORK for a in argv) or {"--config-path", "-cp", "--config-name", "-cn"} & set(argv):
        return None, None
    multirun = "-m" in argv or "--multirun" in argv
    overrides, extra, skip = [], [], False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
        elif arg in _WITH_VALUE:
            skip = True
            if arg in ("--config-dir", "-cd") and i + 1 < len(argv):
                extra.append(f"hydra.searchpath=[file://{Path(argv[i + 1]).absolute()}]")
        elif not arg.startswith("-"):
            overrides.append(arg)
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as err:
        raise ConfigError(one_line(err)) from err
    if multirun and all(not o.is_sweep_override() or o.is_discrete_sweep() for o in parsed):
        jobs = BasicSweeper.split_arguments(parsed, None)[0]
    else:
        jobs = [[o.input_line for o in parsed if not o.is_sweep_override()]]
    kept = None
    for cfg in compose_jobs([[*job, *extra] for job in jobs], hydra_config=True):
        config = to_config(cfg)
        out = Path(OmegaConf.select(cfg, "hydra.sweep.dir" if multirun else "hydra.run.dir"))
        workers = OmegaConf.select(cfg, "hydra.launcher.n_jobs", default=1) if multirun else 1
        check_before_work(config, out, parallel=(os.cpu_count() or 1) if workers == -1 else int(workers))
        kept = existing_ancestor(out)
    return kept, None if multirun else config


def sweep_jobs(sweep_dir: Path) -> list[list[str]]:
    """Every job's own overrides, in job-number order, expanded from the sweep's (multirun.yaml).

    The order is that of Hydra's basic sweeper (used by every launcher here):
    the cartesian product of each key's values, keys in command-line order,
    a later override of the same key replacing an earlier one.
    """
    task = list(OmegaConf.load(sweep_dir / "multirun.yaml").hydra.overrides.task)
    values: dict[str, list[str]] = {}
    for override in OverridesParser.create().parse_overrides(task):
        key = override.get_key_element()
        if override.is_sweep_override():
            values[key] = [f"{key}={v}" for v in override.sweep_string_iterator()]
        else:
            values[key] = [f"{key}={override.get_value_element_as_str()}"]
    return [list(job) for job in itertools.product(*values.values())]


def _job_key(overrides: list[str]) -> tuple[str, ...]:
    return tuple(sorted(overrides))


def earlier_duplicate(sweep_dir: Path, job: int, overrides: list[str]) -> int | None:
    """The first job of the sweep with the same overrides as ``job``, if it comes earlier (``run.seed=5,5``)."""
    try:
        keys = [_job_key(j) for j in sweep_jobs(sweep_dir)]
    except (OSError, ValueError, AttributeError, HydraException):
        return None
    first = keys.index(_job_key(overrides)) if _job_key(overrides) in keys else job
    return first if first < job else None


def sweep_progress(sweep_dir: Path) -> str:
    """``sweep: k of n jobs complete`` for a multirun folder: distinct jobs, counting only complete runs."""
    try:
        jobs = {_job_key(j) for j in sweep_jobs(sweep_dir)}
    except (OSError, ValueError, AttributeError, HydraException):
        return ""
    done = set()
    for run in complete_runs(sweep_dir):
        try:
            done.add(_job_key(read_manifest(run).get("overrides", [])))
        except (OSError, ValueError):
            continue
    return f"sweep: {len(done & jobs)} of {len(jobs)} jobs complete ({sweep_dir})"


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    """Validate the config, run every arm and replicate, write results, print the headline."""
    hydra_cfg = HydraConfig.get()
    out_dir = Path(hydra_cfg.runtime.output_dir)
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    kept = Path(hydra_cfg.sweep.dir) if multirun else (_kept or out_dir.parent)
    # Hydra made this folder, empty; the results take its name only once complete (one rename).
    remove_if_empty(out_dir)
    try:
        config = to_config(cfg)
    except ConfigError as err:
        remove_created(out_dir, kept)
        exit_config_error(err)
    if multirun:
        # Resumable sweeps: a job whose exact config already finished in this sweep folder is skipped,
        # and so is a repeat of an earlier job of the same sweep.
        sweep_dir = Path(hydra_cfg.sweep.dir)
        same = earlier_duplicate(sweep_dir, hydra_cfg.job.num, list(hydra_cfg.overrides.task))
        if same is not None:
            print(f"same overrides as job {same}, skipped: {out_dir}")
            print(sweep_progress(sweep_dir))
            return
        done = finished_run(sweep_dir, config)
        if done is not None:
            print(f"already complete, skipped: {done}")
            print(sweep_progress(Path(hydra_cfg.sweep.dir)))
            return
    bar, step = progress(config.run.replicates * len(config.arms), config.experiment)
    # The figures are drawn by processes forked from this one after the runs. This process is idle while
    # worker processes run, so it loads matplotlib then (in a thread started once the first run is back,
    # when every worker has been forked), and the figure processes start with it loaded.
    loader = threading.Thread(target=importlib.import_module, args=("matplotlib.figure",), daemon=True)

    def step_and_load(arm: str, replicate: int) -> None:
        step(arm, replicate)
        if config.run.figures and loader.ident is None:
            loader.start()

    try:
        result = run_experiment(config, progress=step_and_load, runs=_started)
        if loader.ident is not None:
            loader.join()  # before any fork
        bar.close()
        with writing(out_dir, kept):
            folder = write_results(result, out_dir, overrides=list(hydra_cfg.overrides.task))
    except BaseException:
        bar.close()
        remove_created(out_dir, kept)
        raise
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(
            f"\n{config.experiment}: {len(config.arms)} arms x {config.run.replicates} replicates, "
            f"{config.population.n_patients} patients, {config.run.weeks} weeks"
        )
        print(headline(result.summary).to_string())
    for warning in capacity_warnings(result.weekly):
        print(f"warning: {warning}")
    print(f"\nresults: {folder}")
    if multirun:
        print(sweep_progress(Path(hydra_cfg.sweep.dir)))


if __name__ == "__main__":
    try:
        _kept, _single = preflight(sys.argv[1:])
    except ConfigError as err:
        exit_config_error(err)
    if _single is not None:
        # A single run's config is known and checked: its runs start now, in worker processes, while
        # Hydra composes the same config again (twice) and sets up the job; main uses them if the config
        # it gets is the same (it is, unless Hydra changes something), else starts again.
        _started = ExperimentRuns(_single)
    sys.argv = [sys.argv[0], *replace_mappings(sys.argv[1:])]
    try:
        main()
    finally:
        if _started is not None:
            _started.cancel()
