"""Global sensitivity analysis (SALib): Morris screening of every parameter, then Sobol indices of the top few.

    python -m experiments.sensitivity                                  # function_gap, dropout, cost
    python -m experiments.sensitivity --outcomes function_gap cost_gap --trajectories 20 --jobs 2
    python -m experiments.sensitivity --patients 1000 --sobol-samples 128 arms.fragmented.continuity=0.3

Each design point runs coordinated and fragmented care on the same seeds. The
same command resumes an interrupted analysis: finished points are cached in
<out>/cache/ under a hash of their values and the config, and skipped. Writes
indices.csv (tidy: method, outcome, parameter, index, value, 95% interval,
samples), factors.csv, warnings.txt and sensitivity.png to
results/sensitivity/<settings-hash>/ (or --out).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from hydra.errors import ConfigCompositionException
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample
from tqdm import tqdm

from experiments.cli import ROOT, add_model_arguments, size_overrides
from experiments.schema import compose_config
from sim.analysis.sensitivity import (
    OUTCOMES,
    convergence_warnings,
    default_space,
    evaluate_design,
    morris_indices,
    salib_problem,
    sobol_indices,
    top_factors,
)
from sim.core.params import ConfigError


def figure(indices: pd.DataFrame, path) -> None:
    """Bars of mu* (Morris) and ST / S1 (Sobol, largest N) per outcome, with 95% intervals."""
    sns.set_theme(style="whitegrid")
    morris = indices[(indices["method"] == "morris") & (indices["index"] == "mu_star")].copy()
    morris["rank"] = morris.groupby("outcome")["value"].rank(ascending=False)
    morris = morris[morris["rank"] <= 10]
    sobol = indices[indices["method"] == "sobol"]
    sobol = sobol[sobol["samples"] == sobol["samples"].max()]
    outcomes = list(dict.fromkeys(indices["outcome"]))
    fig, axes = plt.subplots(2, len(outcomes), figsize=(6 * len(outcomes), 10), squeeze=False)
    for j, outcome in enumerate(outcomes):
        m = morris[morris["outcome"] == outcome].sort_values("value", ascending=False)
        ax = axes[0, j]
        ax.barh(m["parameter"], m["value"], xerr=(m["value"] - m["ci_low"]).clip(lower=0), color="C0")
        ax.invert_yaxis()
        ax.set(title=f"Morris mu* — {outcome}", xlabel="mu* (outcome units)")
        s = sobol[sobol["outcome"] == outcome]
        if not s.empty:
            sns.barplot(data=s, y="parameter", x="value", hue="index", ax=axes[1, j], errorbar=None)
            axes[1, j].set(title=f"Sobol indices — {outcome}", xlabel="share of variance")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_arguments(parser, replicates=1, patients=500)
    parser.add_argument(
        "--outcomes",
        nargs="+",
        default=["function_gap", "dropout", "cost"],
        help=f"outcomes by name: {', '.join(OUTCOMES)}",
    )
    parser.add_argument("--trajectories", type=int, default=10, help="Morris trajectories (default 10)")
    parser.add_argument("--sobol-top", type=int, default=6, help="factors carried to Sobol (default 6)")
    parser.add_argument("--sobol-samples", type=int, default=64, help="Sobol base samples N (default 64)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel worker processes (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the designs and bootstraps")
    args = parser.parse_args(argv)
    unknown = [o for o in args.outcomes if o not in OUTCOMES]
    if unknown:
        print(
            f"config error: outcome {unknown[0]!r} is not allowed; expected one of {', '.join(OUTCOMES)}",
            file=sys.stderr,
        )
        return 2
    try:
        config = compose_config("experiment=compare_care_models", *size_overrides(args))
        # The outcomes compare these two arms; other arms of the experiment would only cost time.
        config = dataclasses.replace(config, arms={a: config.arms[a] for a in ("coordinated", "fragmented")})
    except (ConfigError, ConfigCompositionException) as err:
        print(err, file=sys.stderr)
        return 2
    settings = {k: v for k, v in vars(args).items() if k != "out"}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:12]
    out = args.out or ROOT / "results" / "sensitivity" / digest
    out.mkdir(parents=True, exist_ok=True)

    factors = default_space(config)
    morris_design = morris_sample.sample(salib_problem(factors), N=args.trajectories, num_levels=4, seed=args.seed)
    bar = tqdm(total=len(morris_design), desc=f"Morris ({len(factors)} factors)", unit="point", disable=None)
    y = evaluate_design(config, factors, morris_design, out / "cache", args.outcomes, args.jobs, bar.update)
    bar.close()
    morris = morris_indices(factors, morris_design, y, args.seed)

    top = top_factors(morris, factors, args.sobol_top)
    sobol_design = sobol_sample.sample(salib_problem(top), args.sobol_samples, calc_second_order=False, seed=args.seed)
    bar = tqdm(total=len(sobol_design), desc=f"Sobol ({len(top)} factors)", unit="point", disable=None)
    y_sobol = evaluate_design(config, top, sobol_design, out / "cache", args.outcomes, args.jobs, bar.update)
    bar.close()
    sobol = sobol_indices(top, y_sobol, args.sobol_samples, args.seed)

    indices = pd.concat([morris, sobol], ignore_index=True)
    warnings = convergence_warnings(sobol)
    for name, write in (
        ("indices.csv", lambda p: indices.to_csv(p, index=False)),
        ("factors.csv", lambda p: pd.DataFrame([f.__dict__ for f in factors]).to_csv(p, index=False)),
        ("warnings.txt", lambda p: p.write_text("\n".join(warnings) + "\n")),
        ("sensitivity.png", lambda p: figure(indices, p)),
    ):
        tmp = out / f".tmp.{name}"
        write(tmp)
        tmp.replace(out / name)

    final = sobol[sobol["samples"] == args.sobol_samples].pivot_table(
        index="parameter", columns=["outcome", "index"], values="value"
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
