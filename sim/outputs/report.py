"""The decision report: one self-contained HTML page a planner can hand to a board.

Figures are embedded as PNG data, so the file opens offline and can be mailed.
Sections: the question and the scenarios; a headline table with paired
differences; costs by event type, QALYs and cost-effectiveness; equity by
cultural group; figures over time and a few patients' journeys; and what the
numbers can and cannot say.

Utility weights: functioning F (0–100) maps linearly to a utility weight,
``UTILITY_AT_ZERO + (UTILITY_AT_FULL - UTILITY_AT_ZERO) * F / 100`` (0.35 at
F = 0, 0.90 at F = 100): the range of EQ-5D index values reported for people
with medically unexplained symptoms, from severely impaired to near full
health. It is a modelling convention, documented here so it can be replaced.
QALYs are the area under the weekly mean utility over the horizon (weeks/52).
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..analysis.experiment import (
    OUTCOMES,
    ExperimentResult,
    compare_arms,
    paired_difference,
    reference_arm,
    t_interval,
    with_interval,
)
from ..core.params import ROLES, STATUSES, ServiceParams
from .plots import themed

if TYPE_CHECKING:
    from matplotlib.figure import Figure

UTILITY_AT_ZERO = 0.35  # utility weight at functioning 0
UTILITY_AT_FULL = 0.90  # utility weight at functioning 100
MIN_QALYS_GAINED = 0.001  # QALYs per patient (about 9 hours in full health): smaller is no basis for a ratio
MIN_SHARE_IMPROVED = 0.001  # share of patients (one in a thousand): smaller is no basis for a ratio

HEADLINE = [
    "function_final",
    "symptoms_final",
    "improved",
    "deteriorated",
    "disengaged_first_year",
    "disengaged_ever",
    *(f"visits_{r}" for r in ROLES),
    "investigations",
    "emergency",
    "waiting_weeks",
    "coc",
    "upc",
    "secon",
    "cost",
]


def utility(function: np.ndarray | pd.Series | float) -> np.ndarray | pd.Series | float:
    """Utility weight (0.35–0.90) of a functioning level (0–100)."""
    return UTILITY_AT_ZERO + (UTILITY_AT_FULL - UTILITY_AT_ZERO) * function / 100.0


def economics(result: ExperimentResult) -> pd.DataFrame:
    """Per arm and replicate: cost, QALYs and share improved per patient, and the difference from the reference."""
    weeks = result.config.run.weeks
    w = result.weekly.sort_values("week")
    qaly = (
        w.assign(u=utility(w["function_mean"]))
        .groupby(["arm", "replicate"])["u"]
        .apply(lambda u: float(np.trapezoid(u.to_numpy(), dx=1.0)) / 52.0)
        .rename("qalys")
    )
    per = result.patients.groupby(["arm", "replicate"]).agg(cost=("cost", "mean"), improved=("improved", "mean"))
    table = per.join(qaly).reset_index()
    ref = reference_arm(result.config)
    base = table[table["arm"] == ref].set_index("replicate")
    for column in ("cost", "qalys", "improved"):
        table[f"d_{column}"] = table[column] - table["replicate"].map(base[column])
    table["horizon_weeks"] = weeks
    return table


def cost_by_event(result: ExperimentResult) -> pd.DataFrame:
    """Mean cost per patient by event type and arm (case reviews: the rest of the total)."""
    costs, p = result.config.costs, result.patients
    parts = {f"visits: {r}": p[f"visits_{r}"] * costs.visit.get(r, 0.0) for r in ROLES}
    parts["investigations"] = p["investigations"] * costs.investigation
    parts["emergency attendances"] = p["emergency"] * costs.emergency
    parts["referrals"] = p["referrals"] * costs.referral
    frame = pd.DataFrame(parts).assign(arm=p["arm"])
    frame["case reviews"] = p["cost"] - frame.drop(columns="arm").sum(axis=1)
    return frame.groupby("arm", sort=False).mean().T.round(1)


def equity(result: ExperimentResult) -> pd.DataFrame:
    """Outcomes by cultural group within each arm."""
    p = result.patients
    table = p.groupby(["arm", "cultural_group"], sort=False).agg(
        patients=("patient_id", "size"),
        function_change=("function_change", "mean"),
        improved=("improved", "mean"),
        disengaged_ever=("disengaged_ever", "mean"),
        alliance_final=("alliance_final", "mean"),
    )
    table["patients"] = (table["patients"] / result.config.run.replicates).round(0).astype(int)
    return table.round(3)


def not_on_track(result: ExperimentResult) -> pd.DataFrame:
    """Paired comparison among patients not on track at week 12 in the reference arm.

    The subgroup is defined once per replicate from the reference arm (symptoms
    at week 12 no lower than at baseline), then followed in every arm: the same
    patients, so the comparison stays paired (as routine outcome monitoring
    would flag them under current care).
    """
    p, ref = result.patients, reference_arm(result.config)
    base = p[p["arm"] == ref]
    flagged = base.loc[base["symptoms_week12"] >= base["symptoms_baseline"], ["replicate", "patient_id"]]
    subgroup = p.merge(flagged, on=["replicate", "patient_id"])
    if subgroup.empty:
        return pd.DataFrame()
    summary = compare_arms(subgroup, ref)
    keep = summary["outcome"].isin(["function_final", "symptoms_final", "improved", "disengaged_ever", "cost"])
    table = summary[keep].copy()
    table["value"] = [with_interval(r.mean, r.ci_low, r.ci_high) for r in table.itertuples()]
    wide = table.pivot_table(index="description", columns=["arm", "contrast"], values="value", aggfunc="first")
    wide.columns = [a if c == "level" else f"{a} − {ref}" for a, c in wide.columns]
    share = len(flagged) / max(len(base), 1)
    return wide.assign(**{"share of patients": f"{share:.2f}"})


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode()


def _img(data: str, alt: str) -> str:
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></figure>'


def _ce_plane(econ: pd.DataFrame, ref: str) -> str:
    data = econ[econ["arm"] != ref]
    with themed() as new_figure:
        fig = new_figure(figsize=(6, 4.5))
        ax = fig.subplots()
        for arm, points in data.groupby("arm", sort=False):
            ax.scatter(points["d_qalys"], points["d_cost"], label=arm, edgecolor="w", linewidth=0.5)
        ax.legend(title="arm")
        ax.axhline(0, color="grey", lw=0.8)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set(
            xlabel=f"QALYs gained per patient vs {ref}",
            ylabel=f"Extra cost per patient vs {ref}",
            title="Cost-effectiveness plane (one point per replicate)",
        )
        fig.tight_layout()
        return _png(fig)


def _journeys(journeys: pd.DataFrame) -> str:
    arms = list(dict.fromkeys(journeys["arm"]))
    markers = {s: m for s, m in zip(STATUSES, ["", "o", "", "s", "x"], strict=True)}
    with themed() as new_figure:
        fig = new_figure(figsize=(5.5 * len(arms), 4))
        axes = fig.subplots(1, len(arms), sharey=True, squeeze=False)
        for ax, arm in zip(axes[0], arms, strict=True):
            part = journeys[journeys["arm"] == arm]
            for patient, rows in part.groupby("patient_id"):
                week, function, status = (rows[c].to_numpy() for c in ("week", "function", "status"))
                line = ax.plot(week, function, lw=1.2, label=f"patient {patient}")[0]
                entered = np.r_[True, status[1:] != status[:-1]]  # the weeks a new status begins
                for name, marker in markers.items():
                    hit = entered & (status == name)
                    if marker and hit.any():
                        ax.scatter(week[hit], function[hit], marker=marker, color=line.get_color(), s=30)
            ax.set(title=f"{arm}: functioning of {part['patient_id'].nunique()} patients", xlabel="week")
        axes[0, 0].set_ylabel("functioning (0-100)")
        axes[0, -1].legend(fontsize=7, loc="lower right")
        fig.suptitle("o waiting for a first appointment, s discharged, x disengaged", fontsize=9)
        fig.tight_layout()
        return _png(fig)


def _table(frame: pd.DataFrame, test_id: str) -> str:
    return frame.to_html(classes="table", border=0, na_rep="–").replace("<table", f'<table data-testid="{test_id}"', 1)


def _headline(result: ExperimentResult) -> pd.DataFrame:
    s = result.summary
    ref = reference_arm(result.config)
    rows = []
    for outcome in HEADLINE:
        part = s[s["outcome"] == outcome]
        if part.empty:
            continue
        row = {"outcome": OUTCOMES[outcome]}
        for r in part[part["contrast"] == "level"].itertuples():
            row[r.arm] = with_interval(r.mean, r.ci_low, r.ci_high)
        for r in part[part["contrast"] != "level"].itertuples():
            row[f"{r.arm} − {ref}"] = with_interval(r.mean, r.ci_low, r.ci_high)
            row[f"d ({r.arm})"] = f"{r.effect_size:.2f}" if np.isfinite(r.effect_size) else "–"
        rows.append(row)
    row = {"outcome": "Cost per improved patient (currency units)"}
    econ = economics(result)
    for arm, g in econ.groupby("arm", sort=False):
        few = int((g["improved"] < MIN_SHARE_IMPROVED).sum())
        if few:
            row[arm] = f"not defined: (almost) no patient improved in {few} of {len(g)} replicates"
        else:
            row[arm] = with_interval(*t_interval((g["cost"] / g["improved"]).to_numpy()))
    rows.append(row)
    return pd.DataFrame(rows).set_index("outcome")


def _differences(result: ExperimentResult) -> pd.DataFrame:
    """The service parameters that differ between arms (what the scenarios are)."""
    arms = result.config.arms
    fields = [f.name for f in dataclasses.fields(ServiceParams)]
    differ = [f for f in fields if len({getattr(s, f) for s in arms.values()}) > 1]
    return pd.DataFrame({arm: [getattr(s, f) for f in differ] for arm, s in arms.items()}, index=differ)


def _contrast(summary: pd.DataFrame, outcome: str, arm: str, contrast: str) -> tuple[float, float, float]:
    """Mean and 95% interval of one row of ``result.summary`` (``contrast``: ``level`` or ``vs <reference>``)."""
    row = summary[(summary["outcome"] == outcome) & (summary["arm"] == arm) & (summary["contrast"] == contrast)].iloc[0]
    return float(row["mean"]), float(row["ci_low"]), float(row["ci_high"])


def _economics_summary(result: ExperimentResult, econ: pd.DataFrame) -> pd.DataFrame:
    """Cost, QALYs and the two cost-effectiveness ratios per arm.

    Costs and the share improved, and their paired differences, are read from
    ``result.summary`` (computed once, by ``compare_arms``); QALYs, which the
    summary does not hold, are compared with the same paired formula.
    """
    ref, s = reference_arm(result.config), result.summary
    qalys = econ.set_index(["arm", "replicate"])["qalys"]
    rows = []
    for arm in result.config.arms:
        row = {
            "arm": arm,
            "cost per patient": with_interval(*_contrast(s, "cost", arm, "level")),
            "QALYs per patient": with_interval(*t_interval(qalys.loc[arm].to_numpy())),
        }
        if arm != ref:
            d_cost = _contrast(s, "cost", arm, f"vs {ref}")
            d_qalys = paired_difference(qalys, arm, ref)[:3]
            d_improved = _contrast(s, "improved", arm, f"vs {ref}")
            row[f"extra cost vs {ref}"] = with_interval(*d_cost)
            row[f"QALYs gained vs {ref}"] = with_interval(*d_qalys)
            row["cost per QALY gained"] = icer(d_cost, d_qalys, MIN_QALYS_GAINED, "QALY")
            row["cost per extra improved patient"] = icer(d_cost, d_improved, MIN_SHARE_IMPROVED, "improved patient")
        rows.append(row)
    return pd.DataFrame(rows).set_index("arm")


def icer(d_cost: tuple[float, float, float], d_effect: tuple[float, float, float], smallest: float, unit: str) -> str:
    """An incremental cost-effectiveness ratio, or why there is none, by the usual conventions.

    - the difference in effect is below ``smallest`` or its 95% interval
      includes 0: "not defined" (a ratio over a difference that may be zero
      is noise: it jumps between huge positive and negative values);
    - more effective and no dearer: "dominant";
    - less effective and no cheaper: "dominated";
    - more effective and dearer: the extra cost per ``unit`` gained;
    - less effective and cheaper: the saving per ``unit`` lost.

    Args:
        d_cost: Difference in cost per patient (mean, 95% interval low, high; NaN interval with one replicate).
        d_effect: Difference in effect per patient, the same way.
        smallest: The smallest difference in effect worth dividing by, in its unit.
        unit: What the effect counts, for the text ("QALY", "improved patient").
    """
    cost, (effect, low, high) = d_cost[0], d_effect
    if not (np.isfinite(cost) and np.isfinite(effect)):
        return "not defined: no difference computed"
    if abs(effect) < smallest:
        return f"not defined: effect too small to divide by ({effect:+.2g} per patient, below {smallest:g})"
    if np.isfinite(low) and low <= 0 <= high:
        return f"not defined: effect too small to divide by (its interval [{low:+.2g}, {high:+.2g}] includes 0)"
    if effect > 0 and cost <= 0:
        return "dominant (more effective, no dearer)"
    if effect < 0 and cost >= 0:
        return "dominated (less effective, no cheaper)"
    ratio = cost / effect
    if effect > 0:
        return f"{ratio:,.0f} per {unit} gained"
    return f"{ratio:,.0f} saved per {unit} lost (less effective, cheaper)"


def _plain_language(result: ExperimentResult, econ: pd.DataFrame) -> str:
    s, ref = result.summary, reference_arm(result.config)
    sentences = []
    for arm in [a for a in result.config.arms if a != ref]:
        get = lambda o, arm=arm: s[(s.outcome == o) & (s.arm == arm) & (s.contrast != "level")].iloc[0]  # noqa: E731
        f, drop, cost = get("function_final"), get("disengaged_ever"), get("cost")
        direction = "better" if f["mean"] > 0 else "worse"
        if not np.isfinite(f.ci_low):
            sure = " (one replicate: no interval)"
        else:
            sure = "" if (f.ci_low > 0 or f.ci_high < 0) else " (the interval includes no difference)"
        size = f", a standardised difference of {f.effect_size:.2f}" if np.isfinite(f.effect_size) else ""
        sentences.append(
            f"Under <b>{html.escape(arm)}</b>, the same patients end {abs(f['mean']):.1f} points {direction} on "
            f"functioning (0–100) than under {html.escape(ref)}{size}{sure}; "
            f"{abs(drop['mean']) * 100:.1f} percentage points "
            f"{'fewer' if drop['mean'] < 0 else 'more'} drop out, and care costs "
            f"{abs(cost['mean']):,.0f} {'less' if cost['mean'] < 0 else 'more'} per patient over "
            f"{result.config.run.weeks} weeks."
        )
    return (
        "<p>" + " ".join(sentences) + "</p>"
        "<p><b>What these numbers cannot say.</b> They come from a simulation whose mechanisms and parameters are "
        "assumptions, calibrated to published averages (see docs/validation.md), not measured in this service. "
        f"The intervals show the spread across {result.config.run.replicates} simulated replicates of the same "
        "service — Monte Carlo uncertainty — not uncertainty in the model's assumptions; the sensitivity "
        "analysis (docs/sensitivity.md) shows which assumptions matter most. Utility weights and QALYs use a "
        "linear mapping from functioning, and costs are the unit costs set in the configuration. Use the "
        "differences between scenarios, more than the absolute levels, and check them against local data.</p>"
    )


CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table.table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
table.table td,table.table th{border:1px solid #ddd;padding:3px 8px;text-align:right}
table.table th{background:#f3f3f3}figure{margin:.5em 0}img{max-width:100%}
.note{color:#555;font-size:.9em}
"""


