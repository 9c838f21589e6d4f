"""The teaching model: two arms on the same patients, levers that move the right things, lessons, dyads."""

from __future__ import annotations

import io
import re

import matplotlib
import matplotlib.style
import numpy as np
import pytest
import seaborn as sns
from conftest import ROOT, compose_config
from PIL import Image

from sim.classroom.charts import NetworkChart, OutcomeChart, PatientChart, StatusChart
from sim.classroom.lessons import ARMS, COUNTERS, LESSONS
from sim.classroom.model import MAX_PATIENTS, ClassroomModel
from sim.classroom.network import EVENTS, REPAIRED, RUPTURED, layout
from sim.core.params import ConfigError
from sim.core.state import GP, NEVER

CONFIG = compose_config()


def run(weeks: int = 20, **levers) -> ClassroomModel:
    model = ClassroomModel(CONFIG, n_patients=300, **levers)
    for _ in range(weeks):
        model.step()
    return model


def test_both_arms_share_the_cohort_and_step_together():
    model = run(5)
    a, b = (model.arms[arm].patients for arm in ARMS)
    assert np.array_equal(a.baseline_severity, b.baseline_severity)
    assert model.week == 5 and all(m.week == 5 for m in model.arms.values())
    assert len(model.series("function_mean", "blue")) == 6


def test_sliders_default_to_the_config():
    model = ClassroomModel(CONFIG, n_patients=100)
    blue = model.arms["blue"].service
    assert blue.continuity == CONFIG.arms["coordinated"].continuity
    assert blue.training_validation == 0.0
    settings = {label: values for label, values, _ in model.settings()}
    assert settings["GP validation (0–1)"]["blue"] == f"{CONFIG.workforce.gp.validation:.2f}"


def test_validation_slider_moves_trust_in_both_arms():
    low, high = run(validation=0.2), run(validation=0.9)
    for arm in ARMS:
        assert high.arms[arm].summary["trust_mean"] > low.arms[arm].summary["trust_mean"]


def test_continuity_slider_moves_only_the_blue_arm():
    low, high = run(continuity=0.1), run(continuity=0.95)
    assert high.arms["blue"].service.continuity == 0.95
    assert high.arms["orange"].service == low.arms["orange"].service
    assert high.arms["blue"].summary["alliance_mean"] > low.arms["blue"].summary["alliance_mean"]


def test_population_counts_add_up_to_everyone():
    model = run(10)
    for arm in ARMS:
        statuses = ("not_presented", "waiting", "in_care", "disengaged", "discharged")
        total = sum(model.series(f"n_{s}", arm) for s in statuses)
        assert np.all(total == 300)


def test_week_counters_are_this_weeks_events():
    model = run(12)
    for arm in ARMS:
        p = model.arms[arm].patients
        assert sum(model.datacollector.model_vars[f"dismissals_{arm}"]) == p.dismissals.sum()
        assert sum(model.datacollector.model_vars[f"ruptures_{arm}"]) == p.ruptures.sum()
        assert model.counts[arm]["repairs"] == model.arms[arm].summary["repairs"]


@pytest.mark.parametrize("lesson", list(LESSONS))
def test_every_lesson_is_first_class_content(lesson):
    """Title, goal, what to watch naming only counters on the page, both arms named in the text, no left/right."""
    chosen = LESSONS[lesson]
    model = run(8, lesson=lesson)
    assert chosen.title and chosen.goal.endswith(".") and chosen.watch
    text = " ".join(chosen.watch).lower()
    assert not re.search(r"\b(left|right)\b", text), "both arms share the axes: no left and right"
    for word in re.findall(r"the (\w+(?: \w+)?) counters?", text):
        assert any(label in word or word in label for label in COUNTERS.values()), word
    for arm in ARMS:
        setup = chosen.arm(arm)
        assert setup.care in CONFIG.arms
        assert model.arms[arm].service == model.services[arm]
        for key, value in setup.changes.items():
            if not key.startswith("training_"):
                assert getattr(model.arms[arm].service, key) == value, (arm, key)
    for key, value in chosen.mechanisms.items():
        assert getattr(model.arms["blue"].mechanisms, key) == value
    changes = chosen.changes()
    assert len(changes) == 2 + bool(chosen.mechanisms)
    assert all(line.startswith(("blue", "orange", "both")) for line in changes)


