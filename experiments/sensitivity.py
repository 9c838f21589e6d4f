"""Global sensitivity analysis (SALib): Morris screening of every parameter, then Sobol indices of the top few.

    python -m experiments.sensitivity                                  # function_gap, disengaged_ever, cost
    python -m experiments.sensitivity --outcomes function_gap cost_gap --trajectories 20 --jobs 2
    python -m experiments.sensitivity --patients 1000 --sobol-samples 512 arms.fragmented.continuity=0.3

Each design point runs coordinated and fragmented care on the same seeds. The
same command resumes an interrupted analysis: finished points are cached in
<out>/cache/ under a hash of the config, the point and the outcome definitions,
and skipped. Writes indices.csv (tidy: method, outcome, parameter, index,
value, 95% interval, samples), factors.csv, warnings.txt and sensitivity.png
to results/sensitivity/<settings-hash>/ (or --out). Sizes too small for a
method are refused before any work (exit 2).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from experiments.cli import ROOT, Parser, add_model_arguments, config_error, size_overrides
from experiments.preflight import check_before_work
from experiments.schema import compose_config
from sim.analysis.sensitivity import (
    MIN_SOBOL_SAMPLES,
    MIN_TRAJECTORIES,
    OUTCOMES,
    Factor,
    Settings,
    default_space,
    evaluate_design,
    run_analysis,
)
from sim.core.files import atomic_path
from sim.core.params import ConfigError, to_dict


def _errors(frame: pd.DataFrame) -> np.ndarray:
    """Asymmetric error bars (below, above) from the interval columns; none where the interval is missing."""
    below = (frame["value"] - frame["ci_low"]).clip(lower=0).fillna(0.0)
    above = (frame["ci_high"] - frame["value"]).clip(lower=0).fillna(0.0)
    return np.vstack([below.to_numpy(), above.to_numpy()])


def figure(indices: pd.DataFrame, path: Path) -> None:
    """Bars of mu* (Morris) and S1 / ST (Sobol, largest N) per outcome, each with its 95% interval."""
    morris = indices[(indices["method"] == "morris") & (indices["index"] == "mu_star")].copy()
    morris["rank"] = morris.groupby("outcome")["value"].rank(ascending=False, method="first")
    morris = morris[morris["rank"] <= 10]
    sobol = indices[indices["method"] == "sobol"]
    sobol = sobol[sobol["samples"] == sobol["samples"].max()]
    outcomes = list(dict.fromkeys(indices["outcome"]))
    from matplotlib.figure import Figure  # loaded only to draw; a Figure needs no pyplot or backend switch

    fig = Figure(figsize=(6 * len(outcomes), 10))
    axes = fig.subplots(2, len(outcomes), squeeze=False)
    for j, outcome in enumerate(outcomes):
        m = morris[morris["outcome"] == outcome].sort_values("value", ascending=False)
        ax = axes[0, j]
        ax.barh(m["parameter"], m["value"], xerr=_errors(m), color="C0", ecolor="black", capsize=3)
        ax.invert_yaxis()
        ax.set(title=f"Morris mu* — {outcome}", xlabel="mu* (outcome units), 95% interval")
        s = sobol[sobol["outcome"] == outcome]
        ax = axes[1, j]
        if s.empty:
            ax.set_axis_off()
            continue
        order = s[s["index"] == "ST"].sort_values("value", ascending=False)["parameter"].tolist()
        y = np.arange(len(order))
        for k, (index, color) in enumerate((("S1", "C1"), ("ST", "C2"))):
            part = s[s["index"] == index].set_index("parameter").loc[order]
            ax.barh(
                y + (k - 0.5) * 0.4,
                part["value"],
                height=0.4,
                xerr=_errors(part),
                color=color,
                ecolor="black",
                capsize=3,
                label=index,
            )
        # A share of variance lies in [0, 1]: the lines show at a glance an index outside it.
        for edge in (0.0, 1.0):
            ax.axvline(edge, color="grey", lw=0.8, ls="--")
        ax.set_yticks(y, order)
        ax.invert_yaxis()
        ax.legend(loc="lower right")
        ax.set(
            title=f"Sobol indices (N={int(s['samples'].max())}) — {outcome}", xlabel="share of variance, 95% interval"
        )
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> int:
    defaults = Settings()
    parser = Parser(description=__doc__.splitlines()[0])
    add_model_arguments(parser, replicates=1, patients=500, out="results/sensitivity/<settings-hash>")
    parser.add_argument(
        "--outcomes",
        nargs="+",
        default=["function_gap", "disengaged_ever", "cost"],
        help=f"outcomes by name: {', '.join(OUTCOMES)}",
    )
    for option, default, text in (
        ("--trajectories", defaults.trajectories, f"Morris trajectories, at least {MIN_TRAJECTORIES}"),
        ("--sobol-top", defaults.sobol_top, "factors carried to Sobol"),
        ("--sobol-samples", defaults.sobol_samples, f"Sobol base samples N, a power of two >= {MIN_SOBOL_SAMPLES}"),
    ):
        parser.add_argument(option, type=int, default=default, help=f"{text} (default {default})")
    parser.add_argument("--jobs", type=int, default=2, help="parallel worker processes (default 2)")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of the designs and bootstraps (>= 0)")
    args = parser.parse_args(argv)
    unknown = [o for o in args.outcomes if o not in OUTCOMES]
    if unknown:
        return config_error(f"outcome {unknown[0]!r} is not allowed; expected one of {', '.join(OUTCOMES)}")
    settings = Settings(args.trajectories, args.sobol_top, args.sobol_samples, args.seed)
    try:
        settings.check()
        if args.jobs < 1:
            raise ConfigError(f"config error: --jobs = {args.jobs} is not allowed; expected at least 1")
        config = compose_config("experiment=compare_care_models", *size_overrides(args))
        if not {"coordinated", "fragmented"} <= set(config.arms):
            raise ConfigError(
                f"config error: arms = {', '.join(config.arms)} is not allowed; expected coordinated and fragmented "
                "(the outcomes compare them)"
            )
        # The outcomes compare these two arms; other arms of the experiment would only cost time.
        config = dataclasses.replace(config, arms={a: config.arms[a] for a in ("coordinated", "fragmented")})
        # The folder is named by what decides the results (not by --jobs, which only changes the speed).
        decides = {"config": to_dict(config), "settings": dataclasses.asdict(settings), "outcomes": args.outcomes}
        digest = hashlib.sha256(json.dumps(decides, sort_keys=True, default=str).encode()).hexdigest()[:12]
        out = args.out or ROOT / "results" / "sensitivity" / digest
        check_before_work(config, out, parallel=args.jobs)
    except ConfigError as err:
        return config_error(err)
    out.mkdir(parents=True, exist_ok=True)

    factors = default_space(config)

    def evaluate(over: list[Factor], design: np.ndarray) -> pd.DataFrame:
        method = "Morris" if len(over) == len(factors) else "Sobol"
        bar = tqdm(total=len(design), desc=f"{method} ({len(over)} factors)", unit="point", disable=None)
        y = evaluate_design(config, over, design, out / "cache", args.outcomes, args.jobs, bar.update)
        bar.close()
        return y

    analysis = run_analysis(factors, evaluate, settings)
    indices, morris, sobol, warnings = analysis.indices, analysis.morris, analysis.sobol, analysis.warnings
    for name, write in (
        ("indices.csv", lambda p: indices.to_csv(p, index=False)),
        ("factors.csv", lambda p: pd.DataFrame([f.__dict__ for f in factors]).to_csv(p, index=False)),
        ("warnings.txt", lambda p: p.write_text("\n".join(warnings) + "\n")),
        ("sensitivity.png", lambda p: figure(indices, p)),
    ):
        with atomic_path(out / name) as tmp:
            write(tmp)

    final = sobol[sobol["samples"] == args.sobol_samples].pivot_table(
        index="parameter", columns=["outcome", "index"], values="value", dropna=False
    )
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print("Morris mu* (top 8 per outcome):")
        mu = morris[morris["index"] == "mu_star"].sort_values("value", ascending=False)
        print(
            mu.groupby("outcome")
            .head(8)[["outcome", "parameter", "value", "ci_low", "ci_high"]]
            .round(4)
            .to_string(index=False)
        )
        print(f"\nSobol indices (N={args.sobol_samples}):")
        print(final.round(3).to_string())
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
