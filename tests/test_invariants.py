"""Properties that hold for any valid configuration (hypothesis)."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.core.params import MechanismParams, PopulationParams, RunParams, ServiceParams, validate
from sim.core.state import NEVER, NOT_PRESENTED
from sim.engine.model import CareModel

unit = st.floats(0.0, 1.0)

services = st.builds(
    ServiceParams,
    continuity=unit,
    message_coherence=unit,
    alliance_transfer=unit,
    followup_interval_weeks=st.floats(1.0, 12.0),
    therapy_interval_weeks=st.floats(1.0, 6.0),
    followup_reliability=unit,
    p_referral_per_visit=unit,
    p_investigation_per_visit=unit,
    p_results_explained=unit,
    p_referral_lost=unit,
    referral_delay_weeks=st.floats(0.0, 20.0),
    specialist_visits_per_episode=st.floats(1.0, 8.0),
    case_review_interval_weeks=st.integers(0, 12),
    p_psychosocial_offer_per_visit=unit,
    therapy_course_sessions=st.floats(1.0, 12.0),
    coordinator_contact_interval_weeks=st.integers(0, 12),
    pacing_guidance=st.booleans(),
    feedback=st.booleans(),
    stepping=st.booleans(),
    training_warmth=st.floats(-1.0, 1.0),
    training_validation=st.floats(-1.0, 1.0),
    review_interval_weeks=st.integers(1, 16),
    step_up_threshold_points=st.floats(0.0, 10.0),
    discharge_below_points=st.floats(0.0, 15.0),
)

mechanisms = st.builds(
    MechanismParams,
    bond_gain=st.floats(0.0, 3.0),
    goals_gain=st.floats(0.0, 3.0),
    validated_trust_gain=unit,
    dismissed_trust_drop=unit,
    flare_per_week=st.floats(0.0, 2.0),
    flare_points=st.floats(0.0, 30.0),
    recovery_per_week=unit,
    setpoint_rate=unit,
    setpoint_share=st.floats(0.0, 2.0),
    setpoint_distress=st.floats(0.0, 10.0),
    fluctuation_sd=st.floats(0.0, 10.0),
    avoidance_fear_per_week=unit,
    avoidance_exposure_per_week=unit,
    dropout_per_week=st.floats(0.0, 1.0),
    represent_per_week=st.floats(0.0, 1.0),
    boom_per_week=st.floats(0.0, 1.0),
    learning_per_week=unit,
    amplify_points=st.floats(0.0, 30.0),
    repeat_test_uncertainty=unit,
)

populations = st.builds(
    PopulationParams,
    n_patients=st.integers(1, 80),
    cohort=st.sampled_from(["closed", "open"]),
    arrivals_per_week=st.floats(0.0, 5.0),
    severity_mean=st.floats(0.0, 30.0),
    severity_sd=st.floats(0.1, 10.0),
    stigma_mean=unit,
    help_seeking_delay_mean_weeks=st.floats(0.0, 20.0),
)

BOUNDED_01 = (
    "trust",
    "adherence",
    "self_efficacy",
    "expectation",
    "distress",
    "uncertainty",
    "activity",
    "pacing",
    "stigma",
    "avoidance",
    "explanation_received",
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(service=services, mech=mechanisms, population=populations, seed=st.integers(0, 2**32))
def test_states_stay_in_bounds_and_patients_are_conserved(service, mech, population, seed):
    for obj in (service, mech, population):
        validate(obj)
    model = CareModel(service, run=RunParams(weeks=25), population=population, mechanisms=mech, seed=seed, agents=False)
    p, d = model.patients, model.dyads
    for _ in range(25):
        model.step()
        for name in BOUNDED_01:
            values = getattr(p, name)
            assert np.all(np.isfinite(values)), name
            assert values.min() >= 0.0 and values.max() <= 1.0, name
        assert 0.0 <= p.symptoms.min() and p.symptoms.max() <= 30.0
        # M8: latent severity never leaves [floor, 30]; no self-management before presenting.
        floor = mech.symptom_floor_share * p.baseline_severity
        assert np.all(p.latent >= floor - 1e-9) and np.all(p.latent <= 30.0)
        assert np.all(p.adherence[p.status == NOT_PRESENTED] == 0.0)
        assert 0.0 <= p.function.min() and p.function.max() <= 100.0
        used = d.clinician >= 0
        # A slot is empty exactly when it has never held an encounter (new dyads fill these first).
        assert np.array_equal(~used, d.last_week == NEVER)
        for values in (d.bond, d.goals, d.tasks):
            assert np.all((values[used] >= 0.0) & (values[used] <= 1.0))
        s = model.summary
        counted = sum(s[f"n_{k}"] for k in ("not_presented", "waiting", "in_care", "discharged", "disengaged"))
        assert counted == s["n_patients"]
        assert s["n_patients"] == np.sum(p.arrival_week <= model.week)
        # Only patients who have presented have encounters.
        assert np.all(p.encounters[p.status == NOT_PRESENTED] == 0)
    assert np.all(p.visits.sum(axis=1) == p.encounters)
    assert np.all(p.repairs <= p.ruptures)


@settings(max_examples=10, deadline=None)
@given(service=services, seed=st.integers(0, 2**32))
def test_more_weeks_never_shrink_counters(service, seed):
    model = CareModel(
        service, run=RunParams(weeks=20), population=PopulationParams(n_patients=40), seed=seed, agents=False
    )
    previous = None
    for _ in range(20):
        model.step()
        now = np.stack([model.patients.encounters, model.patients.investigations, model.patients.emergency])
        if previous is not None:
            assert np.all(now >= previous)
        previous = now.copy()


def test_replace_keeps_frozen_params_frozen():
    service = ServiceParams()
    try:
        service.continuity = 0.1  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        return
    raise AssertionError("ServiceParams should be frozen")
