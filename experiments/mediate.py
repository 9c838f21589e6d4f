"""Which causal channel carries the difference between coordinated and fragmented care.

    python -m experiments.mediate                                   # 10 replicates x 2,000 patients, every channel
    python -m experiments.mediate population=small run.replicates=3 # any override experiments.run takes
    python -m experiments.mediate --channels self_management,distress,avoidance
    python -m experiments.mediate --arm stepped run.jobs=2

Runs the full model (the arm and the reference arm, ``run.reference_arm``),
then each channel of ``sim/analysis/mediation.py`` switched off in both arms
on the same replicate seeds, over ``run.jobs`` worker processes. Writes the
full model's usual results (tables, figures, decision report with a "What
carries the effect" section) plus mediation.csv (channel x outcome: the
difference with the channel off and the share it carries, with 95%
intervals), mediation_replicates.csv, mediation.png and mediation.md to
results/mediation/<timestamp>/ (or --out), all at once or not at all. Bad
input is refused in one line (exit 2) before anything runs or is written.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pandas as pd

from experiments.cli import Parser, config_error, progress, results_folder, writing
from experiments.preflight import check_before_work
from experiments.schema import compose_config
from sim.analysis.mediation import CHANNELS, check_channels, run_mediation, select_channels, two_arms
from sim.core.params import ConfigError
from sim.outputs.mediation import display_table, verdicts
from sim.outputs.writer import write_results


def main(argv: list[str] | None = None) -> int:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--arm", default="coordinated", help="arm compared with the reference (default coordinated)")
    parser.add_argument(
        "--channels",
        help=f"channels to switch off one at a time, comma-separated (default: {','.join(c.name for c in CHANNELS)})",
    )
    parser.add_argument("--out", type=Path, help="results folder (default results/mediation/<timestamp>)")
    parser.add_argument("overrides", nargs="*", help="model config overrides, e.g. population=small run.replicates=3")
    args = parser.parse_intermixed_args(argv)  # overrides may come before or after the options
    folder = args.out or results_folder("mediation")
    try:
        channels = select_channels(None if args.channels is None else args.channels.split(","))
        config = compose_config(*args.overrides)
        config = dataclasses.replace(two_arms(config, args.arm), experiment="mediation")
        check_channels(config, args.arm, channels)
        check_before_work(config, folder)
    except ConfigError as err:
        return config_error(err)

    bar, step = progress(2 * config.run.replicates * (1 + len(channels)), "mediation")
    try:
        result = run_mediation(config, args.arm, channels, progress=step)
    finally:
        bar.close()
    options = [f"--arm={args.arm}", f"--channels={','.join(c.name for c in channels)}"]
    with writing(folder):
        written = write_results(result, folder, overrides=[*options, *args.overrides])
    table = display_table(result.mediation)
    with pd.option_context("display.width", 200, "display.max_columns", 10, "display.max_colwidth", 40):
        print(
            f"\n{args.arm} vs {config.run.reference_arm}: {config.run.replicates} replicates x "
            f"{config.population.n_patients} patients x {config.run.weeks} weeks, {len(channels)} channels"
        )
        print(table.drop(columns=["what is switched off"]).to_string(index=False))
    print(f"\n{verdicts(result.mediation)}")
    print(f"\nresults: {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
