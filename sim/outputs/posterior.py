"""The record of a Bayesian (ABC-SMC) calibration: posterior.parquet, diagnostics, the posterior against the prior.

Written as one complete folder or not at all (:class:`sim.core.files.StagedFolder`):

- ``posterior.parquet``: the last generation's particles, one column per free
  parameter (its dotted path, the names ``experiments.psa --posterior``
  reads), ``weight`` (importance weights, summing to 1) and ``distance``.
- ``diagnostics.csv``: per generation, the tolerance epsilon, particles,
  simulations, acceptance rate, effective sample size and the heaviest particle's share of the weight.
- ``summary.csv``: per parameter, the prior's 90% range and the posterior's
  mean and 90% credible interval.
- ``posterior.png``: each parameter's posterior histogram over its prior density.
- ``fit.csv``: the fitted targets at the posterior mean; ``calibration.yaml``:
  settings, sizes and the overrides of the posterior mean; ``history.db``:
  pyabc's SQLite history of every generation.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..analysis.abc_smc import AbcFit, TruncatedPrior, credible_interval, weighted_mean
from ..core.files import StagedFolder
from .plots import themed


def summary(fitted: AbcFit, priors: dict[str, TruncatedPrior]) -> pd.DataFrame:
    """Per parameter: the prior's median and 90% range, the posterior mean and 90% credible interval."""
    rows = []
    for name, prior in priors.items():
        lo, hi = credible_interval(fitted.posterior, name)
        p05, p50, p95 = (prior.quantile(q) for q in (0.05, 0.5, 0.95))
        rows.append(
            {
                "parameter": name,
                "prior_median": p50,
                "prior_5%": p05,
                "prior_95%": p95,
                "posterior_mean": weighted_mean(fitted.posterior, name),
                "posterior_5%": lo,
                "posterior_95%": hi,
                "width_ratio": (hi - lo) / (p95 - p05),
            }
        )
    return pd.DataFrame(rows)


def posterior_figure(fitted: AbcFit, priors: dict[str, TruncatedPrior], path: Path) -> None:
    """One panel per parameter: the weighted posterior histogram over the truncated prior's density."""
    names = list(priors)
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    with themed() as new_figure:
        fig = new_figure(figsize=(3.2 * cols, 2.5 * rows))
        axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
        for ax, name in zip(axes, names, strict=False):
            prior = priors[name]
            # The prior's central 99.8% and every particle: a log-normal prior's declared range is far wider.
            values = fitted.posterior[name]
            low, high = min(prior.quantile(0.001), values.min()), max(prior.quantile(0.999), values.max())
            xs = np.linspace(low, high, 200)
            ax.plot(xs, [prior.pdf(x) for x in xs], color="grey", label="prior")
            ax.hist(
                values,
                bins=20,
                range=(low, high),
                weights=fitted.posterior["weight"],
                density=True,
                alpha=0.6,
                color="C0",
                label="posterior",
            )
            ax.set_title(name.split(".", 1)[-1], fontsize=9)
            ax.tick_params(labelsize=7)
        for ax in axes[len(names) :]:
            ax.set_visible(False)
        axes[0].legend(fontsize=7)
        fig.suptitle("ABC-SMC posterior (bars) against the prior (line)")
        fig.tight_layout()
        fig.savefig(path, dpi=100)


def write_posterior(
    fitted: AbcFit,
    priors: dict[str, TruncatedPrior],
    fit_table: pd.DataFrame,
    record: dict,
    database: Path,
    target: Path,
) -> Path:
    """Write the calibration's folder (see the module docstring) all at once; returns the folder written."""
    table = summary(fitted, priors)
    record = {
        **record,
        "posterior": {
            row["parameter"]: {
                "mean": float(f"{row['posterior_mean']:.6g}"),
                "interval_90": [float(f"{row['posterior_5%']:.6g}"), float(f"{row['posterior_95%']:.6g}")],
            }
            for _, row in table.iterrows()
        },
    }
    with StagedFolder(Path(target)) as stage:
        fitted.posterior.to_parquet(stage.path / "posterior.parquet", index=False)
        fitted.diagnostics.to_csv(stage.path / "diagnostics.csv", index=False)
        table.to_csv(stage.path / "summary.csv", index=False)
        fit_table.to_csv(stage.path / "fit.csv", index=False)
        posterior_figure(fitted, priors, stage.path / "posterior.png")
        shutil.copyfile(database, stage.path / "history.db")
        (stage.path / "calibration.yaml").write_text(yaml.safe_dump(record, sort_keys=False, allow_unicode=True))
        return stage.commit()
