"""Teaching dashboard: two arms of a lesson for the same patients, live in the browser.

    make dashboard                              # http://127.0.0.1:8765 (this computer only)
    make dashboard HOST=0.0.0.0                 # serve a classroom network (see README)
    .venv/bin/solara run experiments/dashboard.py --host 127.0.0.1 --port 8765

Solara runs this file once per browser session, so every student gets a model
of their own. The page is built from Mesa's own controller (Reset, ▶, Step)
and plain Solara widgets rather than the whole ``SolaraViz`` layout, which
always adds controls a class does not need (play and render intervals,
threads, page tabs) and cannot be told not to. Slider defaults come from the
same configuration as the command line (conf/, composed by Hydra); nothing
here repeats a number of the model.
"""

from __future__ import annotations

import html

import solara
from mesa.visualization.solara_viz import ModelController
from mesa.visualization.utils import update_counter

from experiments.schema import compose_config
from sim.classroom.charts import ARM_COLOUR, NetworkChart, OutcomeChart, PatientChart, StatusChart
from sim.classroom.lessons import ARMS, COUNTERS, LESSONS
from sim.classroom.model import MAX_PATIENTS, ClassroomModel
from sim.classroom.network import EVENTS

CONFIG = compose_config()
GP = CONFIG.workforce.gp
COORDINATED = CONFIG.arms["coordinated"]
PLAY_INTERVAL_MS = 300  # pause between weeks while playing: long enough to read the counters
TITLES = {lesson.title: key for key, lesson in LESSONS.items()}


def _slider(label: str, unit: str, value: float, lo: float, hi: float, step: float, fmt: str = ".2f") -> dict:
    kind = "SliderInt" if isinstance(step, int) else "SliderFloat"
    return {"type": kind, "label": label, "unit": unit, "value": value, "min": lo, "max": hi, "step": step, "fmt": fmt}


# The class's levers: keyword arguments of ClassroomModel, shown with their value and unit.
model_params = {
    "n_patients": _slider("Patients", "per arm", 1000, 100, MAX_PATIENTS, 100, "d"),
    "seed": _slider("Seed", "", 1, 1, 100, 1, "d"),
    "warmth": _slider("GP warmth", "(0–1, both arms)", round(GP.warmth, 2), 0.0, 1.0, 0.05),
    "validation": _slider("GP validation", "(0–1, both arms)", round(GP.validation, 2), 0.0, 1.0, 0.05),
    "clarity": _slider("GP clarity", "(0–1, both arms)", round(GP.clarity, 2), 0.0, 1.0, 0.05),
    "cultural_humility": _slider(
        "GP cultural humility", "(0–1, both arms)", round(GP.cultural_humility, 2), 0, 1, 0.05
    ),
    "continuity": _slider("Continuity", "(0–1, blue arm)", COORDINATED.continuity, 0.0, 1.0, 0.05),
    "message_coherence": _slider("Message coherence", "(0–1, blue arm)", COORDINATED.message_coherence, 0, 1, 0.05),
    "followup_interval_weeks": _slider(
        "Follow-up every", "weeks (blue arm)", COORDINATED.followup_interval_weeks, 1.0, 16.0, 1.0, ".0f"
    ),
    "feedback": {"type": "Checkbox", "label": "Feedback and supervision (both arms)", "value": COORDINATED.feedback},
}
DEFAULTS = {"config": CONFIG, "lesson": "free_play", **{key: spec["value"] for key, spec in model_params.items()}}


def _html(text: str):
    # solara.Markdown would fetch KaTeX from a CDN; plain HTML keeps the page offline.
    return solara.HTML(tag="div", unsafe_innerHTML=text)


def _arm_heading(model: ClassroomModel, arm: str) -> str:
    return f"<span style='color:{ARM_COLOUR[arm]}'><b>{arm}</b>: {html.escape(model.lesson.arm(arm).label)}</span>"


