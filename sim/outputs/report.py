"""The decision report: one self-contained HTML page a planner can hand to a board.

Figures are embedded as PNG data, so the file opens offline and can be mailed,
and it links to nothing outside itself. Sections: a plain-language summary (the
answer, how sure it is, the main caveat); the question and the scenarios; a
headline table with paired differences; what carries the effect (when the
result holds a mediation table, as ``experiments.mediate`` makes); staffing
and capacity (with warnings); costs by event type, QALYs and
cost-effectiveness; budget impact, staff included; patients not on track;
equity by cultural group; figures over time and a few patients' journeys;
and what the numbers cannot say.

Written for a board: every parameter and outcome appears under its label and
unit (``sim.core.params.label``/``unit``, ``sim.analysis.experiment.OUTCOMES``),
never its field name, and every number goes through one formatter
(``sim.analysis.experiment.number``: three significant digits).

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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..analysis.budget import budget_impact, cost_per_patient, staffing_table
from ..analysis.capacity import capacity_table, capacity_warnings, waits_table
from ..analysis.experiment import (
    OUTCOMES,
    ExperimentResult,
    compare_arms,
    decimals,
    number,
    paired_difference,
    reference_arm,
    t_interval,
    with_interval,
)
from ..core.params import ROLE_LABELS, ROLES, ServiceParams, label, none_at_zero, unit
from ..core.service import WEEKS_PER_YEAR
from .mediation import report_section
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
    parts = {f"Visits to a {ROLE_LABELS[r]}": p[f"visits_{r}"] * costs.visit.get(r, 0.0) for r in ROLES}
    parts["Tests (investigations)"] = p["investigations"] * costs.investigation
    parts["Emergency attendances"] = p["emergency"] * costs.emergency
    parts["Referrals (administration)"] = p["referrals"] * costs.referral
    frame = pd.DataFrame(parts).assign(arm=p["arm"])
    frame["Case reviews"] = p["cost"] - frame.drop(columns="arm").sum(axis=1)
    return frame.groupby("arm", sort=False).mean().T


EQUITY_OUTCOMES = ("function_change", "improved", "disengaged_ever", "alliance_final")
"""Outcomes of the equity table (labelled from ``OUTCOMES``)."""


def equity(result: ExperimentResult) -> pd.DataFrame:
    """Outcomes by cultural group within each arm: patients per replicate and the mean of each outcome."""
    p = result.patients
    table = p.groupby(["arm", "cultural_group"], sort=False).agg(
        patients=("patient_id", "size"), **{o: (o, "mean") for o in EQUITY_OUTCOMES}
    )
    table["patients"] = (table["patients"] / result.config.run.replicates).round(0).astype(int)
    return table


NOT_ON_TRACK_OUTCOMES = ("function_final", "symptoms_final", "improved", "disengaged_ever", "cost")
"""The outcomes the not-on-track table shows."""


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
    shown = [o for o in NOT_ON_TRACK_OUTCOMES if o in p.columns]  # only these are compared: the rest is not shown
    subgroup = p[["arm", "replicate", "patient_id", *shown]].merge(flagged, on=["replicate", "patient_id"])
    if subgroup.empty:
        return pd.DataFrame()
    table = compare_arms(subgroup, ref)
    table["value"] = [with_interval(r.mean, r.ci_low, r.ci_high) for r in table.itertuples()]
    table["column"] = [arm_name(r.arm) if r.contrast == "level" else versus(r.arm, ref) for r in table.itertuples()]
    wide = table.pivot_table(index="description", columns="column", values="value", aggfunc="first", sort=False)
    share = len(flagged) / max(len(base), 1)
    wide = wide.assign(**{"share of patients": number(share)})
    wide.columns.name = None
    return wide.rename_axis("outcome").reset_index()


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
            ax.scatter(points["d_qalys"], points["d_cost"], label=arm_name(arm), edgecolor="w", linewidth=0.5)
        ax.legend(title="care model")
        ax.axhline(0, color="grey", lw=0.8)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set(
            xlabel=f"QALYs gained per patient vs {arm_name(ref)}",
            ylabel=f"Extra cost per patient vs {arm_name(ref)} (currency units)",
            title="Cost-effectiveness plane (one point per replicate)",
        )
        fig.tight_layout()
        return _png(fig)


JOURNEY_MARKERS: dict[str, tuple[str, str]] = {
    "waiting": ("o", "starts waiting for a first appointment"),
    "discharged": ("s", "discharged"),
    "disengaged": ("x", "disengaged (left care)"),
}
"""Status changes marked on a journey: the marker drawn, and the words its key says."""


def _journeys(journeys: pd.DataFrame) -> str:
    with themed() as new_figure:
        return _png(journeys_figure(journeys, new_figure))


def journeys_figure(journeys: pd.DataFrame, new_figure: type[Figure]) -> Figure:
    """Functioning of a few patients per care model, status changes marked, with a key in words."""
    from matplotlib.lines import Line2D

    arms = list(dict.fromkeys(journeys["arm"]))
    fig = new_figure(figsize=(5.5 * len(arms), 4.6))
    axes = fig.subplots(1, len(arms), sharey=True, squeeze=False)
    for ax, arm in zip(axes[0], arms, strict=True):
        part = journeys[journeys["arm"] == arm]
        for _, rows in part.groupby("patient_id"):
            week, function, status = (rows[c].to_numpy() for c in ("week", "function", "status"))
            line = ax.plot(week, function, lw=1.2)[0]
            entered = np.r_[True, status[1:] != status[:-1]]  # the weeks a new status begins
            for name, (marker, _) in JOURNEY_MARKERS.items():
                hit = entered & (status == name)
                if hit.any():
                    ax.scatter(week[hit], function[hit], marker=marker, color=line.get_color(), s=30)
        ax.set(title=f"{arm_name(arm)}: {part['patient_id'].nunique()} patients", xlabel="Week")
    axes[0, 0].set_ylabel("Functioning (0–100, higher better)")
    key = [
        Line2D([], [], color="0.3", marker=marker, linestyle="none", label=words)
        for marker, words in JOURNEY_MARKERS.values()
    ]
    fig.legend(handles=key, loc="lower center", ncols=len(key), frameon=False, fontsize=10)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def _table(frame: pd.DataFrame, test_id: str) -> str:
    """A table with one header row (the first column holds the row labels) and every number already text."""
    frame = frame.copy()
    frame.columns.name = None  # else pandas adds the columns' name as an extra header cell
    return frame.to_html(classes="table", border=0, na_rep="–", index=False).replace(
        "<table", f'<table data-testid="{test_id}"', 1
    )


def arm_name(arm: str) -> str:
    """A care model as the report names it (``usual_care`` -> ``usual care``)."""
    return arm.replace("_", " ")


def versus(arm: str, ref: str) -> str:
    """The column heading of a paired difference."""
    return f"{arm_name(arm)} − {arm_name(ref)}"


SHARE_UNITS = ("probability", "share")
"""Declared units shown as a percentage."""


def shown_unit(path: str) -> str:
    """The unit a parameter's value is shown in ("" for yes/no)."""
    declared = unit(path)
    if declared.startswith(SHARE_UNITS):
        return "%"
    if declared == "on/off":
        return ""
    if declared == "level on [0, 1]":
        return "on a 0–1 scale"
    return declared


