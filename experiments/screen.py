"""Judgement screen: which judgement values, wrong by ±20%, would move the headline by more than its own size.

    python -m experiments.screen                                   # function_gap and symptoms_gap, ±20%
    python -m experiments.screen --spread 0.1 --patients 2000 --jobs 2

Every mechanism coefficient and clinician trait mean whose source is
judgement (sim/core/params.py) is set, one at a time, to its value -20% and
+20% (clipped to its declared range), with every other value at its default;
each point runs coordinated and fragmented care on the same seeds (common
random numbers), so the differences between points are the parameter's, not
chance's. A parameter is *flagged* when either end moves the
coordinated-fragmented difference by more than that difference itself: the
headline then rests on a value no data pins down (docs/calibration.md lists
them with the data that would). Writes screen.csv (tidy: outcome, parameter,
default, range, outcome at each end, largest move, ratio, flagged),
screen.png and manifest.json to results/screen/<timestamp>/ (or --out), all
at once when finished. Finished points are cached in results/screen/cache/
under a hash of everything that decides them, so an interrupted screen
resumes.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from experiments.cli import ROOT, Parser, add_model_arguments, config_error, results_folder, size_overrides, writing
from experiments.preflight import check_before_work
from experiments.schema import compose_config
from sim.analysis.sensitivity import (
    OUTCOMES,
    SCREEN_SPREAD,
    evaluate_design,
    judgement_space,
    oat_design,
    oat_effects,
)
from sim.core.files import StagedFolder
from sim.core.params import ConfigError, to_dict

SHOWN = 15  # parameters per outcome in the figure and the printout
CACHE = ROOT / "results" / "screen" / "cache"


def figure(effects: pd.DataFrame, path: Path) -> None:
    """Per outcome, the largest moves: the outcome at -20% and +20% around its default, and the flag line."""
    from matplotlib.figure import Figure  # loaded only to draw

    outcomes = list(dict.fromkeys(effects["outcome"]))
    fig = Figure(figsize=(7 * len(outcomes), 0.35 * SHOWN + 2))
    axes = fig.subplots(1, len(outcomes), squeeze=False)[0]
    for ax, outcome in zip(axes, outcomes, strict=True):
        part = effects[effects["outcome"] == outcome].head(SHOWN).iloc[::-1]
        base = float(part["outcome_at_default"].iloc[0])
        y = range(len(part))
        ax.barh(y, part["outcome_at_low"] - base, color="C0", label="value -20%")
        ax.barh(y, part["outcome_at_high"] - base, color="C1", alpha=0.7, label="value +20%")
        for edge in (-abs(base), abs(base)):
            ax.axvline(edge, color="grey", ls="--", lw=0.8)
        ax.set_yticks(list(y), [p.removeprefix("mechanisms.") for p in part["parameter"]])
        ax.set(
            title=f"{outcome}: {base:.2f} at the defaults",
            xlabel="change of the outcome (dashed: its size at the defaults)",
        )
        ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> int:
    parser = Parser(description=__doc__.splitlines()[0])
    add_model_arguments(parser, replicates=2, patients=1000)
    parser.add_argument("--spread", type=float, default=SCREEN_SPREAD, help="relative change (default 0.2)")
    parser.add_argument(
        "--outcomes", nargs="+", default=["function_gap", "symptoms_gap"], help=f"by name: {', '.join(OUTCOMES)}"
    )
    parser.add_argument("--jobs", type=int, default=2, help="parallel worker processes (default 2)")
    args = parser.parse_args(argv)
    folder = args.out or results_folder("screen")
    try:
        unknown = [o for o in args.outcomes if o not in OUTCOMES]
        if unknown:
            raise ConfigError(f"config error: --outcomes {unknown[0]!r} is not allowed; expected {', '.join(OUTCOMES)}")
        if not 0.0 < args.spread < 1.0:
            raise ConfigError(f"config error: --spread = {args.spread!r} is not allowed; expected 0 < spread < 1")
        if args.jobs < 1:
            raise ConfigError(f"config error: --jobs = {args.jobs} is not allowed; expected at least 1")
        config = compose_config("experiment=compare_care_models", *size_overrides(args))
        if not {"coordinated", "fragmented"} <= set(config.arms):
            raise ConfigError(
                f"config error: arms = {', '.join(config.arms)} is not allowed; expected coordinated and fragmented"
            )
        config = dataclasses.replace(config, arms={a: config.arms[a] for a in ("coordinated", "fragmented")})
        check_before_work(config, folder, parallel=args.jobs)
    except ConfigError as err:
        return config_error(err)

    factors = judgement_space(config, args.spread)
    design = oat_design(config, factors)
    bar = tqdm(total=len(design), desc=f"screen ({len(factors)} judgement values)", unit="point", disable=None)
    y = evaluate_design(config, factors, design, CACHE, args.outcomes, args.jobs, bar.update)
    bar.close()
    effects = oat_effects(factors, design, y)

    with writing(folder), StagedFolder(folder) as stage:
        effects.to_csv(stage.path / "screen.csv", index=False)
        figure(effects, stage.path / "screen.png")
        manifest = {
            "command": "python -m experiments.screen " + " ".join(argv if argv is not None else sys.argv[1:]),
            "spread": args.spread,
            "factors": len(factors),
            "points": len(design),
            "config": to_dict(config),
        }
        (stage.path / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str))
        folder = stage.commit()

    with pd.option_context("display.width", 200):
        for outcome, part in effects.groupby("outcome", sort=False):
            flagged = part[part["flagged"]]
            print(f"{outcome}: {part['outcome_at_default'].iloc[0]:.3f} at the defaults; {len(flagged)} flagged")
            cols = ["parameter", "default", "outcome_at_low", "outcome_at_high", "ratio", "flagged"]
            print(part.head(SHOWN)[cols].round(3).to_string(index=False))
    print(f"results: {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
