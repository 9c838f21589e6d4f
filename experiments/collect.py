"""Collect a sweep into one tidy table, and draw the standard figures across the swept values.

    python -m experiments.collect results/compare_care_models/multirun_2026-11-25_10-00-00
    python -m experiments.collect <sweep folder> --outcomes function_final dropout cost

Writes to <sweep folder>/collected/: runs.csv and runs.parquet (one row per
run x arm: swept parameters, then outcome means), weekly.parquet (every run's
weekly series with the swept columns) and one figure per outcome against the
first swept parameter (or the run number when only seeds differ).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from experiments.cli import Parser, check_writable, config_error
from sim.analysis.sweeps import collect
from sim.core.params import ConfigError
from sim.outputs.plots import themed


def main(argv: list[str] | None = None) -> int:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path, help="the sweep folder (hydra.sweep.dir)")
    parser.add_argument("--outcomes", nargs="+", default=["function_final", "symptoms_final", "dropout", "cost"])
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
        return config_error(f"outcome {missing[0]!r} is not allowed; expected one of {', '.join(runs.columns[2:])}")
    out = args.sweep / "collected"
    partial = args.sweep / "collected.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    runs.to_csv(partial / "runs.csv", index=False)
    runs.to_parquet(partial / "runs.parquet", index=False)
    weekly.to_parquet(partial / "weekly.parquet", index=False)
    x = next((s for s in swept if s != "run.seed" and runs[s].nunique() > 1), "run")
    import seaborn as sns  # loaded only to draw: it imports scipy.stats

    with themed() as new_figure:
        for outcome in args.outcomes:
            fig = new_figure(figsize=(7, 4))
            ax = fig.subplots()
            sns.lineplot(
                data=runs, x=x, y=outcome, hue="arm", marker="o", errorbar=("ci", 95), n_boot=500, seed=0, ax=ax
            )
            ax.set(title=f"{outcome} across {x}")
            fig.tight_layout()
            fig.savefig(partial / f"{outcome}.png", dpi=110)
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    print(f"{runs['run'].nunique()} runs, swept: {', '.join(swept) or 'nothing'}")
    print(runs[["run", *swept, "arm", *args.outcomes]].round(3).to_string(index=False))
    print(f"\ncollected: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
