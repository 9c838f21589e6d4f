"""Teaching dashboard: coordinated vs fragmented care for the same patients, live in the browser.

    make dashboard                              # http://127.0.0.1:8765 (this computer only)
    make dashboard HOST=0.0.0.0                 # serve a classroom network (see README)
    .venv/bin/solara run experiments/dashboard.py --host 127.0.0.1 --port 8765

Solara runs this file once per browser session, so every student gets a model
of their own. Slider defaults come from the same configuration as the command
line (conf/, composed by Hydra); nothing here repeats a number.
"""

from __future__ import annotations

import solara
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from experiments.schema import compose_config
from sim.classroom.model import ARMS, LESSONS, ClassroomModel

CONFIG = compose_config()
GP = CONFIG.workforce.gp
COORDINATED = CONFIG.arms["coordinated"]
COLOURS = {"coordinated": "tab:blue", "fragmented": "tab:orange"}


def _slider(label: str, value: float, lo: float, hi: float, step: float) -> dict:
    return {"type": "SliderFloat", "label": label, "value": round(value, 2), "min": lo, "max": hi, "step": step}


model_params = {
    "config": CONFIG,
    "lesson": {"type": "Select", "label": "Lesson", "value": "free_play", "values": list(LESSONS)},
    "n_patients": {"type": "SliderInt", "label": "Patients", "value": 1000, "min": 100, "max": 5000, "step": 100},
    "seed": {"type": "SliderInt", "label": "Seed", "value": 1, "min": 1, "max": 100, "step": 1},
    "warmth": _slider("Warmth", GP.warmth, 0.0, 1.0, 0.05),
    "validation": _slider("Validation", GP.validation, 0.0, 1.0, 0.05),
    "clarity": _slider("Clarity", GP.clarity, 0.0, 1.0, 0.05),
    "cultural_humility": _slider("Cultural humility", GP.cultural_humility, 0.0, 1.0, 0.05),
    "continuity": _slider("Continuity (blue)", COORDINATED.continuity, 0.0, 1.0, 0.05),
    "message_coherence": _slider("Coherence (blue)", COORDINATED.message_coherence, 0.0, 1.0, 0.05),
    "followup_interval_weeks": _slider("Follow-up weeks (blue)", COORDINATED.followup_interval_weeks, 1.0, 16.0, 1.0),
    "feedback": {"type": "Checkbox", "label": "Feedback and supervision", "value": COORDINATED.feedback},
}


def _html(text: str):
    # solara.Markdown would fetch KaTeX from a CDN; plain HTML keeps the page offline.
    return solara.HTML(tag="div", unsafe_innerHTML=text)


def _table(header: list[str], rows: list[list[str]], test_id: str) -> str:
    head = "".join(f"<th style='padding:2px 10px'>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td style='padding:2px 10px'>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table data-testid='{test_id}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def LessonCard(model: ClassroomModel):
    """What the chosen lesson is about and what to watch for."""
    update_counter.get()
    return _html(
        f"<h3>{model.lesson.title}</h3><p>{model.lesson.watch}</p>"
        "<p><b style='color:#1f77b4'>Blue: coordinated care.</b> "
        "<b style='color:#ff7f0e'>Orange: fragmented care.</b> The same patients in both.</p>"
        "<p style='font-size:85%' data-testid='settings'>"
        + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in model.settings.items())
        + "</p>"
    )


