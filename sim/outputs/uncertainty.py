"""Probabilistic sensitivity analysis: run the draws, summarise the decision, write psa.parquet and its report.

Each draw runs every arm on one seed (common random numbers within a draw).
Costs and QALYs per patient come from :func:`sim.outputs.report.economics`,
the formulas of the decision report. Draws go to worker processes, one per
core by default (``run.jobs`` as in an experiment), or to a Dask cluster;
every draw derives its seed from the base seed and its index, so the table
is the same bit for bit whatever the number of workers or where they run.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import yaml

from ..analysis import decision
from ..analysis.experiment import in_workers, reference_arm, run_experiment, worker_count
from ..analysis.psa import UncertainParameter, draw_config
from ..analysis.sweeps import MANIFEST
from ..core.files import StagedFolder
from ..core.params import Config, to_dict
from .plots import themed
from .report import CSS, _img, _png, _table, economics
from .writer import config_hash, versions

if TYPE_CHECKING:
    from distributed import Client

OUTCOME_COLUMNS = ("function_final", "symptoms_final", "disengaged_ever", "improved")
"""Per-patient outcomes kept per draw and arm (means over patients)."""


def run_draw(config: Config) -> pd.DataFrame:
    """Every arm of one draw's config (one replicate, one seed): cost, QALYs and outcomes per patient, per arm."""
    result = run_experiment(config)
    econ = economics(result).set_index("arm")[["cost", "qalys"]]
    outcomes = result.patients.groupby("arm")[list(OUTCOME_COLUMNS)].mean().astype(float)
    return econ.join(outcomes).loc[list(config.arms)].reset_index()


def run_psa(
    config: Config,
    parameters: list[UncertainParameter],
    draws: pd.DataFrame,
    progress: Callable[[int], None] | None = None,
    client: Client | None = None,
) -> pd.DataFrame:
    """Run every draw and return the tidy PSA table (draw x arm).

    Args:
        config: The base configuration (validated); ``run.jobs`` sets the local workers.
        parameters: The uncertain parameters.
        draws: One row per draw: ``draw`` and one column per parameter path.
        progress: Called with the draw index after each finished draw.
        client: A Dask ``distributed`` client: the draws go to its cluster
            instead of local processes (same table, bit for bit).

    Returns:
        ``draw``, ``arm``, ``seed``, cost, QALYs and outcomes per patient, then the draw's parameter values.
    """
    configs = [
        draw_config(config, parameters, {p.path: float(row[p.path]) for p in parameters}, int(row["draw"]))
        for _, row in draws.iterrows()
    ]
    tables: list[pd.DataFrame | None] = [None] * len(configs)
    if client is None:
        finished = in_workers(run_draw, [(c,) for c in configs], worker_count(config, len(configs)))
    else:
        finished = on_cluster(client, configs)
    for i, table in finished:
        tables[i] = table.assign(draw=int(draws["draw"].iloc[i]), seed=configs[i].run.seed)
        if progress is not None:
            progress(i)
    frame = pd.concat(tables, ignore_index=True)
    frame = frame.merge(draws, on="draw", how="left")
    keys = ["draw", "arm", "seed"]
    return frame[keys + [c for c in frame.columns if c not in keys]]


def on_cluster(client: Client, configs: list[Config]) -> Iterator[tuple[int, pd.DataFrame]]:
    """``(index, table)`` of every draw run on a Dask cluster, in the order they finish.

    Any cluster Dask reaches works the same: a ``LocalCluster``, a scheduler
    with workers started by hand, or dask-jobqueue's ``SLURMCluster``. The
    workers need this package importable. ``pure=False``: each call is run,
    never served from Dask's cache of an identical earlier one.
    """
    from distributed import as_completed as finished

    futures = client.map(run_draw, configs, pure=False)
    index = {future.key: i for i, future in enumerate(futures)}
    try:
        for future in finished(futures):
            yield index[future.key], future.result()
    except BaseException:
        client.cancel(futures)
        raise


@dataclass(frozen=True)
class DecisionSettings:
    """How the PSA table is turned into a decision (all stated in the report).

    Attributes:
        wtp: Willingness to pay per QALY at which EVPI, EVPPI and the headline are given (currency units).
        wtp_max: The top of the willingness-to-pay range of the CEAC (from 0).
        patients_per_year: Patients a year whom the decision concerns (population EVPI).
        years: How long the decision stands (population EVPI).
        discount_rate: Annual discount rate of the population EVPI.
    """

    wtp: float = 20_000.0
    wtp_max: float = 100_000.0
    patients_per_year: float = 10_000.0
    years: float = 5.0
    discount_rate: float = 0.035

    @property
    def grid(self) -> np.ndarray:
        """The willingness-to-pay grid of the curves: 101 points from 0 to ``wtp_max``."""
        return np.linspace(0.0, self.wtp_max, 101)