def _table(header: list[str], rows: list[list[str]], test_id: str) -> str:
    head = "".join(f"<th style='padding:2px 8px;text-align:left'>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td style='padding:2px 8px'>{c}</td>" for c in row) + "</tr>" for row in rows)
    table = f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
    return f"<table data-testid='{test_id}' style='font-size:95%'>{table}</table>"


@solara.component
def LessonCard(model: ClassroomModel):
    """The lesson: its goal, what to watch (all on this page), and what it sets."""
    lesson = model.lesson
    watch = "".join(f"<li>{html.escape(point)}</li>" for point in lesson.watch)
    sets = "".join(f"<li>{html.escape(line)}</li>" for line in lesson.changes())
    _html(
        f"<h2 style='margin:0 0 4px 0'>{html.escape(lesson.title)}</h2>"
        f"<p data-testid='goal'><b>Goal:</b> {html.escape(lesson.goal)}</p>"
        f"<p style='margin-bottom:0'><b>Watch:</b></p><ul data-testid='watch'>{watch}</ul>"
        f"<p style='margin-bottom:0'><b>This lesson sets:</b></p><ul data-testid='lesson-sets'>{sets}</ul>"
        f"<p>{_arm_heading(model, 'blue')} (solid lines) &nbsp; {_arm_heading(model, 'orange')} (dashed lines). "
        "The same patients in both.</p>"
    )


@solara.component
def Numbers(model: ClassroomModel):
    """This week's events and the state of both arms (also what the browser test reads)."""
    update_counter.get()
    header = ["", *(_arm_heading(model, arm) for arm in ARMS)]
    counts = [[label, *(str(model.counts[arm][key]) for arm in ARMS)] for key, label in COUNTERS.items()]
    now = [
        ("functioning (0–100)", "function_mean", "{:.1f}"),
        ("symptoms (PHQ-15, 0–30)", "symptoms_mean", "{:.1f}"),
        ("alliance (0–1)", "alliance_mean", "{:.2f}"),
        ("trust (0–1)", "trust_mean", "{:.2f}"),
        ("in care", "n_in_care", "{:.0f}"),
        ("disengaged", "n_disengaged", "{:.0f}"),
    ]
    state = []
    for label, column, fmt in now:
        values = [model.arms[arm].summary[column] for arm in ARMS]
        state.append([label, *("–" if v != v else fmt.format(v) for v in values)])  # NaN before anyone is seen
    _html(
        f"<h3 data-testid='week' style='margin:0'>Week {model.week}</h3>"
        "<b>This week's events</b>"
        + _table(header, counts, "counters")
        + "<b>Now</b> (means over patients, and head counts)"
        + _table(header, state, "readout")
    )


@solara.component
def Settings(model: ClassroomModel):
    """What each arm runs with; rows the lesson sets are marked."""
    rows = [
        [f"<b>{label}</b> (lesson)" if by_lesson else label, *(values[arm] for arm in ARMS)]
        for label, values, by_lesson in model.settings()
    ]
    _html("<b>Settings in use</b>" + _table(["", *(_arm_heading(model, arm) for arm in ARMS)], rows, "settings"))


@solara.component
def Charts(model: ClassroomModel, chosen: int):
    """The four charts, redrawn every week from pictures whose axes are drawn once per model."""
    update_counter.get()
    charts = solara.use_memo(
        lambda: (
            OutcomeChart(model),
            StatusChart(model),
            NetworkChart(model, CONFIG.workforce.team_size),
            PatientChart(model),
        ),
        dependencies=[model],
    )
    outcome, status, network, patient = charts
    with solara.Columns([1, 1]):
        with solara.Column():
            solara.Image(outcome.png(model), width="100%")
            solara.Image(status.png(model), width="100%")
        with solara.Column():
            _html(f"<b>Who sees whom</b>: {model.tracked.size} of the patients and their clinicians")
            solara.Image(network.png(model, chosen), width="100%")
            _html(f"<b>One patient</b>: patient {chosen}, the same person in both arms")
            solara.Image(patient.png(model, chosen), width="100%")
            PatientEvents(model, chosen)


