"""Differential test: the per-agent reference model and the vectorised engine are the same model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import compose_config

from experiments.schema import preset_names
from sim.engine.metrics import patient_table
from sim.engine.model import CareModel
from sim.reference import ReferenceModel

CONFIG = compose_config(*[f"+care_model@arms.{name}_preset={name}" for name in preset_names("care_model")])
STATE = (
    "symptoms",
    "function",
    "trust",
    "adherence",
    "avoidance",
    "latent",
    "explanation_received",
    "self_efficacy",
    "distress",
    "uncertainty",
    "status",
    "encounters",
    "ruptures",
    "repairs",
    "flares",
    "investigations",
    "emergency",
    "cost",
)


def pair(service, n: int = 150, seed: int = 5, **mech):
    kw = {
        "run": CONFIG.run,
        "population": dataclasses.replace(CONFIG.population, n_patients=n),
        "workforce": CONFIG.workforce,
        "mechanisms": dataclasses.replace(CONFIG.mechanisms, **mech),
        "costs": CONFIG.costs,
        "seed": seed,
    }
    return CareModel(service, agents=False, **kw), ReferenceModel(service, **kw)


@pytest.mark.parametrize("preset", preset_names("care_model"))
def test_reference_and_engine_agree_week_by_week_for_every_preset(preset):
    engine, reference = pair(CONFIG.arms[f"{preset}_preset"])
    for _ in range(CONFIG.run.weeks):
        engine.step()
        reference.step()
        p, d = reference.to_arrays()
        for name in STATE:
            np.testing.assert_allclose(
                getattr(p, name),
                getattr(engine.patients, name),
                rtol=0,
                atol=1e-9,
                err_msg=f"{name} at week {engine.week}",
            )
        np.testing.assert_allclose(d.bond, engine.dyads.bond, atol=1e-9)
        assert reference.unmet_requests == engine.unmet_requests
    engine_table = patient_table(engine)
    reference_table = reference.patient_table()
    pd.testing.assert_frame_equal(reference_table, engine_table, check_exact=False, rtol=1e-9, atol=1e-9)


def test_reference_and_engine_agree_with_feedback_ruptures_and_stepping():
    service = dataclasses.replace(CONFIG.arms["stepped_preset"], feedback=True, case_review_interval_weeks=4)
    engine, reference = pair(service, n=120, seed=9, p_rupture_base=0.2, p_repair=0.9)
    for _ in range(60):
        engine.step()
        reference.step()
    p, _ = reference.to_arrays()
    assert engine.patients.repairs.sum() > 10  # the paths under test were taken
    np.testing.assert_array_equal(p.repairs, engine.patients.repairs)
    np.testing.assert_allclose(p.function, engine.patients.function, atol=1e-9)
    clinicians = reference.clinician_list
    np.testing.assert_allclose([c.validation for c in clinicians], engine.clinicians.validation, atol=1e-12)


def test_reference_and_engine_agree_on_care_content_and_doctor_shopping():
    """Brief courses, coordinator contacts, uptake and shoppers moving to another team (M15, M13)."""
    service = dataclasses.replace(CONFIG.arms["coordinated_preset"], p_psychosocial_offer_per_visit=0.5)
    engine, reference = pair(service, n=200, seed=4, dropout_per_week=0.05, represent_per_week=0.3)
    start_team = engine.patients.team.copy()
    for _ in range(60):
        engine.step()
        reference.step()
    p, _ = reference.to_arrays()
    e = engine.patients
    assert e.visits[:, 2:4].sum() > 20 and e.visits[:, 4].sum() > 20  # the paths under test were taken
    assert (e.team != start_team).sum() > 10
    for name in ("visits", "team", "psychosocial_uptakes", "therapy_sessions_left", "status"):
        np.testing.assert_array_equal(getattr(p, name), getattr(e, name), err_msg=name)
    for name in ("symptoms", "function", "avoidance", "latent", "trust"):
        np.testing.assert_allclose(getattr(p, name), getattr(e, name), rtol=0, atol=1e-9, err_msg=name)