def _matrix(psa: pd.DataFrame, column: str, arms: list[str]) -> np.ndarray:
    return psa.pivot(index="draw", columns="arm", values=column)[arms].to_numpy()


def decision_tables(
    psa: pd.DataFrame, parameters: list[UncertainParameter], arms: list[str], settings: DecisionSettings
) -> dict[str, pd.DataFrame]:
    """The decision summaries of a PSA table.

    Returns:
        ``curves``: per willingness to pay, each arm's CEAC value, the optimal
        arm (frontier), its probability and the EVPI per patient;
        ``voi``: EVPI and EVPPI per parameter group at ``settings.wtp``, per
        patient and for the population; ``best``: per arm, the probability of
        the highest NMB at ``settings.wtp`` and of the best functioning.
    """
    costs, effects = _matrix(psa, "cost", arms), _matrix(psa, "qalys", arms)
    grid = settings.grid
    curves = pd.DataFrame(decision.ceac(costs, effects, grid), columns=[f"p_best_{a}" for a in arms])
    optimal, prob = decision.frontier(costs, effects, grid)
    curves.insert(0, "wtp", grid)
    curves["optimal_arm"] = [arms[i] for i in optimal]
    curves["p_optimal"] = prob
    curves["evpi_per_patient"] = [decision.evpi(decision.net_benefit(costs, effects, lam)) for lam in grid]

    nmb = decision.net_benefit(costs, effects, settings.wtp)
    params = psa.drop_duplicates("draw").set_index("draw").sort_index()
    groups: dict[str, list[str]] = {}
    for p in parameters:
        groups.setdefault(p.group, []).append(p.path)
    scale = decision.population_evpi(1.0, settings.patients_per_year, settings.years, settings.discount_rate)
    rows = [("all parameters (EVPI)", ", ".join(p.path for p in parameters), decision.evpi(nmb))]
    rows += [(g, ", ".join(paths), decision.evppi(nmb, params[paths].to_numpy())) for g, paths in groups.items()]
    voi = pd.DataFrame(rows, columns=["group", "parameters", "per_patient"])
    voi["population"] = voi["per_patient"] * scale

    best = pd.DataFrame(
        {
            "arm": arms,
            "p_highest_net_benefit": decision.best_shares(nmb),
            "p_best_functioning": decision.best_shares(_matrix(psa, "function_final", arms)),
            "mean_cost": costs.mean(axis=0),
            "mean_qalys": effects.mean(axis=0),
            "mean_net_benefit": nmb.mean(axis=0),
        }
    )
    return {"curves": curves, "voi": voi, "best": best}


def _ce_cloud(psa: pd.DataFrame, arms: list[str], ref: str, wtp: float) -> str:
    d_cost = _matrix(psa, "cost", arms) - _matrix(psa, "cost", [ref])
    d_qaly = _matrix(psa, "qalys", arms) - _matrix(psa, "qalys", [ref])
    with themed() as new_figure:
        fig = new_figure(figsize=(7, 5))
        ax = fig.subplots()
        for j, arm in enumerate(arms):
            if arm != ref:
                ax.scatter(d_qaly[:, j], d_cost[:, j], s=12, alpha=0.6, label=arm, edgecolor="none")
        lim = np.nanmax(np.abs(d_qaly)) * 1.1 or 1.0
        xs = np.array([-lim, lim])
        ax.plot(xs, wtp * xs, color="grey", ls="--", lw=1, label=f"{wtp:,.0f} per QALY")
        ax.axhline(0, color="grey", lw=0.8)
        ax.axvline(0, color="grey", lw=0.8)
        ax.legend(title="arm")
        ax.set(
            xlabel=f"QALYs gained per patient vs {ref}",
            ylabel=f"Extra cost per patient vs {ref} (currency units)",
            title="Cost-effectiveness plane: one point per parameter draw",
        )
        fig.tight_layout()
        return _png(fig)