@solara.component
def PatientEvents(model: ClassroomModel, chosen: int):
    """The chosen patient's latest weeks with something happening, in words."""
    update_counter.get()
    rows = []
    for arm in ARMS:
        history = model.dyads[arm].history
        weeks = []
        for week in range(len(history["bond"]) - 1, 0, -1):
            events = [words for event, words in EVENTS.items() if history[event][week][chosen]]
            if events:
                weeks.append(f"wk {week}: {', '.join(events)}")
            if len(weeks) == 3:
                break
        rows.append([_arm_heading(model, arm), "<br>".join(weeks) or "–"])
    _html(_table(["", "latest weeks"], rows, "patient-events"))


@solara.component
def Levers(levers: solara.Reactive[dict], model: ClassroomModel):
    """Sliders, each headed by its name, value and unit; Reset applies them."""
    set_by_lesson = set(model.lesson.blue.changes)
    for key, spec in model_params.items():
        value = levers.value[key]

        def change(new, key=key):
            levers.value = {**levers.value, key: new}

        if spec["type"] == "Checkbox":
            solara.Checkbox(label=spec["label"], value=value, on_value=change)
            continue
        note = " — set by this lesson" if key in set_by_lesson else ""
        # The label above the slider, not beside it: beside it, it would squeeze the slider to a stub.
        with solara.Div(classes=["lever"]):
            solara.Text(f"{spec['label']}: {value:{spec['fmt']}} {spec['unit']}{note}")
            widget = solara.SliderInt if spec["type"] == "SliderInt" else solara.SliderFloat
            widget("", value=value, min=spec["min"], max=spec["max"], step=spec["step"], on_value=change)
    if any(levers.value[key] != model.levers[key] for key in model_params):
        solara.Warning("Settings changed: press Reset to start again with them.", dense=True)


@solara.component
def Page():
    """One model per browser session: a student's slider never moves another student's run."""
    levers = solara.use_reactive(DEFAULTS)
    model = solara.use_reactive(solara.use_memo(lambda: ClassroomModel(**DEFAULTS), dependencies=[]))
    chosen = solara.use_reactive(model.value.first_to_present())
    # Mesa's controller reads these; fixed, since a class needs no knobs for them.
    play_interval = solara.use_reactive(PLAY_INTERVAL_MS)
    render_interval = solara.use_reactive(1)
    use_threads = solara.use_reactive(False)

    def choose_lesson(title: str) -> None:
        # A lesson starts from the configuration's levers (keeping the class's patients and seed).
        chosen_levers = {
            **DEFAULTS,
            "n_patients": levers.value["n_patients"],
            "seed": levers.value["seed"],
            "lesson": TITLES[title],
        }
        levers.value = chosen_levers
        model.value = ClassroomModel(**chosen_levers)

    solara.Title("Alliance in functional somatic conditions")
    with solara.AppBar():
        solara.AppBarTitle("Alliance in functional somatic conditions: a classroom")
    with solara.Sidebar(), solara.Column():
        with solara.Card("Lesson"):
            solara.Select("Lesson", value=model.value.lesson.title, values=list(TITLES), on_value=choose_lesson)
            solara.Text("Choosing a lesson starts both arms again with its settings.")
        with solara.Card("Run"):
            ModelController(
                model,
                model_parameters=levers,  # what Reset builds the model with
                play_interval=play_interval,
                render_interval=render_interval,
                use_threads=use_threads,
            ).key(f"controller-{id(model.value)}")  # a new model starts with ▶ and Step enabled
        with solara.Card("One patient"):
            solara.Select(
                "Patient to follow",
                value=str(chosen.value),
                values=[str(i) for i in range(model.value.tracked.size)],
                on_value=lambda v: chosen.set(int(v)),
            )
        with solara.Card("Settings"):
            Levers(levers, model.value)
    with solara.Columns([3, 2]):
        with solara.Column():
            LessonCard(model.value)
            Settings(model.value)
        Numbers(model.value)
    Charts(model.value, chosen.value)
