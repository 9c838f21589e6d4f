"""Run an experiment from the command line (the main job).

    python -m experiments.run                                  # coordinated vs fragmented
    python -m experiments.run population=small run.replicates=3
    python -m experiments.run arms.fragmented.continuity=0.4   # any parameter
    python -m experiments.run -m arms.coordinated.continuity=0.5,0.7,0.9   # a sweep

Results go to ``results/<experiment>/<timestamp>/`` (multirun: one numbered
folder per job under ``results/<experiment>/multirun_<timestamp>/``). A sweep
re-run into the same folder (``hydra.sweep.dir=...``) skips every job whose
exact config (seed included) already finished there, and never overwrites one.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import hydra
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from experiments.schema import register, to_config
from sim.analysis.experiment import headline, run_experiment
from sim.core.params import ConfigError
from sim.outputs.writer import finished_run, write_results

register()


def sweep_progress(sweep_dir: Path) -> str:
    """``sweep: k of n jobs complete`` for a multirun folder (the jobs' own overrides give n)."""
    try:
        task = list(OmegaConf.load(sweep_dir / "multirun.yaml").hydra.overrides.task)
        overrides = OverridesParser.create().parse_overrides(task)
        total = math.prod(len(list(o.sweep_string_iterator())) for o in overrides if o.is_sweep_override())
    except (OSError, ValueError, AttributeError):
        return ""
    done = len(list(sweep_dir.glob("*/manifest.json")))
    return f"sweep: {done} of {total} jobs complete ({sweep_dir})"


def _remove_if_empty(folder: Path) -> None:
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    """Validate the config, run every arm and replicate, write results, print the headline."""
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        config = to_config(cfg)
    except ConfigError as err:
        _remove_if_empty(out_dir)
        print(err, file=sys.stderr)
        sys.exit(2)
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode == RunMode.MULTIRUN:
        # Resumable sweeps: a job whose exact config already finished in this sweep folder is skipped.
        done = finished_run(Path(hydra_cfg.sweep.dir), config)
        if done is not None:
            _remove_if_empty(out_dir)
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
        _remove_if_empty(out_dir)
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