def _acceptability(curves: pd.DataFrame, arms: list[str]) -> str:
    with themed() as new_figure:
        fig = new_figure(figsize=(7, 4.5))
        ax = fig.subplots()
        for arm in arms:
            ax.plot(curves["wtp"], curves[f"p_best_{arm}"], label=arm)
        ax.plot(curves["wtp"], curves["p_optimal"], color="black", lw=3, alpha=0.35, label="frontier (optimal arm)")
        ax.set(
            ylim=(-0.02, 1.02),
            xlabel="Willingness to pay per QALY (currency units)",
            ylabel="Probability of the highest net benefit",
            title="Acceptability curves (CEAC) and frontier",
        )
        ax.legend()
        fig.tight_layout()
        return _png(fig)


def _evpi_curve(curves: pd.DataFrame) -> str:
    with themed() as new_figure:
        fig = new_figure(figsize=(7, 3.5))
        ax = fig.subplots()
        ax.plot(curves["wtp"], curves["evpi_per_patient"], color="C3")
        ax.set(
            xlabel="Willingness to pay per QALY (currency units)",
            ylabel="EVPI per patient (currency units)",
            title="Expected value of perfect information",
        )
        fig.tight_layout()
        return _png(fig)


def _money(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def build_psa_report(
    psa: pd.DataFrame,
    config: Config,
    parameters: list[UncertainParameter],
    settings: DecisionSettings,
    tables: dict[str, pd.DataFrame],
    source: str,
) -> str:
    """The PSA's self-contained HTML report (figures embedded).

    Args:
        psa: The PSA table (draw x arm).
        config: The base configuration.
        parameters: The uncertain parameters.
        settings: Willingness to pay and population of the value of information.
        tables: What :func:`decision_tables` returned.
        source: Where the draws came from, in words ("the priors", "posterior sample <file>").
    """
    arms, ref = list(config.arms), reference_arm(config)
    curves, voi, best = tables["curves"], tables["voi"], tables["best"]
    n_draws = psa["draw"].nunique()
    at = curves.iloc[int(np.argmin(np.abs(curves["wtp"] - settings.wtp)))]
    evpi_row = voi.iloc[0]
    top = voi.iloc[1:].sort_values("per_patient", ascending=False)
    lead = best.set_index("arm")
    winner = lead["mean_net_benefit"].idxmax()
    priors = pd.DataFrame(
        {
            "parameter": [p.path for p in parameters],
            "group": [p.group for p in parameters],
            "default": [p.default for p in parameters],
            "prior": [f"{p.prior.family}, spread {p.prior.spread:g}" for p in parameters],
            "drawn 5%–95%": [
                f"{psa[p.path].quantile(0.05):.4g} – {psa[p.path].quantile(0.95):.4g}" for p in parameters
            ],
            "why": [p.prior.why for p in parameters],
        }
    ).set_index("parameter")
    best_view = (
        best.assign(
            p_highest_net_benefit=best["p_highest_net_benefit"].map("{:.0%}".format),
            p_best_functioning=best["p_best_functioning"].map("{:.0%}".format),
            mean_cost=best["mean_cost"].map(_money),
            mean_qalys=best["mean_qalys"].map("{:.3f}".format),
            mean_net_benefit=best["mean_net_benefit"].map(_money),
        )
        .set_index("arm")
        .rename(
            columns={
                "p_highest_net_benefit": f"P(highest net benefit at {settings.wtp:,.0f}/QALY)",
                "p_best_functioning": "P(best functioning at the horizon)",
                "mean_cost": "mean cost per patient",
                "mean_qalys": "mean QALYs per patient",
                "mean_net_benefit": f"mean net benefit at {settings.wtp:,.0f}/QALY",
            }
        )
    )
    voi_view = voi.assign(per_patient=voi["per_patient"].map(_money), population=voi["population"].map(_money))
    voi_view = voi_view.set_index("group").rename(columns={"per_patient": "per patient"})
    plain = (
        f"<p>Across {n_draws} draws of the uncertain parameters, <b>{html.escape(winner)}</b> has the highest "
        f"expected net benefit at {settings.wtp:,.0f} currency units per QALY, and it is the most cost-effective "
        f"arm in {lead.at[winner, 'p_highest_net_benefit']:.0%} of the draws. The chance of choosing wrongly "
        f"costs, on average, {_money(evpi_row['per_patient'])} currency units per patient (EVPI); for "
        f"{settings.patients_per_year:,.0f} patients a year over {settings.years:g} years (discounted at "
        f"{settings.discount_rate:.1%} a year) that is {_money(evpi_row['population'])} — an upper limit on what "
        "further research on these parameters could be worth."
    )
    if len(top):
        plain += (
            f" The parameters whose uncertainty matters most are those of <b>{html.escape(top.iloc[0]['group'])}"
            f"</b> (EVPPI {_money(top.iloc[0]['per_patient'])} per patient)."
        )
    if source == "the priors":
        where = "as the priors state it — judgement, until a posterior fitted to the targets replaces them —"
    else:
        where = f"as {html.escape(source)} states it (fitted to the usual-care targets),"
    plain += (
        f" These figures carry parameter uncertainty {where} and each draw simulates one cohort, so part of "
        "the spread is chance.</p>"
    )
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Probabilistic sensitivity analysis"
        f"</title><style>{CSS}</style></head><body>",
        f"<h1>Probabilistic sensitivity analysis: {html.escape(config.experiment)}</h1>",
        f"<p class='note'>{n_draws} parameter draws from {html.escape(source)} × {len(arms)} arms × "
        f"{config.population.n_patients:,} patients × {config.run.weeks} weeks; base seed {config.run.seed}. "
        "Within a draw every arm sees the same patients and chance events (common random numbers). Costs in "
        "the configuration's currency units; QALYs from functioning as in the decision report. Differences "
        f"are against <b>{html.escape(ref)}</b>.</p>",
        "<h2>In plain language</h2>",
        plain,
        "<h2>Which arm is best</h2>",
        _table(best_view.reset_index(), "psa_best"),
        "<h2>Cost-effectiveness plane</h2>",
        _img(_ce_cloud(psa, arms, ref, settings.wtp), "cost-effectiveness plane with one point per draw"),
        "<h2>Acceptability curves and frontier</h2>",
        "<p class='note'>The share of draws in which each arm has the highest net monetary benefit (willingness "
        "to pay × QALYs − cost), over a range of willingness to pay; the frontier follows the arm with the "
        "highest <i>expected</i> net benefit.</p>",
        _img(_acceptability(curves, arms), "acceptability curves and frontier"),
        f"<p class='note'>At {settings.wtp:,.0f} per QALY the optimal arm is {html.escape(at['optimal_arm'])}, "
        f"most cost-effective in {at['p_optimal']:.0%} of the draws.</p>",
        "<h2>Value of information</h2>",
        f"<p class='note'>At {settings.wtp:,.0f} per QALY, in currency units. EVPI: expected value of perfect "
        "information about all parameters; EVPPI: about one group only (regression metamodel, Strong, Oakley "
        f"&amp; Brennan 2014). Population: {settings.patients_per_year:,.0f} patients a year for "
        f"{settings.years:g} years, discounted at {settings.discount_rate:.1%} a year.</p>",
        _table(voi_view.reset_index(), "psa_voi"),
        _img(_evpi_curve(curves), "EVPI per patient over willingness to pay"),
        "<h2>The uncertain parameters</h2>",
        _table(priors.reset_index(), "psa_priors"),
        "</body></html>",
    ]
    return "\n".join(parts)


