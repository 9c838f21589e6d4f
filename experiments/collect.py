"""Collect a sweep into one tidy table, and draw the standard figures across the swept values.

    python -m experiments.collect results/compare_care_models/multirun_2026-11-25_10-00-00
    python -m experiments.collect <sweep folder> --outcomes function_final disengaged_ever cost

Counts only complete runs (a killed job's leftovers never), each job once.
Writes to <sweep folder>/collected/: runs.csv and runs.parquet (one row per
run x arm: one column per swept key, taken from each job's own overrides, then
outcome means and paired differences from the reference arm), weekly.parquet
(every run's weekly series with the swept columns) and one figure per outcome
against the first swept key (or the run number when only seeds differ). The
folder is replaced as a whole: a reader sees the old one or the new one.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from experiments.cli import Parser, check_writable, config_error
from sim.analysis.sweeps import collect
from sim.core.files import StagedFolder, replace_folder
from sim.core.params import ConfigError
from sim.outputs.plots import themed

MARKER = "runs.parquet"
"""Written last into collected/: recognises a folder this command made (and may replace)."""


def x_axis(runs: pd.DataFrame, swept: list[str]) -> str:
    """The figures' x axis: the first swept key other than the seed with more than one value, else ``run``."""
    return next((s for s in swept if s != "run.seed" and runs[s].nunique() > 1), "run")


def main(argv: list[str] | None = None) -> int:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path, help="the sweep folder (hydra.sweep.dir)")
    parser.add_argument(
        "--outcomes", nargs="+", default=["function_final", "symptoms_final", "disengaged_ever", "cost"]
    )
    args = parser.parse_args(argv)
    try:
        if not args.sweep.is_dir():
            raise ConfigError(f"config error: sweep = {str(args.sweep)!r} is not allowed; expected a sweep folder")
        check_writable(args.sweep / "collected")
        runs, weekly, swept = collect(args.sweep)
    except FileNotFoundError as err:
        return config_error(f"config error: sweep = {str(args.sweep)!r} is not allowed; expected finished runs ({err})")
    except ConfigError as err:
        return config_error(err)
    missing = [o for o in args.outcomes if o not in runs.columns]
    if missing:
        allowed = [c for c in runs.columns[len(swept) + 3 :] if not c.endswith("_diff")]
        return config_error(f"outcome {missing[0]!r} is not allowed; expected one of {', '.join(allowed)}")
    x = x_axis(runs, swept)
    # Numbers stay numbers on the axis; bools and words are categories, drawn in order of appearance.
    plotted = runs if pd.api.types.is_numeric_dtype(runs[x]) and runs[x].dtype != bool else runs.astype({x: str})
    import seaborn as sns  # loaded only to draw: it imports scipy.stats

    with StagedFolder(args.sweep / "collected") as stage, themed() as new_figure:
        runs.to_csv(stage.path / "runs.csv", index=False)
        weekly.to_parquet(stage.path / "weekly.parquet", index=False)
        for outcome in args.outcomes:
            fig = new_figure(figsize=(7, 4))
            ax = fig.subplots()
            sns.lineplot(
                data=plotted, x=x, y=outcome, hue="arm", marker="o", errorbar=("ci", 95), n_boot=500, seed=0, ax=ax
            )
            ax.set(title=f"{outcome} across {x}")
            fig.tight_layout()
            fig.savefig(stage.path / f"{outcome}.png", dpi=110)
        runs.to_parquet(stage.path / MARKER, index=False)
        out = replace_folder(stage, MARKER)
    print(f"{runs['run'].nunique()} runs, swept: {', '.join(swept) or 'nothing'}")
    print(runs[["run", *swept, "arm", *args.outcomes]].round(3).to_string(index=False))
    print(f"\ncollected: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