def Readout(model: ClassroomModel):
    """This week's numbers for both arms (also what the browser test reads)."""
    update_counter.get()
    rows = [
        ("Functioning (0-100)", "function_mean", "{:.1f}"),
        ("Symptoms (PHQ-15)", "symptoms_mean", "{:.1f}"),
        ("Alliance (0-1)", "alliance_mean", "{:.3f}"),
        ("Trust (0-1)", "trust_mean", "{:.3f}"),
        ("Waiting", "n_waiting", "{:.0f}"),
        ("In care", "n_in_care", "{:.0f}"),
        ("Disengaged", "n_disengaged", "{:.0f}"),
        ("Discharged", "n_discharged", "{:.0f}"),
    ]
    table = []
    for label, column, fmt in rows:
        values = [model.arms[arm].summary[column] for arm in ARMS]
        table.append([label, *("–" if v != v else fmt.format(v) for v in values)])  # NaN before anyone is seen
    return _html(f"<b data-testid='week'>Week {model.week}</b>" + _table(["", *ARMS], table, "readout"))


def Journeys(model: ClassroomModel):
    """A handful of patients' stories, side by side: latest events first."""
    update_counter.get()
    rows = []
    for patient in model.tracked:
        cells = []
        for arm in ARMS:
            events = [e for e in model.journeys[arm] if e["patient"] == patient][-4:]
            cells.append("<br>".join(f"wk {e['week']}: {', '.join(e['events'])}" for e in reversed(events)) or "–")
        rows.append([str(patient), *cells])
    return _html("<h3>Patient journeys (latest first)</h3>" + _table(["patient", *ARMS], rows, "journeys"))


PANELS = [
    ("function_mean", "Functioning (0-100)"),
    ("symptoms_mean", "Symptoms (PHQ-15)"),
    ("alliance_mean", "Alliance (0-1)"),
    ("trust_mean", "Trust (0-1)"),
]
STATUS_LINES = [
    ("n_in_care", "in care", "-"),
    ("n_waiting", "waiting", ":"),
    ("n_disengaged", "disengaged", "--"),
    ("n_discharged", "discharged", "-."),
]


def _figure(rows: int, cols: int) -> tuple[Figure, object]:
    fig = Figure(figsize=(7, 5.2))
    # A fixed layout: constrained layout would double the time of each redraw.
    fig.subplots_adjust(left=0.1, right=0.98, top=0.93, bottom=0.1, hspace=0.45, wspace=0.3)
    return fig, fig.subplots(rows, cols, squeeze=False)


def Outcomes(model: ClassroomModel):
    """Functioning, symptoms, alliance and trust over time, both arms on each panel."""
    update_counter.get()
    frame = model.datacollector.get_model_vars_dataframe()
    fig, axes = _figure(2, 2)
    for ax, (column, label) in zip(axes.flat, PANELS, strict=True):
        for arm in ARMS:
            ax.plot(frame["week"], frame[f"{column}_{arm}"], color=COLOURS[arm], label=arm)
        ax.set_title(label, fontsize=10)
        ax.tick_params(labelsize=8)
    axes[0, 0].legend(loc="best", fontsize=8)
    return solara.FigureMatplotlib(fig, format="png", dpi=80)


def Statuses(model: ClassroomModel):
    """Patients in care, waiting and disengaged over time, one panel per arm."""
    update_counter.get()
    frame = model.datacollector.get_model_vars_dataframe()
    fig, axes = _figure(2, 1)
    for ax, arm in zip(axes[:, 0], ARMS, strict=True):
        for column, label, style in STATUS_LINES:
            ax.plot(frame["week"], frame[f"{column}_{arm}"], style, color=COLOURS[arm], label=label)
        ax.set_title(f"Patients by status: {arm} care", fontsize=10)
        ax.tick_params(labelsize=8)
        ax.legend(loc="best", fontsize=8)
    return solara.FigureMatplotlib(fig, format="png", dpi=80)


COMPONENTS = [LessonCard, Readout, Outcomes, Statuses, Journeys]


@solara.component
def Page():
    """One model per browser session: a student's slider never moves another student's run."""
    model = solara.use_reactive(solara.use_memo(lambda: ClassroomModel(CONFIG), dependencies=[]))
    return SolaraViz(
        model,
        components=COMPONENTS,
        model_params=model_params,
        name="Alliance in functional somatic conditions",
        play_interval=300,
    )