def build_report(result: ExperimentResult, figures: Path | None = None) -> str:
    """The report as one HTML string (figures from ``figures``/ embedded as data).

    Args:
        result: A finished experiment.
        figures: Folder holding the standard figures (``sim.outputs.plots.standard_figures``).
    """
    config, ref = result.config, reference_arm(result.config)
    econ = economics(result)
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(config.experiment)}"
        f"</title><style>{CSS}</style></head><body>",
        f"<h1>Decision report: {html.escape(config.experiment)}</h1>",
        f"<p class='note'>{len(config.arms)} scenarios × {config.run.replicates} replicates × "
        f"{config.population.n_patients:,} patients ({config.population.cohort} cohort) × {config.run.weeks} weeks; "
        f"base seed {config.run.seed}. Every scenario sees the same patients and the same chance events; "
        f"differences are paired by replicate and compared with <b>{html.escape(ref)}</b>.</p>",
        "<h2>The question and the scenarios</h2>",
        f"<p>How do outcomes, use of services and costs differ between {', '.join(map(html.escape, config.arms))} "
        "for the same people with functional somatic conditions? The scenarios differ only in these service "
        "settings:</p>",
        _table(_differences(result), "scenarios"),
        "<h2>Headline results</h2>",
        "<p class='note'>Mean per patient at the horizon [95% interval across replicates]; differences are "
        "paired; d is the standardised mean difference (difference over the pooled patient-level SD). Improved / "
        "deteriorated: PHQ-15 down / up by 3 points or more.</p>",
        _table(_headline(result), "headline"),
        "<h2>Costs and cost-effectiveness</h2>",
        "<p class='note'>Mean cost per patient by event type (currency units from the configuration).</p>",
        _table(cost_by_event(result), "costs"),
        f"<p class='note'>Utility weight = {UTILITY_AT_ZERO} + {UTILITY_AT_FULL - UTILITY_AT_ZERO:.2f} × "
        "functioning/100; QALYs = area under the weekly mean utility over the horizon.</p>",
        _table(_economics_summary(result, econ), "economics"),
        _img(_ce_plane(econ, ref), "cost-effectiveness plane"),
        "<h2>Patients not on track at 12 weeks</h2>",
        "<p class='note'>Patients whose symptoms at week 12 were no lower than at baseline under the reference "
        "scenario — those routine outcome monitoring would flag — followed in every scenario (paired).</p>",
        _table(not_on_track(result), "not_on_track"),
        "<h2>Equity: outcomes by cultural group</h2>",
        _table(equity(result), "equity"),
        "<h2>Over time</h2>",
    ]
    if figures is not None:
        for name in ("function", "symptoms", "alliance", "trust", "disengaged"):
            path = figures / f"{name}.png"
            if path.is_file():
                parts.append(_img(base64.b64encode(path.read_bytes()).decode(), f"{name} over time"))
    if result.journeys is not None and not result.journeys.empty:
        parts += ["<h2>A few patients' journeys</h2>", _img(_journeys(result.journeys), "patient journeys")]
    parts += ["<h2>What the numbers say, and what they cannot</h2>", _plain_language(result, econ), "</body></html>"]
    return "\n".join(parts)