def test_lessons_name_the_counters_they_mean():
    assert LESSONS["rupture_and_repair"].counters_named() == ["ruptures", "repairs"]
    assert LESSONS["pacing_vs_boom_bust"].counters_named() == ["flares"]
    assert LESSONS["dismissal_and_shopping"].counters_named() == ["emergency", "dismissals"]


def test_settings_show_what_the_lesson_changed():
    model = ClassroomModel(CONFIG, n_patients=100, lesson="dismissal_and_shopping")
    settings = {label: (values, by_lesson) for label, values, by_lesson in model.settings()}
    values, by_lesson = settings["GP validation (0–1)"]
    gp = CONFIG.workforce.gp.validation
    assert by_lesson and values == {"blue": f"{gp:.2f}", "orange": f"{gp - 0.35:.2f}"}


def test_what_the_lessons_say_happens():
    """Each lesson's text describes what its arms then show, over half a year."""
    weeks = 26

    def total(model, column, arm):
        return model.series(column, arm).sum()

    repair = run(weeks, lesson="rupture_and_repair")
    assert total(repair, "repairs", "blue") > total(repair, "repairs", "orange")
    assert total(repair, "ruptures", "orange") > 0 and total(repair, "ruptures", "blue") > 0

    dismissal = run(weeks, lesson="dismissal_and_shopping")
    assert total(dismissal, "dismissals", "orange") > 1.3 * total(dismissal, "dismissals", "blue")
    assert dismissal.series("trust_mean", "orange")[-1] < dismissal.series("trust_mean", "blue")[-1]
    assert total(dismissal, "emergency", "orange") > total(dismissal, "emergency", "blue")

    pacing = run(weeks, lesson="pacing_vs_boom_bust")
    assert total(pacing, "flares", "orange") > total(pacing, "flares", "blue")
    assert pacing.series("function_mean", "blue")[-1] > pacing.series("function_mean", "orange")[-1]

    many = run(weeks, lesson="one_vs_many")
    assert many.series("alliance_mean", "blue")[-1] > many.series("alliance_mean", "orange")[-1]
    coord, frag = many.arms["blue"].patients, many.arms["orange"].patients
    same = lambda p: p.same_clinician_pairs.sum() / max(p.encounters.sum(), 1)  # noqa: E731
    assert same(coord) > same(frag) + 0.3


def test_dyad_sample_follows_the_engine():
    model = run(30, lesson="rupture_and_repair")
    for arm in ARMS:
        sample, p = model.dyads[arm], model.arms[arm].patients
        i = model.tracked
        assert len(sample.history["bond"]) == 31  # week 0 and every step
        for event, counter in (("encounter", "encounters"), ("rupture", "ruptures"), ("dismissed", "dismissals")):
            weeks_with = np.array(sample.history[event]).sum(axis=0)
            assert np.all(weeks_with <= getattr(p, counter)[i])  # never more weeks with an event than events
            assert np.all((weeks_with > 0) == (getattr(p, counter)[i] > 0))
        links = sample.links()
        d = model.arms[arm].dyads
        assert links.row.size == (d.clinician[i] >= 0).sum()
        assert np.allclose(links.alliance, d.alliance_at(i[links.row], np.nonzero(d.clinician[i] >= 0)[1]))
        open_now = d.rupture_week[i][d.clinician[i] >= 0] != NEVER
        assert np.array_equal(links.state == RUPTURED, open_now)
        # The latest dyad's bond is what the chart draws.
        seen = d.current[i] >= 0
        assert np.allclose(sample.history["bond"][-1][seen], d.bond[i[seen], d.current[i[seen]]])
    repaired = sum((model.dyads[arm].links().state == REPAIRED).sum() for arm in ARMS)
    recorded = sum((model.dyads[arm].repair_week != NEVER).sum() for arm in ARMS)
    assert recorded > 0 and repaired <= recorded


def test_repairs_on_screen_match_the_engine_repair_count():
    model = run(40, lesson="rupture_and_repair")
    for arm in ARMS:
        sample, p = model.dyads[arm], model.arms[arm].patients
        repair_weeks = np.array(sample.history["repair"]).sum(axis=0)
        assert np.all((repair_weeks > 0) == (p.repairs[model.tracked] > 0))
        assert set(EVENTS) <= set(sample.history)


