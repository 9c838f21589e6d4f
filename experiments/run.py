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
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import hydra
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from experiments.schema import register, to_config
from sim.analysis.experiment import headline, run_experiment
from sim.analysis.sweeps import complete_runs, read_manifest
from sim.core.files import remove_if_empty
from sim.core.params import ConfigError
from sim.outputs.writer import finished_run, write_results

register()


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
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    # Hydra made this folder, empty; the results take its name only once complete (one rename).
    remove_if_empty(out_dir)
    try:
        config = to_config(cfg)
    except ConfigError as err:
        print(err, file=sys.stderr)
        sys.exit(2)
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode == RunMode.MULTIRUN:
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
    n_runs = config.run.replicates * len(config.arms)
    tqdm.monitor_interval = 0  # no monitor thread: the runs' worker processes are forked from this one
    bar = tqdm(total=n_runs, desc=config.experiment, unit="run", disable=None)

    def progress(arm: str, replicate: int) -> None:
        bar.set_postfix_str(f"{arm} r{replicate}")
        bar.update()

    try:
        result = run_experiment(config, progress=progress)
        bar.close()
        folder = write_results(result, out_dir, overrides=list(HydraConfig.get().overrides.task))
    except BaseException:
        bar.close()
        raise
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(
            f"\n{config.experiment}: {len(config.arms)} arms x {config.run.replicates} replicates, "
            f"{config.population.n_patients} patients, {config.run.weeks} weeks"
        )
        print(headline(result.summary).to_string())
    print(f"\nresults: {folder}")
    if hydra_cfg.mode == RunMode.MULTIRUN:
        print(sweep_progress(Path(hydra_cfg.sweep.dir)))


if __name__ == "__main__":
    main()