def shown_value(path: str, value: object) -> str:
    """A parameter's value in words or by the one precision rule: yes/no, "none" where 0 switches it off."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if none_at_zero(path) and value == 0:
        return "none"
    # A setting is an exact input, not an estimate: the same rule, without padding zeros (6 weeks, not 6.00).
    value = 100.0 * float(value) if shown_unit(path) == "%" else float(value)
    text = number(value)
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return f"{text} %" if shown_unit(path) == "%" else text


def parameter_heading(path: str) -> str:
    """A parameter's label with the unit its values are shown in."""
    shown, words = shown_unit(path), label(path)
    return f"{words} ({shown})" if shown and shown != "%" and shown.lower() not in words.lower() else words


def numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Every numeric column as text by the one precision rule, each column to the decimals of its largest value."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_numeric_dtype(out[column]) and not pd.api.types.is_bool_dtype(out[column]):
            values = out[column].astype(float)
            places = 0 if pd.api.types.is_integer_dtype(out[column]) else decimals(*values.to_numpy())
            out[column] = [number(v, places) for v in values]
    return out


def _headline(result: ExperimentResult, econ: pd.DataFrame) -> pd.DataFrame:
    s = result.summary
    ref = reference_arm(result.config)
    rows = []
    for outcome in HEADLINE:
        part = s[s["outcome"] == outcome]
        if part.empty:
            continue
        row = {"outcome": OUTCOMES[outcome]}
        for r in part[part["contrast"] == "level"].itertuples():
            row[arm_name(r.arm)] = with_interval(r.mean, r.ci_low, r.ci_high)
        for r in part[part["contrast"] != "level"].itertuples():
            row[versus(r.arm, ref)] = with_interval(r.mean, r.ci_low, r.ci_high, signed=True)
            row[f"d ({arm_name(r.arm)})"] = number(r.effect_size) if np.isfinite(r.effect_size) else "–"
        rows.append(row)
    row = {"outcome": "Cost per improved patient (currency units)"}
    for arm, g in econ.groupby("arm", sort=False):
        few = int((g["improved"] < MIN_SHARE_IMPROVED).sum())
        if few:
            row[arm_name(arm)] = f"not defined: (almost) no patient improved in {few} of {len(g)} replicates"
        else:
            row[arm_name(arm)] = with_interval(*t_interval((g["cost"] / g["improved"]).to_numpy()))
    rows.append(row)
    return pd.DataFrame(rows)