def test_the_patient_followed_first_is_the_first_to_seek_help():
    model = ClassroomModel(CONFIG, n_patients=300)
    row = model.first_to_present()
    weeks = model.arms["blue"].patients.presentation_week[model.tracked]
    assert weeks[row] == weeks.min()


def test_patients_sit_next_to_their_own_gps():
    """Each sampled patient's nearest GP is one of their practice (the only GPs they can see)."""
    model = ClassroomModel(CONFIG, n_patients=1000)
    blue = model.arms["blue"]
    patients, clinicians = layout(blue, model.tracked, CONFIG.workforce.team_size)
    gps = blue.clinicians.by_role[GP]
    n_practices = max(gps.size // CONFIG.workforce.team_size, 1)
    assert n_practices > 1
    for row, patient in enumerate(model.tracked):
        nearest = gps[np.argmin(np.hypot(*(clinicians[gps] - patients[row]).T))]
        assert np.flatnonzero(gps == nearest)[0] % n_practices == blue.patients.team[patient] % n_practices


def test_network_layout_is_fixed_and_inside_the_frame():
    model = ClassroomModel(CONFIG, n_patients=300)
    patients, clinicians = layout(model.arms["blue"], model.tracked, CONFIG.workforce.team_size)
    again = layout(model.arms["orange"], model.tracked, CONFIG.workforce.team_size)
    assert np.array_equal(patients, again[0]) and np.array_equal(clinicians, again[1])
    assert np.allclose(np.hypot(*patients.T), 1.0) and np.all(np.hypot(*clinicians.T) < 0.7)
    assert len({tuple(np.round(xy, 6)) for xy in patients}) == len(patients)  # no two patients on one spot
    assert len({tuple(np.round(xy, 6)) for xy in clinicians}) == len(clinicians)  # nor two clinicians


def test_unknown_lesson_is_refused():
    with pytest.raises(ValueError, match="lesson 'jazz' is not allowed"):
        ClassroomModel(CONFIG, lesson="jazz")


def test_the_teaching_guide_covers_every_lesson():
    guide = (ROOT / "docs" / "teaching.md").read_text()
    for lesson in LESSONS.values():
        assert f"### {lesson.title}" in guide


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)


def test_charts_drawn_fast_look_the_same_as_drawn_in_full():
    """Pasting the fixed axes and drawing only the data gives the very picture a full redraw gives."""
    model = run(15, lesson="rupture_and_repair")
    with matplotlib.rc_context():
        sns.set_theme(style="whitegrid")  # as sim.outputs does: the charts keep their own style
        chart = OutcomeChart(model)
        fast = _pixels(chart.png(model))
    for line in chart.lines.values():
        line.set_animated(False)
    with matplotlib.style.context("default"):
        chart.canvas.draw()
    full = np.asarray(chart.canvas.buffer_rgba())[..., :3].astype(int)
    assert fast.shape == full.shape
    assert np.array_equal(fast, full)


def test_charts_have_fixed_scales():
    model = run(3)
    chart = OutcomeChart(model)
    axes = chart.figure.axes
    assert [ax.get_ylim() for ax in axes] == [(0, 100), (0, 30), (0, 1), (0, 1)]
    assert all(ax.get_xlim() == (0, CONFIG.run.weeks) and ax.get_xlabel() == "week" for ax in axes)
    before = _pixels(chart.png(model))
    model.step()
    assert _pixels(chart.png(model)).shape == before.shape


def test_every_chart_draws_a_week_and_a_chosen_patient():
    model = run(10)
    pictures = [
        OutcomeChart(model).png(model),
        StatusChart(model).png(model),
        NetworkChart(model, CONFIG.workforce.team_size).png(model, 3),
        PatientChart(model).png(model, 3),
    ]
    assert all(p.startswith(b"\x89PNG") for p in pictures)
    patient = PatientChart(model)
    assert not np.array_equal(_pixels(patient.png(model, 3)), _pixels(patient.png(model, model.first_to_present())))


@pytest.mark.parametrize("n", [0, MAX_PATIENTS + 1, 10**9, 2.5])
def test_patient_count_is_capped_with_a_clear_message(n):
    with pytest.raises(ConfigError, match=rf"n_patients = {n!r} is not allowed; expected a whole number in \[1, "):
        ClassroomModel(CONFIG, n_patients=n)


def test_patient_count_from_a_slider_may_be_a_whole_float():
    assert ClassroomModel(CONFIG, n_patients=100.0).n_patients == 100
