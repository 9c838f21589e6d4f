"""The teaching model: two arms on the same patients, levers that move the right things, lessons."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import compose_config

from sim.classroom.model import ARMS, LESSONS, ClassroomModel

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
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == 6 and {"function_mean_coordinated", "function_mean_fragmented"} <= set(frame.columns)


def test_sliders_default_to_the_config():
    model = ClassroomModel(CONFIG, n_patients=100)
    coordinated = model.arms["coordinated"].service
    assert coordinated.continuity == CONFIG.arms["coordinated"].continuity
    assert coordinated.training_validation == 0.0
    assert model.settings["validation"] == round(CONFIG.workforce.gp.validation, 2)


def test_validation_slider_moves_trust_in_both_arms():
    low, high = run(validation=0.2), run(validation=0.9)
    for arm in ARMS:
        assert high.arms[arm].summary["trust_mean"] > low.arms[arm].summary["trust_mean"]


def test_continuity_slider_moves_only_the_coordinated_side():
    low, high = run(continuity=0.1), run(continuity=0.95)
    assert high.arms["coordinated"].service.continuity == 0.95
    assert high.arms["fragmented"].service == low.arms["fragmented"].service
    assert high.arms["coordinated"].summary["alliance_mean"] > low.arms["coordinated"].summary["alliance_mean"]


@pytest.mark.parametrize("lesson", list(LESSONS))
def test_every_lesson_runs_and_tells_what_to_watch(lesson):
    model = run(8, lesson=lesson)
    assert model.lesson.watch.count(".") >= 2  # two sentences
    assert model.journeys["coordinated"] or model.journeys["fragmented"]


def test_one_clinician_vs_many_lesson_splits_continuity():
    model = run(30, lesson="one_vs_many")
    coord, frag = model.arms["coordinated"].patients, model.arms["fragmented"].patients
    same = lambda p: p.same_clinician_pairs.sum() / max(p.encounters.sum(), 1)  # noqa: E731
    assert same(coord) > same(frag) + 0.3


def test_journeys_tell_whom_patients_saw_and_what_happened():
    model = run(30)
    events = [e for arm in ARMS for j in model.journeys[arm] for e in j["events"]]
    assert any(e.startswith("saw gp #") for e in events)
    assert any(e in ("validated", "dismissed") for e in events)


def test_unknown_lesson_is_refused():
    with pytest.raises(ValueError, match="lesson 'jazz' is not allowed"):
        ClassroomModel(CONFIG, lesson="jazz")