def _differences(result: ExperimentResult) -> pd.DataFrame:
    """The service parameters that differ between arms (what the scenarios are), labelled, with units."""
    arms = result.config.arms
    fields = [f.name for f in dataclasses.fields(ServiceParams)]
    differ = [f for f in fields if len({getattr(s, f) for s in arms.values()}) > 1]
    table = {"service setting": [parameter_heading(f"service.{f}") for f in differ]}
    for arm, service in arms.items():
        table[arm_name(arm)] = [shown_value(f"service.{f}", getattr(service, f)) for f in differ]
    return pd.DataFrame(table)


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
            "care model": arm_name(arm),
            "cost per patient": with_interval(*_contrast(s, "cost", arm, "level")),
            "QALYs per patient": with_interval(*t_interval(qalys.loc[arm].to_numpy())),
        }
        if arm != ref:
            d_cost = _contrast(s, "cost", arm, f"vs {ref}")
            d_qalys = paired_difference(qalys, arm, ref)[:3]
            d_improved = _contrast(s, "improved", arm, f"vs {ref}")
            row[f"extra cost vs {arm_name(ref)}"] = with_interval(*d_cost, signed=True)
            row[f"QALYs gained vs {arm_name(ref)}"] = with_interval(*d_qalys, signed=True)
            row["cost per QALY gained"] = icer(d_cost, d_qalys, MIN_QALYS_GAINED, "QALY")
            row["cost per extra improved patient"] = icer(d_cost, d_improved, MIN_SHARE_IMPROVED, "improved patient")
        rows.append(row)
    return pd.DataFrame(rows)


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
        places = decimals(low, high)
        interval = f"[{number(low, places, signed=True)}, {number(high, places, signed=True)}]"
        return f"not defined: effect too small to divide by (its interval {interval} includes 0)"
    if effect > 0 and cost <= 0:
        return "dominant (more effective, no dearer)"
    if effect < 0 and cost >= 0:
        return "dominated (less effective, no cheaper)"
    ratio = cost / effect
    if effect > 0:
        return f"{number(ratio)} per {unit} gained"
    return f"{number(ratio)} saved per {unit} lost (less effective, cheaper)"


