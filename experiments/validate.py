"""Validate the defaults against published figures (docs/targets.md): one table, inside or outside each band.

    python -m experiments.validate                        # 10 replicates x 2,000 patients, every care model
    python -m experiments.validate --targets my_service.yaml --patients 5000
    python -m experiments.validate --write-docs           # also refresh docs/validation.md

Every care-model preset in conf/care_model/ is run as an arm (same patients,
common random numbers), so targets measured "in each preset" cover them all.
Writes validation.csv and validation.md next to the usual outputs in
results/validation/<timestamp>/.
"""

from __future__ import annotations

import dataclasses
import sys

import pandas as pd

from experiments.cli import (
    ROOT,
    Parser,
    add_model_arguments,
    check_writable,
    config_error,
    progress,
    results_folder,
    size_overrides,
    writing,
)
from experiments.preflight import check_before_work
from experiments.schema import compose_config, preset_names
from sim.analysis.experiment import reference_arm, run_experiment
from sim.analysis.targets import check_arms, effects_over_time, evaluate, load_targets, over_time_markdown, to_markdown
from sim.core.files import write_atomic
from sim.core.params import Config, ConfigError
from sim.outputs.writer import write_results

DEFAULT_TARGETS = ROOT / "conf" / "targets" / "published.yaml"


def validation_config(overrides: list[str]) -> Config:
    """The default config with every care-model preset as an arm, plus overrides."""
    arms = [f"+care_model@arms.{name}={name}" for name in preset_names("care_model")]
    base = compose_config(*overrides)
    return compose_config(*[a for a in arms if a.split("@arms.")[1].split("=")[0] not in base.arms], *overrides)


def docs_page(table: pd.DataFrame, command: str, over_time: pd.DataFrame | None = None, reference: str = "") -> str:
    """``docs/validation.md``: the table, the effects over time, and how to reproduce them."""
    inside = int(table["inside"].sum())
    timeline = ""
    if over_time is not None and not over_time.empty:
        timeline = (
            "\n### Effects over time\n\n"
            f"Standardised differences against {reference} care at several weeks of the run (better is\n"
            "positive; mean and 95% t-interval across replicates, from the weekly means and SDs). The targets\n"
            "C4 and C9 score the horizon only. Published effects of collaborative care are largest early\n"
            "(SMD 0.25 at 6 months) and smaller later (0.15); compare the shape here with that before\n"
            'reading an effect at another horizon (docs/calibration.md, "Predictions that miss").\n\n'
            + over_time_markdown(over_time)
        )
    return (
        "# Validation against published figures\n\n"
        "The default parameters are checked against the targets C1–C10 of [targets.md](targets.md)\n"
        "(shipped, with their sources, as `conf/targets/published.yaml`). **Fitted** rows are measured in\n"
        "usual (fragmented) care, the only figures the free mechanism parameters were fitted to\n"
        "([calibration.md](calibration.md)); **predicted** rows (other care models, and every comparison\n"
        "between care models) were not used in the fit. Reproduce this table with\n\n"
        f"```bash\n{command}\n```\n\n"
        f"{inside} of {len(table)} rows inside their band. Simulated values are means across replicates\n"
        "with 95% t-intervals; every care-model preset runs on the same patients (common random numbers).\n\n"
        + to_markdown(table)
        + timeline
    )


def main(argv: list[str] | None = None) -> int:
    parser = Parser(description=__doc__.splitlines()[0])
    add_model_arguments(parser, replicates=10, patients=2000)
    parser.add_argument("--targets", default=DEFAULT_TARGETS, help="targets file (default: the published ones)")
    parser.add_argument("--write-docs", action="store_true", help="also write docs/validation.md")
    args = parser.parse_args(argv)
    out = args.out or results_folder("validation")
    try:
        targets = load_targets(args.targets)
        config = validation_config(["experiment=compare_care_models", *size_overrides(args)])
        config = dataclasses.replace(config, experiment="validation")
        check_arms(targets, list(config.arms))
        check_before_work(config, out)
        if args.write_docs:
            check_writable(ROOT / "docs", "docs folder")
    except ConfigError as err:
        return config_error(err)
    bar, step = progress(config.run.replicates * len(config.arms), "validation")
    result = run_experiment(config, progress=step)
    bar.close()
    table = evaluate(result, targets)
    reference = reference_arm(config)
    over_time = effects_over_time(result.weekly, reference)
    command = "python -m experiments.validate " + " ".join(argv if argv is not None else sys.argv[1:])
    with writing(out):
        folder = write_results(
            result,
            out,
            overrides=size_overrides(args),
            extra_files={
                "validation.csv": table.to_csv(index=False),
                "validation.md": docs_page(table, command.strip(), over_time, reference),
                "effects_over_time.csv": over_time.to_csv(index=False),
            },
        )
    if args.write_docs:
        # The page names no path outside the repository: drop --out and --write-docs from the command.
        given = argv if argv is not None else sys.argv[1:]
        dropped = {"--write-docs", "--out"}
        kept = [a for i, a in enumerate(given) if a not in dropped and given[i - 1 : i] != ["--out"]]
        write_atomic(
            ROOT / "docs" / "validation.md",
            docs_page(table, " ".join(["python -m experiments.validate", *kept]), over_time, reference),
        )
    shown = table[["target", "arm", "role", "band_low", "band_high", "simulated", "ci_low", "ci_high", "inside"]]
    with pd.option_context("display.width", 160):
        print(shown.round(3).to_string(index=False))
    print(f"\n{int(table['inside'].sum())} of {len(table)} inside their band; results: {folder}")
    return 0 if table["inside"].all() else 1


if __name__ == "__main__":
    sys.exit(main())