def write_psa(
    psa: pd.DataFrame,
    config: Config,
    parameters: list[UncertainParameter],
    settings: DecisionSettings,
    target: Path,
    source: str,
    overrides: list[str] | None = None,
) -> Path:
    """Write psa.parquet, the decision tables, report.html, config.yaml and the manifest as one complete folder.

    The folder appears under its name only when every file is written (see
    :class:`sim.core.files.StagedFolder`); the manifest, written last, marks it complete.

    Returns:
        The folder written.
    """
    arms = list(config.arms)
    tables = decision_tables(psa, parameters, arms, settings)
    with StagedFolder(Path(target)) as stage:
        staged = stage.path
        with open(staged / "config.yaml", "w") as fh:
            yaml.safe_dump(to_dict(config), fh, sort_keys=False)
        psa.to_parquet(staged / "psa.parquet", index=False)
        for name, table in tables.items():
            table.to_csv(staged / f"{name}.csv", index=False)
        (staged / "report.html").write_text(build_psa_report(psa, config, parameters, settings, tables, source))
        manifest = {
            "experiment": config.experiment,
            "kind": "psa",
            "config_hash": config_hash(config),
            "draws": int(psa["draw"].nunique()),
            "source": source,
            "base_seed": config.run.seed,
            "draw_seeds": {str(d): int(s) for d, s in psa.drop_duplicates("draw")[["draw", "seed"]].values},
            "decision": {k: getattr(settings, k) for k in DecisionSettings.__dataclass_fields__},
            "overrides": overrides or [],
            **versions(),
        }
        with open(staged / MANIFEST, "w") as fh:
            json.dump(manifest, fh, indent=2)
        return stage.commit()