def _summary(result: ExperimentResult, econ: pd.DataFrame, warnings: Sequence[str]) -> str:
    """The plain-language summary at the top: the answer, how sure it is, and the main caveat."""
    s, ref, config = result.summary, reference_arm(result.config), result.config
    others = [a for a in config.arms if a != ref]
    qalys = econ.set_index(["arm", "replicate"])["qalys"]
    levels = {a: _contrast(s, "function_final", a, "level")[0] for a in config.arms}
    best = max(levels, key=levels.get)
    answer = [
        f"<p data-testid='answer'><b>The answer.</b> On functioning (0–100, higher better) after "
        f"{config.run.weeks} weeks, <b>{html.escape(arm_name(best))}</b> does best of the "
        f"{len(config.arms)} care models compared.</p><ul>"
    ]
    unclear = []
    for arm in others:
        f, f_low, f_high = _contrast(s, "function_final", arm, f"vs {ref}")
        cost, cost_low, cost_high = _contrast(s, "cost", arm, f"vs {ref}")
        d = s[(s.outcome == "function_final") & (s.arm == arm) & (s.contrast == f"vs {ref}")].iloc[0].effect_size
        size = f", a standardised difference of {number(d)}" if np.isfinite(d) else ""
        ratio = icer((cost, cost_low, cost_high), paired_difference(qalys, arm, ref)[:3], MIN_QALYS_GAINED, "QALY")
        if not np.isfinite(f_low) or f_low <= 0 <= f_high:
            unclear.append(arm_name(arm))
        f_text = number(abs(f), decimals(f, f_low, f_high))
        cost_text = number(abs(cost), decimals(cost, cost_low, cost_high))
        answer.append(
            f"<li><b>{html.escape(arm_name(arm).capitalize())}</b> against {html.escape(arm_name(ref))}: functioning "
            f"{f_text} points {'higher' if f > 0 else 'lower'} "
            f"({_interval_words(f_low, f_high)}{size}); care costs {cost_text} "
            f"{'more' if cost > 0 else 'less'} per patient over the {config.run.weeks} weeks "
            f"({_interval_words(cost_low, cost_high)}); {html.escape(_ratio_words(ratio))}.</li>"
        )
    answer.append("</ul>")
    replicates = config.run.replicates
    if replicates < 2:
        sure = "With one replicate there is no interval: run more replicates before relying on any difference."
    elif unclear:
        sure = (
            f"For {', '.join(map(html.escape, unclear))} the interval includes no difference in functioning: "
            "the simulation cannot tell it apart from the reference at this size."
        )
    else:
        sure = "Every difference in functioning above is clear of zero across the replicates."
    certainty = (
        f"<p data-testid='certainty'><b>How sure.</b> The intervals are 95% intervals across {replicates} "
        "simulated replicates of the same service: the play of chance, not doubt about the model's assumptions. "
        f"{sure} This report includes no probabilistic sensitivity analysis; the project's "
        "<code>experiments.psa</code> command adds the uncertainty in the parameters.</p>"
    )
    if warnings:
        items = "".join(f"<li>{html.escape(w)}</li>" for w in warnings)
        caveat = (
            "<p data-testid='caveat'><b>Main caveat: capacity.</b> Staff cannot offer all the care the "
            f"scenarios ask for, so waits, not the care model, may drive the result:</p><ul>{items}</ul>"
        )
    else:
        caveat = (
            "<p data-testid='caveat'><b>Main caveat.</b> The model's mechanisms and parameters are assumptions, "
            "calibrated to published averages for usual care, not measured in this service; the differences "
            "between care models are predictions. Trust the differences more than the absolute levels.</p>"
        )
    return "".join(answer) + certainty + caveat


def _ratio_words(ratio: str) -> str:
    """The cost per QALY as the summary says it (the economics table gives the reason in full)."""
    if ratio.startswith("not defined"):
        return "no cost per QALY: the difference in QALYs is too small to tell from none"
    if ratio.startswith("dominant"):
        return "it dominates: more effective and no dearer"
    if ratio.startswith("dominated"):
        return "it is dominated: less effective and no cheaper"
    return f"cost per QALY gained: {ratio}"


def _interval_words(low: float, high: float) -> str:
    """A 95% interval in words, or why there is none."""
    if not np.isfinite(low):
        return "one replicate: no interval"
    places = decimals(low, high)
    return f"95% interval {number(low, places, signed=True)} to {number(high, places, signed=True)}"


def _limits(result: ExperimentResult) -> str:
    """What the numbers cannot say (the end of the report)."""
    return (
        "<p><b>What these numbers cannot say.</b> They come from a simulation whose mechanisms and parameters are "
        "assumptions, calibrated to published averages (the project's validation against published figures "
        "lists each target and whether the model meets it), not measured in this service. "
        f"The intervals show the spread across {result.config.run.replicates} simulated replicates of the same "
        "service — Monte Carlo uncertainty — not uncertainty in the model's assumptions; the project's "
        "sensitivity analysis shows which assumptions matter most. Utility weights and QALYs use a "
        "linear mapping from functioning, and costs are the unit costs set in the configuration. Use the "
        "differences between scenarios, more than the absolute levels, and check them against local data.</p>"
    )


def _percent(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Shares in [0, 1] as percentages, each column renamed with its unit."""
    return frame.assign(**{c: frame[c] * 100.0 for c in columns}).rename(columns={c: f"{c} (%)" for c in columns})


def staffing_section(result: ExperimentResult) -> str:
    """The staffing and capacity section: the team, each role's slots and use per arm, waits, and warnings."""
    config = result.config
    local = config.service
    currency = html.escape(config.costs.currency)
    staff = staffing_table(config)
    if local is None:
        intro = (
            "<p class='note'>Staff as clinicians per 1,000 patients (the model's defaults or the workforce preset). "
            "Describe your own service with <code>service=&lt;name&gt;</code> to give head counts, sessions and "
            "staff costs instead.</p>"
        )
        staff_html = _table(numbers(staff.rename(index=ROLE_LABELS).reset_index()), "staffing")
    else:
        intro = (
            f"<p class='note'>{html.escape(local.name or 'The described service')}: a session is "
            f"{local.session_minutes:g} minutes and a full-time week {local.sessions_per_fte_week:g} sessions; "
            f"costs in {currency}. FTE for this patient group = FTE × sessions a week for these patients / "
            f"{local.sessions_per_fte_week:g}.</p>"
        )
        staff = staff.rename(columns={c: f"{c} ({config.costs.currency})" for c in staff.columns if "cost" in c})
        staff_html = _table(numbers(staff.rename(index=ROLE_LABELS).reset_index()), "staffing")
    capacity = capacity_table(result.weekly)
    capacity = capacity.assign(arm=capacity["arm"].map(arm_name), role=capacity["role"].map(ROLE_LABELS))
    capacity = capacity.rename(columns={"arm": "care model"})
    capacity = _percent(capacity, ("utilisation", "share of weeks above 90% use"))
    capacity_html = _table(numbers(capacity), "capacity")
    warnings = capacity_warnings(result.weekly)
    if warnings:
        listed = "".join(f"<li>{html.escape(w)}</li>" for w in warnings)
        warning_html = f"<div data-testid='capacity-warnings'><p><b>Capacity warnings</b></p><ul>{listed}</ul></div>"
    else:
        warning_html = (
            "<p data-testid='capacity-warnings'>No role ran above 90% of its slots in more than a quarter of the "
            "weeks, and the median wait to a first appointment was 4 weeks or less in every scenario.</p>"
        )
    return "\n".join(
        [
            "<h2>Staffing and capacity</h2>",
            intro,
            staff_html,
            warning_html,
            "<p class='note'>Per week, mean over the weeks and replicates: appointment slots each role offers this "
            "patient group, the slots used, requests that found no slot (they wait or slip to a later week), and "
            "utilisation = used / offered.</p>",
            capacity_html,
            "<p class='note'>Waiting lists: mean patients on each list in a week. Median waits in weeks, from joining "
            "the list (presenting, or taking up a brief course or stepping up to therapy) to the first appointment "
            "(the weekly medians' median, weighted by the appointments in each week).</p>",
            _table(
                numbers(waits_table(result.weekly).rename(index=arm_name).rename_axis("care model").reset_index()),
                "waits",
            ),
        ]
    )


def budget_section(result: ExperimentResult, econ: pd.DataFrame) -> str:
    """The budget impact table and the cost-effectiveness of staff plus event costs (needs a service description)."""
    config, ref = result.config, reference_arm(result.config)
    if config.service is None:
        return (
            "<h2>Budget impact</h2><p data-testid='budget'>Staff costs need the number of whole-time equivalents: "
            "describe your service with <code>service=&lt;name&gt;</code> (see the README, “Model your own "
            "service”) to see what each scenario costs a year, staff included.</p>"
        )
    currency = html.escape(config.costs.currency)
    table = budget_impact(result.patients, config, ref).rename(index=arm_name)
    per_patient = cost_per_patient(result.patients, config)
    qalys = econ.set_index(["arm", "replicate"])["qalys"]
    rows = []
    for arm in [a for a in config.arms if a != ref]:
        d_cost = paired_difference(per_patient, arm, ref)[:3]
        d_qalys = paired_difference(qalys, arm, ref)[:3]
        rows.append(
            {
                "care model": arm_name(arm),
                f"extra cost per patient vs {arm_name(ref)} ({currency})": with_interval(*d_cost, signed=True),
                "cost per QALY gained": icer(d_cost, d_qalys, MIN_QALYS_GAINED, "QALY"),
            }
        )
    ce = _table(pd.DataFrame(rows), "budget_ce") if rows else ""
    years = config.run.weeks / WEEKS_PER_YEAR
    return "\n".join(
        [
            "<h2>Budget impact</h2>",
            f"<p class='note'>{currency}, mean over replicates. Staff = FTE for this patient group × cost per "
            "FTE-year, counted for the roles a scenario's pathway uses; tests and emergency attendances at their "
            "unit costs. "
            "Clinician visits, referrals and case reviews are the team's own time, already in the staff cost. "
            f"Per year = over the {config.run.weeks}-week horizon / {years:.2f}.</p>",
            _table(numbers(table.rename_axis("care model").reset_index()), "budget"),
            "<p class='note'>Cost-effectiveness with these costs (staff + tests + emergency attendances), paired by "
            "replicate, by the same conventions as above.</p>",
            ce,
        ]
    )


CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table.table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
table.table td,table.table th{border:1px solid #ddd;padding:3px 8px;text-align:right}
table.table th{background:#f3f3f3}figure{margin:.5em 0}img{max-width:100%}
.note{color:#555;font-size:.9em}
"""


def report_figures(result: ExperimentResult, folder: Path) -> None:
    """Draw the report's own figures into ``folder`` as PNG files: the cost-effectiveness plane and the journeys.

    The writer draws them in a process of their own while it writes the
    tables; :func:`build_report` reads them from there.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ce_plane.png").write_bytes(base64.b64decode(_ce_plane(economics(result), reference_arm(result.config))))
    if result.journeys is not None and not result.journeys.empty:
        (folder / "journeys.png").write_bytes(base64.b64decode(_journeys(result.journeys)))


def build_report(
    result: ExperimentResult,
    figures: Path | None = None,
    warnings: Sequence[str] = (),
    wait: Callable[[], None] | None = None,
    drawn: Path | None = None,
) -> str:
    """The report as one HTML string (figures from ``figures``/ embedded as data).

    Args:
        result: A finished experiment.
        figures: Folder holding the standard figures (``sim.outputs.plots.standard_figures``).
        warnings: Capacity warnings (one sentence each, naming the role) to state as the summary's main
            caveat; with none, the caveat is the model's assumptions.
        wait: Called before any figure is read, when another process is still drawing them; the tables
            are built before that.
        drawn: Folder where :func:`report_figures` drew the report's own figures (else they are drawn here).
    """
    config, ref = result.config, reference_arm(result.config)
    econ = economics(result)
    # Every table first: another process may still be drawing the figures (``wait``).
    headline, staffing = _table(_headline(result, econ), "headline"), staffing_section(result)
    costs = _table(
        numbers(
            cost_by_event(result)
            .rename(columns=arm_name)
            .rename_axis("event (currency units per patient)")
            .reset_index()
        ),
        "costs",
    )
    economics_table, budget = _table(_economics_summary(result, econ), "economics"), budget_section(result, econ)
    flagged, equity_table = _table(not_on_track(result), "not_on_track"), _table(_equity_table(result), "equity")
    if wait is not None:
        wait()
    if drawn is None:
        ce_plane = _ce_plane(econ, ref)
        journeys = _journeys(result.journeys) if result.journeys is not None and not result.journeys.empty else None
    else:
        ce_plane = base64.b64encode((drawn / "ce_plane.png").read_bytes()).decode()
        path = drawn / "journeys.png"
        journeys = base64.b64encode(path.read_bytes()).decode() if path.is_file() else None
    title = f"Decision report: {config.experiment.replace('_', ' ')}"
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<h2 data-testid='summary-heading'>In short</h2>",
        _summary(result, econ, warnings),
        f"<p class='note'>{len(config.arms)} care models × {config.run.replicates} replicates × "
        f"{config.population.n_patients:,} patients ({config.population.cohort} cohort) × {config.run.weeks} weeks; "
        f"base seed {config.run.seed}. Every care model sees the same patients and the same chance events; "
        f"differences are paired by replicate and compared with <b>{html.escape(arm_name(ref))}</b>.</p>",
        "<h2>The question and the scenarios</h2>",
        f"<p>How do outcomes, use of services and costs differ between "
        f"{', '.join(html.escape(arm_name(a)) for a in config.arms)} for the same people with functional "
        "somatic conditions? The care models differ only in these service settings:</p>",
        _table(_differences(result), "scenarios"),
        "<h2>Headline results</h2>",
        "<p class='note'>Mean per patient at the horizon [95% interval across replicates]; differences are "
        "paired; d is the standardised mean difference (difference over the pooled patient-level SD). Improved / "
        "deteriorated: PHQ-15 down / up by 3 points or more. Two dropout figures: disengaged in the first year "
        "after entry (what most published dropout rates count) and disengaged at least once over the run.</p>",
        headline,
        *(report_section(result.mediation) if result.mediation is not None else []),
        staffing,
        "<h2>Costs and cost-effectiveness</h2>",
        "<p class='note'>Mean cost per patient over the horizon by event type (currency units from the "
        "configuration).</p>",
        costs,
        f"<p class='note'>Utility weight = {number(UTILITY_AT_ZERO)} + "
        f"{number(UTILITY_AT_FULL - UTILITY_AT_ZERO)} × functioning/100; QALYs = area under the weekly mean "
        "utility over the horizon.</p>",
        economics_table,
        _img(ce_plane, "cost-effectiveness plane"),
        budget,
        "<h2>Patients not on track at 12 weeks</h2>",
        "<p class='note'>Patients whose symptoms at week 12 were no lower than at baseline under the reference "
        "care model — those routine outcome monitoring would flag — followed in every care model (paired).</p>",
        flagged,
        "<h2>Equity: outcomes by cultural group</h2>",
        equity_table,
        "<h2>Over time</h2>",
    ]
    if figures is not None:
        for name in ("function", "symptoms", "alliance", "trust", "disengaged"):
            path = figures / f"{name}.png"
            if path.is_file():
                parts.append(_img(base64.b64encode(path.read_bytes()).decode(), f"{name} over time"))
    if journeys is not None:
        parts += ["<h2>A few patients' journeys</h2>", _img(journeys, "patient journeys")]
    parts += ["<h2>What the numbers cannot say</h2>", _limits(result), "</body></html>"]
    return "\n".join(parts)


def _equity_table(result: ExperimentResult) -> pd.DataFrame:
    """The equity table for people: care model and group as columns, outcomes under their labels."""
    table = numbers(equity(result).reset_index())
    table["arm"] = table["arm"].map(arm_name)
    headings = {"arm": "care model", "cultural_group": "cultural group", "patients": "patients per replicate"}
    return table.rename(columns={**headings, **{o: OUTCOMES[o] for o in EQUITY_OUTCOMES}})
