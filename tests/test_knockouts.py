"""Knock-out table: every mechanism M1–M19, on and off (issue 13; docs/model.md, "Knock-out table").

Each row names a mechanism, the parameters that switch it off (its
coefficients at 0, or a service switch off), and a probe: the difference the
mechanism's direction test measures, signed so that the documented direction
is positive. Two assertions per row:

- with the defaults the effect is there, in its direction and at least
  ``minimum`` (in the probe's unit, stated in the row);
- with the row's parameters off the effect is gone: exactly zero, because the
  two sides of each probe share their seed (common random numbers) and differ
  only in what the mechanism reads.

Probes act on one mechanism function at a time (``tests/probes.py``), so a
row fails when, and only when, its own mechanism stops working.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest
from probes import force_encounters, meet, probe_model, set_clinician, tiny_model, with_dyad

from sim.core.encounters import ON_DEMAND, Encounters, Requests
from sim.core.params import MechanismParams, ServiceParams
from sim.core.state import DISENGAGED, GP_LED, IN_CARE, NEVER, WAITING
from sim.engine.model import CareModel
from sim.mechanisms import alliance, engagement, investigations, learning, pathways, recovery

LOW, MID, HIGH = 0.1, 0.5, 0.9
"""Levels of a [0, 1] driver compared by the probes."""


class Knockout(NamedTuple):
    mechanism: str  # M id in docs/model.md
    effect: str  # what the probe measures, and its unit
    off: dict[str, object]  # the parameters that switch the mechanism off
    probe: Callable[..., float]  # parameter changes -> the signed effect
    minimum: float  # the smallest effect, with the defaults, that counts as present
    tolerance: float = 0.0  # off: |effect| at most this (0 unless rounding alone can leave a residue)


# --- M1–M6, M12, M14, M19 in the encounter ---------------------------------------------------------


def after_meeting(state: str, setup: Callable[[CareModel], None], **changes: object) -> float:
    """Mean of a patient state (or ``dyad.bond`` etc. of the current dyad) after everyone meets clinician 0."""
    m = probe_model(**changes)
    set_clinician(m)
    m.patients.stigma[:] = 0.3
    setup(m)
    meet(m)
    if state.startswith("dyad."):
        return float(m.dyads.current_values(getattr(m.dyads, state[5:])).mean())
    return float(getattr(m.patients, state).mean())


def encounter_contrast(state: str, trait: str, low: float, high: float, **changes: object) -> float:
    """``state`` after meeting a clinician whose ``trait`` is ``high``, minus after one at ``low``."""

    def at(level: float) -> float:
        return after_meeting(state, lambda m: set_clinician(m, **{trait: level}), **changes)

    return at(high) - at(low)


def patient_contrast(state: str, trait: str, low: float, high: float, **changes: object) -> float:
    """``state`` after meeting clinician 0 when patients' ``trait`` is ``high``, minus at ``low``."""

    def at(level: float) -> float:
        return after_meeting(state, lambda m: getattr(m.patients, trait).__setitem__(slice(None), level), **changes)

    return at(high) - at(low)


def share_of_gap_closed_falls(**changes: object) -> float:
    """M1: share of the bond's gap to 1 closed at the 1st encounter minus at the 6th (no ruptures)."""
    bonds = force_encounters(tiny_model(p_rupture_base=0.0, rupture_stall=0.0, rupture_flare=0.0, **changes), 6)
    start = tiny_model(**changes).mechanisms.bond_initial
    before = np.array([start, *bonds[:-1]])
    share = (np.array(bonds) - before) / (1.0 - before)
    return float(share[0] - share[-1])


def validated_share(trait: str, low: float, high: float, on_patient: bool, **changes: object) -> float:
    """M2: share of encounters validated at ``trait`` = high minus at low (clinician propensity 0.5)."""

    def at(level: float) -> float:
        m = probe_model(**changes)
        set_clinician(m, validation=MID)
        m.patients.stigma[:] = 0.3
        if on_patient:
            getattr(m.patients, trait)[:] = level
        else:
            set_clinician(m, validation=MID, stance=level)
        return float(meet(m).mean())

    return at(high) - at(low)


def across_cultures(humility: float, **changes: object) -> float:
    m = probe_model(**changes)
    set_clinician(m)
    m.clinicians.cultural_humility[0] = humility
    m.patients.cultural_group[:] = m.clinicians.cultural_group[0] + 1  # every patient across a mismatch
    m.patients.stigma[:] = 0.3
    meet(m)
    return float(m.dyads.current_values(m.dyads.bond).mean())


def booked_trust(kind: int, **changes: object) -> float:
    m = probe_model(**changes)
    set_clinician(m)
    m.patients.stigma[:] = 0.3
    meet(m, kind=kind)
    return float(m.patients.trust.mean())


def with_lead(coherence: float, state: str, lead: float = HIGH, **changes: object) -> float:
    """Patients whose lead (clinician 1) has an alliance ``lead`` meet a new team member (clinician 0).

    No tests are ordered: a contradiction raises uncertainty, which would order more of them (M14).
    """
    m = probe_model(message_coherence=coherence, p_investigation_per_visit=0.0, **changes)
    set_clinician(m)
    m.patients.stigma[:] = 0.3
    with_dyad(m, bond=lead, goals=lead, tasks=lead)
    meet(m)
    if state.startswith("dyad."):
        return float(m.dyads.current_values(getattr(m.dyads, state[5:])).mean())
    return float(getattr(m.patients, state).mean())


def reported_excess(symptoms: float, usual: float, stigma: float, **changes: object) -> float:
    """M6: mean reported minus true PHQ-15 of patients with no safety (trust 0, no clinician)."""
    m = probe_model(**changes)
    p = m.patients
    p.symptoms[:], p.symptoms_slow[:], p.stigma[:], p.trust[:] = symptoms, usual, stigma, 0.0
    return float((alliance.reported_symptoms(p, m.dyads, m.mechanisms) - p.symptoms).mean())


def rupture_share(validation: float, **changes: object) -> float:
    m = probe_model(**changes)
    set_clinician(m, validation=validation)
    meet(m)
    return float((m.patients.ruptures > 0).mean())


def open_ruptures(m: CareModel) -> None:
    with_dyad(m, clinician=0, bond=0.4)
    m.dyads.bond_before_rupture[:, 0] = 0.6
    m.dyads.rupture_week[:, 0] = 0


def repairs_at_meeting(**changes: object) -> float:
    """M12: share of open ruptures repaired at the next encounter with that clinician."""
    m = probe_model(**changes)
    set_clinician(m)
    open_ruptures(m)
    m.clinicians.repair_skill[0] = MID
    meet(m)
    return float((m.patients.repairs > 0).mean())


def repair_gain(**changes: object) -> float:
    """M12: bond after a repair minus the bond before the rupture."""
    m = probe_model(**changes)
    open_ruptures(m)
    everyone = np.arange(m.patients.n)
    alliance.repair(m.patients, m.dyads, everyone, np.zeros_like(everyone), m.mechanisms)
    return float((m.dyads.bond[:, 0] - 0.6).mean())


def lapse_cost(**changes: object) -> float:
    """M12: bond lost when a rupture lapses unrepaired."""
    m = probe_model(**changes)
    open_ruptures(m)
    alliance.lapse_ruptures(m.patients, m.dyads, m.mechanisms.rupture_unrepaired_weeks, m.mechanisms)
    return float((0.4 - m.dyads.bond[:, 0]).mean())


def after_normal_result(explained: float, state: str, **changes: object) -> float:
    """M14: mean ``state`` after an encounter in which nearly everyone is tested (results explained or not)."""
    m = probe_model(p_investigation_per_visit=0.999, p_results_explained=explained, **changes)
    set_clinician(m)
    m.patients.stigma[:] = 0.3
    meet(m)
    return float(getattr(m.patients, state).mean())


def uncertainty_after_test(prior_tests: int, **changes: object) -> float:
    m = probe_model(**changes)
    p = m.patients
    p.investigations[:], p.uncertainty[:] = prior_tests, MID
    investigations.record_tests(p, np.arange(p.n), m.mechanisms, 0.0)
    return float(p.uncertainty.mean())


def share_tested(trait: str, low: float, high: float, **changes: object) -> float:
    """M14: share tested at a GP encounter (tendency 0.2) at ``trait`` high minus low."""

    def at(level: float) -> float:
        m = probe_model(p_investigation_per_visit=0.2, **changes)
        set_clinician(m, clarity=0.0)  # no explanation, so uncertainty is what was set
        if trait == "stance":
            set_clinician(m, clarity=0.0, stance=level)
        else:
            getattr(m.patients, trait)[:] = level
        meet(m)
        return float((m.patients.investigations > 0).mean())

    return at(high) - at(low)


# --- M7–M11, M19 between encounters -----------------------------------------------------------------

ADHERENCE_DRIVERS = ("tasks", "bond", "trust", "self_efficacy", "expectation", "distress", "uncertainty")


def adherence_contrast(driver: str, **changes: object) -> float:
    """M7: adherence after one week with ``driver`` at 0.9 minus at 0.1, every other driver at 0.5."""

    def at(level: float) -> float:
        m = probe_model(**changes)
        p, d = m.patients, m.dyads
        with_dyad(m, clinician=0)
        for name in ("trust", "self_efficacy", "expectation", "distress", "uncertainty"):
            getattr(p, name)[:] = MID
        target = getattr(d, driver)[:, 0] if driver in ("tasks", "bond") else getattr(p, driver)
        target[:] = level
        p.adherence[:] = 0.3
        recovery.adherence(p, d, slice(None), m.mechanisms)
        return float(p.adherence.mean())

    return at(HIGH) - at(LOW)


def latent_after(weeks: int, adherence: float, seen: bool, start: float | None = None, **changes: object) -> float:
    """M8: mean latent severity after ``weeks`` of recovery at fixed adherence and contact."""
    m = probe_model(**changes)
    p = m.patients
    p.adherence[:] = adherence
    if start is not None:
        p.latent[:] = start
    for _ in range(weeks):
        recovery.recovery(p, slice(None), np.full(p.n, seen), m.mechanisms)
    return float(p.latent.mean())


def setpoint_rise(trait: str, **changes: object) -> float:
    """M8: mean set point with ``trait`` 0.2 above its level, minus at its level."""
    m = probe_model(**changes)
    p = m.patients
    base = recovery.setpoint(p, slice(None), m.mechanisms)
    getattr(p, trait)[:] += 0.2
    return float((recovery.setpoint(p, slice(None), m.mechanisms) - base).mean())


def after_flare_week(state: str, setup: Callable[[CareModel], None], **changes: object) -> float:
    """M9: mean ``state`` after one week's flare draw (``flare`` = share who flared)."""
    m = probe_model(**{"flare_per_week": 0.3, **changes})  # frequent flares: a one-week share is well measured
    p = m.patients
    p.stress_reactivity[:], p.distress[:], p.pacing[:], p.activity_rise[:] = MID, MID, MID, 0.0
    setup(m)
    flare = recovery.flares(p, slice(None), m.mechanisms, m.streams)
    return float(flare.mean() if state == "flare" else getattr(p, state).mean())


def flare_contrast(state: str, trait: str, low: float, high: float, **changes: object) -> float:
    def at(level: float) -> float:
        return after_flare_week(state, lambda m: getattr(m.patients, trait).__setitem__(slice(None), level), **changes)

    return at(high) - at(low)


def everyone_flares(state: str, setup: Callable[[CareModel], None], **changes: object) -> float:
    """M9/M10/M19: mean ``state`` after a week in which everyone flares, minus before."""
    m = probe_model(**{**changes, "flare_per_week": 50.0})
    setup(m)
    before = getattr(m.patients, state).copy()
    recovery.flares(m.patients, slice(None), m.mechanisms, m.streams)
    return float((getattr(m.patients, state) - before).mean())


def set_all(**levels: float) -> Callable[[CareModel], None]:
    def setup(m: CareModel) -> None:
        for name, level in levels.items():
            getattr(m.patients, name)[:] = level

    return setup


def activity_rise(pacing: float, **changes: object) -> float:
    """M10: this week's rise in activity after a good week (2 points below the usual level)."""
    m = probe_model(**changes)
    p = m.patients
    p.pacing[:], p.symptoms_slow[:], p.symptoms[:] = pacing, 14.0, 12.0
    recovery.activity(p, slice(None), m.mechanisms)
    return float(p.activity_rise.mean())


def pacing_gained(**changes: object) -> float:
    """M10: pacing skill after an encounter minus before."""
    m = probe_model(**changes)
    set_clinician(m)
    m.clinicians.pacing_advice[0] = MID
    before = m.patients.pacing.mean()
    meet(m)
    return float(m.patients.pacing.mean() - before)


def loop_after(state: str, symptoms: float, **changes: object) -> float:
    """M11: ``state`` after a week with ``symptoms`` against a usual and recent level of 14."""
    m = probe_model(**changes)
    p = m.patients
    p.symptoms_slow[:], p.symptoms_fast[:], p.symptoms[:] = 14.0, 14.0, symptoms
    p.self_efficacy[:], p.expectation[:] = MID, MID
    recovery.feedback_loop(p, slice(None), m.mechanisms)
    return float(getattr(p, state).mean())


def distress_after(symptoms: float, **changes: object) -> float:
    m = probe_model(**changes)
    p = m.patients
    p.symptoms[:], p.distress[:] = symptoms, MID
    recovery.distress_and_function(p, slice(None), m.mechanisms)
    return float(p.distress.mean())


def avoidance_week(**levels_and_changes: object) -> float:
    """M19: change in avoidance over one week from 0.5 (levels: adherence, pacing, catastrophising, uncertainty)."""
    levels = {k: levels_and_changes.pop(k) for k in ("adherence", "pacing", "catastrophising", "uncertainty")}
    m = probe_model(**levels_and_changes)
    p = m.patients
    p.avoidance[:] = MID
    set_all(**levels)(m)
    recovery.avoidance(p, slice(None), m.mechanisms)
    return float((p.avoidance - MID).mean())


def function_target_contrast(trait: str, low: float, high: float, **changes: object) -> float:
    """M19: functioning target (0–100) at ``trait`` high minus low, latent severity unchanged."""

    def at(level: float) -> float:
        m = probe_model(**changes)
        getattr(m.patients, trait)[:] = level
        return float(recovery.function_target(m.patients, slice(None), m.mechanisms).mean())

    return at(high) - at(low)


def activity_target_contrast(**changes: object) -> float:
    """M19 -> M10: activity after a week at avoidance 0.1 minus at 0.9 (no boom: symptoms at their usual level)."""

    def at(level: float) -> float:
        m = probe_model(**changes)
        p = m.patients
        p.avoidance[:], p.symptoms_slow[:] = level, p.symptoms
        recovery.activity(p, slice(None), m.mechanisms)
        return float(p.activity.mean())

    return at(LOW) - at(HIGH)


# --- M13, M15–M18: engagement and the service -------------------------------------------------------


def dropout_share(setup: Callable[[CareModel], None], **changes: object) -> float:
    """M13: share of patients in care who drop out in one week (base hazard 0.3, so the share is well measured)."""
    m = probe_model(**{"dropout_per_week": 0.3, **changes})
    with_dyad(m, clinician=0)
    p = m.patients
    p.trust[:], p.progress[:] = MID, 0.0
    setup(m)
    engagement.disengage(p, m.dyads, 5, m.mechanisms, m.streams)
    return float((p.status == DISENGAGED).mean())


def dropout_contrast(setup_low: Callable[[CareModel], None], setup_high: Callable[[CareModel], None], **changes):
    """Dropout where the driver is low minus where it is high (more alliance, trust, progress: fewer leave)."""
    return dropout_share(setup_low, **changes) - dropout_share(setup_high, **changes)


def alliance_at(level: float) -> Callable[[CareModel], None]:
    def setup(m: CareModel) -> None:
        m.dyads.bond[:, 0] = m.dyads.goals[:, 0] = m.dyads.tasks[:, 0] = level

    return setup


def rupture_open(is_open: bool) -> Callable[[CareModel], None]:
    def setup(m: CareModel) -> None:
        m.dyads.rupture_week[:, 0] = 2 if is_open else NEVER

    return setup


def dismissed_in_week(week: int) -> Callable[[CareModel], None]:
    def setup(m: CareModel) -> None:
        m.patients.dismissed_week[:] = week

    return setup


def returning_share(**changes: object) -> float:
    """M13: share of disengaged patients who present again elsewhere in one week."""
    m = probe_model(**{"represent_per_week": 0.3, **changes})
    p = m.patients
    p.status[:] = DISENGAGED
    engagement.represent(p, m.dyads, 5, m.mechanisms, m.streams)
    return float((p.status == WAITING).mean())


def uptake(trust: float, explained: float, **changes: object) -> float:
    """M15: share taking up a course offered at a GP encounter (offer certain)."""
    m = probe_model(**{"p_psychosocial_offer_per_visit": 1.0, **changes})
    p = m.patients
    p.status[:] = IN_CARE
    p.trust[:], p.explanation_received[:] = trust, explained
    everyone = np.arange(p.n)
    enc = Encounters(everyone, np.zeros(p.n, np.int64), np.zeros(p.n, np.int8), np.full(p.n, ON_DEMAND, np.int8))
    pathways.offer_psychosocial(enc, p, 1, m.service, m.mechanisms, m.streams)
    return float(p.psychosocial_uptakes.mean())


def lost_referral_trust(lost: float, **changes: object) -> float:
    """M15: trust after GP encounters that refer nearly everyone, with a share ``lost`` of referrals lost."""
    m = probe_model(p_referral_per_visit=0.999, p_referral_lost=lost, **changes)
    p = m.patients
    p.status[:], p.trust[:] = IN_CARE, MID
    everyone = np.arange(p.n)
    enc = Encounters(everyone, np.zeros(p.n, np.int64), np.zeros(p.n, np.int8), np.full(p.n, ON_DEMAND, np.int8))
    pathways.refer(enc, np.full(p.n, 20.0), p, 1, m.service, m.mechanisms, m.streams, 0.0)
    return float(p.trust.mean())


def case_review_repairs(**changes: object) -> float:
    m = probe_model(**{"case_review_interval_weeks": 4, **changes})
    open_ruptures(m)
    repaired = pathways.case_review(m.patients, m.dyads, 4, m.service, m.mechanisms, m.streams, 0.0)
    return repaired.size / m.patients.n


def reflection(skill: str, off_track: bool, **changes: object) -> float:
    """M16: a clinician's ``skill`` after a week of feedback on patients (all off track or all on), minus before."""
    m = probe_model(**{"feedback": True, **changes})
    p, c = m.patients, m.clinicians
    p.progress[:] = -0.5 if off_track else 0.5
    c.reflective_practice[0] = MID
    before = getattr(c, skill)[0]
    everyone = np.arange(p.n)
    enc = Encounters(everyone, np.zeros(p.n, np.int64), np.zeros(p.n, np.int8), np.full(p.n, ON_DEMAND, np.int8))
    learning.reflect(enc, p, c, m.service, m.mechanisms)
    return float(getattr(c, skill)[0] - before)


def feedback_validation(**changes: object) -> float:
    """M16: validated share of off-track patients with feedback on minus off."""

    def at(feedback: bool) -> float:
        m = probe_model(**{**changes, "feedback": feedback})
        set_clinician(m, validation=MID)
        m.patients.progress[:] = -0.5
        return float(meet(m).mean())

    return at(True) - at(False)


def feedback_repair(**changes: object) -> float:
    """M16: share of open ruptures repaired with feedback on minus off."""
    return repairs_at_meeting(**{**changes, "feedback": True}) - repairs_at_meeting(**{**changes, "feedback": False})


def review_share(reported: float, improvement: float, **changes: object) -> tuple[float, float]:
    """M17: shares discharged and stepped up at a review of patients in GP-led care 8 weeks in."""
    m = probe_model(**{"review_interval_weeks": 8, **changes})
    p = m.patients
    p.status[:], p.care_start_week[:], p.care_step[:] = IN_CARE, 0, GP_LED
    p.step_start_reported[:] = reported + improvement
    pathways.review(p, np.full(p.n, reported), 8, m.service)
    return float((p.discharge_week == 8).mean()), float((p.care_step > GP_LED).mean())


def waiting_trust_loss(**changes: object) -> float:
    m = probe_model(**changes)
    p = m.patients
    p.status[:], p.trust[:] = WAITING, MID
    pathways.wait(p, m.mechanisms)
    return float(MID - p.trust.mean())


def slipped_trust_loss(**changes: object) -> float:
    """M18 -> M5: trust lost when a booked follow-up finds no slot."""
    m = probe_model(**changes)
    p = m.patients
    p.trust[:] = MID
    everyone = np.arange(p.n)
    req = Requests(everyone, np.zeros(p.n, np.int8), np.full(p.n, 1, np.int8))  # 1 = FOLLOWUP, a booked kind
    pathways.unmet(req, np.zeros(p.n, bool), p, m.mechanisms)
    return float(MID - p.trust.mean())


TABLE = [
    # M1 encounter builds bond
    Knockout(
        "M1",
        "bond, warm minus cool clinician",
        {"bond_gain": 0.0},
        lambda **k: encounter_contrast("dyad.bond", "warmth", 0.2, 0.9, **k),
        0.02,
    ),
    Knockout(
        "M1",
        "share of bond gap closed, 1st minus 6th encounter",
        {"early_rapport_boost": 0.0},
        share_of_gap_closed_falls,
        0.05,
        tolerance=1e-12,
    ),
    # M2 validation versus dismissal
    Knockout(
        "M2",
        "trust, validated minus dismissed",
        {"validated_trust_gain": 0.0, "dismissed_trust_drop": 0.0},
        lambda **k: encounter_contrast("trust", "validation", 0.0, 1.0, **k),
        0.03,
    ),
    Knockout(
        "M2",
        "distress, dismissed minus validated",
        {"validated_distress_drop": 0.0, "dismissed_distress_rise": 0.0},
        lambda **k: -encounter_contrast("distress", "validation", 0.0, 1.0, **k),
        0.03,
    ),
    Knockout(
        "M2",
        "stigma, dismissed minus validated",
        {"dismissed_stigma_rise": 0.0},
        lambda **k: -encounter_contrast("stigma", "validation", 0.0, 1.0, **k),
        0.03,
    ),
    Knockout(
        "M2",
        "validated share, stigma 0.1 minus 0.7",
        {"validation_stigma_logodds": 0.0},
        lambda **k: -validated_share("stigma", 0.1, 0.7, True, **k),
        0.05,
    ),
    Knockout(
        "M2",
        "validated share, biopsychosocial minus biomedical stance",
        {"validation_stance_logodds": 0.0},
        lambda **k: validated_share("stance", LOW, HIGH, False, **k),
        0.1,
    ),
    # M3 explanation and shared goals
    Knockout(
        "M3",
        "goal agreement, clear minus vague",
        {"goals_gain": 0.0},
        lambda **k: encounter_contrast("dyad.goals", "clarity", 0.0, 1.0, **k),
        0.05,
    ),
    Knockout(
        "M3",
        "task agreement, clear minus vague",
        {"tasks_gain": 0.0},
        lambda **k: encounter_contrast("dyad.tasks", "clarity", 0.0, 1.0, **k),
        0.05,
    ),
    Knockout(
        "M3",
        "uncertainty, vague minus clear",
        {"uncertainty_drop": 0.0},
        lambda **k: -encounter_contrast("uncertainty", "clarity", 0.0, 1.0, **k),
        0.02,
    ),
    Knockout(
        "M3",
        "goal agreement, health literacy 0.9 minus 0.1",
        {"literacy_floor": 1.0},
        lambda **k: patient_contrast("dyad.goals", "health_literacy", LOW, HIGH, **k),
        0.02,
    ),
    # M4 cultural humility
    Knockout(
        "M4",
        "bond across a cultural mismatch, humble minus not",
        {"mismatch_penalty": 0.0},
        lambda **k: across_cultures(HIGH, **k) - across_cultures(LOW, **k),
        0.01,
    ),
    # M5 trust
    Knockout(
        "M5",
        "trust, booked appointment kept minus on-demand contact",
        {"kept_followup_trust_gain": 0.0},
        lambda **k: booked_trust(1, **k) - booked_trust(ON_DEMAND, **k),
        0.01,
    ),
    Knockout(
        "M5",
        "trust, coherent minus contradicting new clinician",
        {"contradiction_trust_drop": 0.0},
        lambda **k: with_lead(1.0, "trust", **k) - with_lead(0.0, "trust", **k),
        0.02,
    ),
    Knockout(
        "M5",
        "uncertainty, contradicting minus coherent new clinician",
        {"contradiction_uncertainty_rise": 0.0},
        lambda **k: with_lead(0.0, "uncertainty", **k) - with_lead(1.0, "uncertainty", **k),
        0.02,
    ),
    # M6 honest reporting
    Knockout(
        "M6",
        "reported minus true PHQ-15 (points), stigma 0.8, no safety",
        {"amplify_points": 0.0},
        lambda **k: reported_excess(12.0, 12.0, 0.8, **k),
        1.0,
    ),
    Knockout(
        "M6",
        "a bad week's points hidden, no safety",
        {"underreport_share": 0.0},
        lambda **k: -reported_excess(18.0, 12.0, 0.0, **k),
        1.0,
    ),
    # M7 adherence: each driver alone (0.9 minus 0.1, others 0.5); distress and uncertainty lower it
    *(
        Knockout(
            "M7",
            f"adherence, {driver} 0.9 minus 0.1" + (" (negated)" if sign < 0 else ""),
            {f"adherence_{driver}": 0.0},
            lambda driver=driver, sign=sign, **k: sign * adherence_contrast(driver, **k),
            0.005,
        )
        for driver, sign in zip(ADHERENCE_DRIVERS, (1, 1, 1, 1, 1, -1, -1), strict=True)
    ),
    # M8 bounded recovery
    Knockout(
        "M8",
        "latent PHQ-15 points after a year, no self-management minus adherence 0.8",
        {"recovery_per_week": 0.0},
        lambda **k: latent_after(52, 0.0, False, **k) - latent_after(52, 0.8, False, **k),
        1.0,
    ),
    Knockout(
        "M8",
        "latent PHQ-15 points after a year, unseen minus seen weekly",
        {"contact_recovery_per_week": 0.0},
        lambda **k: latent_after(52, 0.0, False, **k) - latent_after(52, 0.0, True, **k),
        0.1,
    ),
    *(
        Knockout(
            "M8",
            f"set point (points), {trait} +0.2",
            {f"setpoint_{trait}": 0.0},
            lambda trait=trait, **k: setpoint_rise(trait, **k),
            0.1,
        )
        for trait in ("distress", "catastrophising", "avoidance", "stress_reactivity")
    ),
    Knockout(
        "M8",
        "latent points lost in 10 weeks from 30 toward the set point",
        {"setpoint_rate": 0.0},
        lambda **k: 30.0 - latent_after(10, 0.0, False, start=30.0, **k),
        1.0,
    ),
    # M9 flares
    Knockout(
        "M9",
        "flare share, stress reactivity 0.9 minus 0.1",
        {"flare_stress": 0.0},
        lambda **k: flare_contrast("flare", "stress_reactivity", LOW, HIGH, **k),
        0.05,
    ),
    Knockout(
        "M9",
        "flare share, distress 0.9 minus 0.1",
        {"flare_distress": 0.0},
        lambda **k: flare_contrast("flare", "distress", LOW, HIGH, **k),
        0.05,
    ),
    Knockout(
        "M9",
        "flare share, no pacing minus full pacing",
        {"flare_pacing": 0.0},
        lambda **k: -flare_contrast("flare", "pacing", 0.0, 1.0, **k),
        0.05,
    ),
    Knockout(
        "M9",
        "self-efficacy lost in a flare, intolerant minus tolerant of uncertainty",
        {"flare_self_efficacy_drop": 0.0},
        lambda **k: (
            everyone_flares("self_efficacy", set_all(uncertainty=0.05, self_efficacy=0.6), **k)
            - everyone_flares("self_efficacy", set_all(uncertainty=0.95, self_efficacy=0.6), **k)
        ),
        0.03,
    ),
    Knockout(
        "M9",
        "expectation lost in a flare, intolerant minus tolerant of uncertainty",
        {"flare_expectation_drop": 0.0},
        lambda **k: (
            everyone_flares("expectation", set_all(uncertainty=0.05, expectation=0.6), **k)
            - everyone_flares("expectation", set_all(uncertainty=0.95, expectation=0.6), **k)
        ),
        0.03,
    ),
    Knockout(
        "M9",
        "distress added by a flare",
        {"flare_distress_rise": 0.0},
        lambda **k: everyone_flares("distress", set_all(distress=MID), **k),
        0.03,
    ),
    Knockout(
        "M9",
        "latent points added by a flare without pacing",
        {"flare_relapse_points": 0.0},
        lambda **k: everyone_flares("latent", set_all(pacing=0.0, latent=12.0), **k),
        0.5,
    ),
    # M10 boom–bust
    Knockout(
        "M10",
        "activity rise after a good week, no pacing minus full pacing",
        {"boom_per_week": 0.0},
        lambda **k: activity_rise(0.0, **k) - activity_rise(1.0, **k),
        0.02,
    ),
    Knockout(
        "M10",
        "flare share, overexertion (rise 0.2) minus none",
        {"flare_overexertion": 0.0},
        lambda **k: flare_contrast("flare", "activity_rise", 0.0, 0.2, **k),
        0.05,
    ),
    Knockout(
        "M10",
        "activity lost in a flare (bust)",
        {"bust_activity_drop": 0.0},
        lambda **k: -everyone_flares("activity", set_all(activity=MID), **k),
        0.05,
    ),
    Knockout(
        "M10",
        "pacing skill gained from an encounter with pacing advice",
        {"pacing_gain": 0.0},
        lambda **k: pacing_gained(**{"pacing_guidance": True, **k}),
        0.005,
    ),
    Knockout(
        "M10",
        "pacing skill gained from an encounter, guidance switched on",
        {"pacing_guidance": False},
        lambda **k: pacing_gained(**{"pacing_guidance": True, **k}),
        0.005,
    ),
    # M11 the progress loop
    Knockout(
        "M11",
        "self-efficacy, an improving minus a worsening week",
        {"progress_self_efficacy": 0.0},
        lambda **k: loop_after("self_efficacy", 10.0, **k) - loop_after("self_efficacy", 18.0, **k),
        0.02,
    ),
    Knockout(
        "M11",
        "expectation, an improving minus a worsening week",
        {"progress_expectation": 0.0},
        lambda **k: loop_after("expectation", 10.0, **k) - loop_after("expectation", 18.0, **k),
        0.02,
    ),
    Knockout(
        "M11",
        "distress after a week at PHQ-15 25 minus 5",
        {"distress_symptoms": 0.0},
        lambda **k: distress_after(25.0, **k) - distress_after(5.0, **k),
        0.02,
    ),
    # M12 ruptures and repair
    Knockout(
        "M12",
        "rupture share, dismissed minus validated",
        {"rupture_dismissal": 0.0},
        lambda **k: rupture_share(0.0, **k) - rupture_share(1.0, **k),
        0.1,
    ),
    Knockout(
        "M12", "share of open ruptures repaired at the next encounter", {"p_repair": 0.0}, repairs_at_meeting, 0.1
    ),
    Knockout("M12", "bond after a repair minus before the rupture", {"repair_bond_bonus": 0.0}, repair_gain, 0.05),
    Knockout("M12", "bond lost when a rupture lapses unrepaired", {"unrepaired_bond_drop": 0.0}, lapse_cost, 0.05),
    # M13 disengagement and doctor shopping
    Knockout(
        "M13",
        "dropout share in a week, alliance 0.1 minus 0.9",
        {"dropout_alliance": 0.0},
        lambda **k: dropout_contrast(alliance_at(LOW), alliance_at(HIGH), **k),
        0.05,
    ),
    Knockout(
        "M13",
        "dropout share in a week, trust 0.1 minus 0.9",
        {"dropout_trust": 0.0},
        lambda **k: dropout_contrast(set_all(trust=LOW), set_all(trust=HIGH), **k),
        0.05,
    ),
    Knockout(
        "M13",
        "dropout share in a week, no progress minus progress",
        {"dropout_progress": 0.0},
        lambda **k: dropout_contrast(set_all(progress=0.0), set_all(progress=1.0), **k),
        0.05,
    ),
    Knockout(
        "M13",
        "dropout share in a week, open rupture minus none",
        {"dropout_rupture": 0.0},
        lambda **k: dropout_contrast(rupture_open(False), rupture_open(True), **k) * -1,
        0.05,
    ),
    Knockout(
        "M13",
        "dropout share in a week, dismissed this week minus not",
        {"dropout_dismissal": 0.0},
        lambda **k: -dropout_contrast(dismissed_in_week(NEVER), dismissed_in_week(5), **k),
        0.05,
    ),
    Knockout(
        "M13", "share of the disengaged presenting again in a week", {"represent_per_week": 0.0}, returning_share, 0.05
    ),
    # M14 investigations
    Knockout(
        "M14",
        "uncertainty after a test, 3 earlier tests minus none",
        {"repeat_test_uncertainty": 0.0},
        lambda **k: uncertainty_after_test(3, **k) - uncertainty_after_test(0, **k),
        0.02,
    ),
    Knockout(
        "M14",
        "trust after a normal result, explained minus not",
        {"normal_result_trust_drop": 0.0},
        lambda **k: after_normal_result(1.0, "trust", **k) - after_normal_result(0.0, "trust", **k),
        0.005,
    ),
    Knockout(
        "M14",
        "distress after a normal result, unexplained minus explained (reassurance)",
        {"reassurance_distress_drop": 0.0},
        lambda **k: after_normal_result(0.0, "distress", **k) - after_normal_result(1.0, "distress", **k),
        0.005,
    ),
    Knockout(
        "M14",
        "share tested, uncertainty 0.9 minus 0.1",
        {"investigation_uncertainty": 0.0},
        lambda **k: share_tested("uncertainty", LOW, HIGH, **k),
        0.05,
    ),
    Knockout(
        "M14",
        "share tested, biomedical minus biopsychosocial clinician",
        {"investigation_biomedical": 0.0},
        lambda **k: -share_tested("stance", LOW, HIGH, **k),
        0.05,
    ),
    # M15 care coordination
    Knockout(
        "M15",
        "goal agreement with a new team member, lead's alliance 0.9 minus 0.2",
        {"alliance_transfer": 0.0},
        lambda **k: with_lead(1.0, "dyad.goals", lead=HIGH, **k) - with_lead(1.0, "dyad.goals", lead=0.2, **k),
        0.02,
    ),
    Knockout(
        "M15",
        "uptake of a course, trust 0.8 minus 0.2",
        {"uptake_trust": 0.0},
        lambda **k: uptake(0.8, MID, **k) - uptake(0.2, MID, **k),
        0.2,
    ),
    Knockout(
        "M15",
        "uptake of a course, explanation 0.9 minus 0.1",
        {"uptake_explanation": 0.0},
        lambda **k: uptake(MID, HIGH, **k) - uptake(MID, LOW, **k),
        0.2,
    ),
    Knockout(
        "M15",
        "trust, referrals kept minus lost",
        {"lost_referral_trust_drop": 0.0},
        lambda **k: lost_referral_trust(0.0, **k) - lost_referral_trust(1.0, **k),
        0.02,
    ),
    Knockout(
        "M15", "share of open ruptures repaired at a case review", {"case_review_repair": 0.0}, case_review_repairs, 0.1
    ),
    # M16 reflection and feedback
    Knockout(
        "M16",
        "validation propensity gained in a week of feedback",
        {"learning_per_week": 0.0},
        lambda **k: reflection("validation", True, **k),
        0.001,
    ),
    Knockout(
        "M16",
        "cultural humility gained in a week of feedback",
        {"reflection_humility": 0.0},
        lambda **k: reflection("cultural_humility", True, **k),
        0.0005,
    ),
    Knockout(
        "M16",
        "repair skill gained in a week, feedback switched on",
        {"feedback": False},
        lambda **k: reflection("repair_skill", True, **k),
        0.001,
    ),
    Knockout(
        "M16",
        "validated share of off-track patients, feedback on minus off",
        {"feedback_validation_logodds": 0.0},
        feedback_validation,
        0.03,
    ),
    Knockout("M16", "repaired share, feedback on minus off", {"feedback_repair_boost": 0.0}, feedback_repair, 0.05),
    # M17 stepped care
    Knockout(
        "M17",
        "share stepped up at a review without improvement",
        {"stepping": False},
        lambda **k: review_share(14.0, 0.0, **{"stepping": True, **k})[1],
        0.9,
    ),
    Knockout(
        "M17",
        "share discharged at a review reporting PHQ-15 4",
        {"discharge_below_points": 0.0},
        lambda **k: review_share(4.0, 0.0, **k)[0],
        0.9,
    ),
    # M18 capacity and waiting
    Knockout("M18", "trust lost in a week on the waiting list", {"waiting_trust_drop": 0.0}, waiting_trust_loss, 0.005),
    Knockout(
        "M18",
        "trust lost when a booked follow-up finds no slot",
        {"missed_followup_trust_drop": 0.0},
        slipped_trust_loss,
        0.005,
    ),
    # M19 fear-avoidance and functioning
    Knockout(
        "M19",
        "avoidance, dismissed minus validated",
        {"validated_avoidance_drop": 0.0, "dismissed_avoidance_rise": 0.0},
        lambda **k: -encounter_contrast("avoidance", "validation", 0.0, 1.0, **k),
        0.02,
    ),
    Knockout(
        "M19",
        "avoidance, vague minus clear explanation",
        {"explanation_avoidance_drop": 0.0},
        lambda **k: -encounter_contrast("avoidance", "clarity", 0.0, 1.0, **k),
        0.01,
    ),
    Knockout(
        "M19",
        "avoidance added by a flare",
        {"flare_avoidance_rise": 0.0},
        lambda **k: everyone_flares("avoidance", set_all(avoidance=0.4), **k),
        0.03,
    ),
    Knockout(
        "M19",
        "avoidance gained in a week of fear (catastrophising, uncertainty 0.8)",
        {"avoidance_fear_per_week": 0.0},
        lambda **k: avoidance_week(adherence=0.0, pacing=0.0, catastrophising=0.8, uncertainty=0.8, **k),
        0.005,
    ),
    Knockout(
        "M19",
        "avoidance lost in a week of graded exposure (adherence, pacing 0.9)",
        {"avoidance_exposure_per_week": 0.0},
        lambda **k: -avoidance_week(adherence=0.9, pacing=0.9, catastrophising=0.0, uncertainty=0.0, **k),
        0.005,
    ),
    Knockout(
        "M19",
        "functioning target, avoidance 0.1 minus 0.9",
        {"function_avoidance": 0.0},
        lambda **k: -function_target_contrast("avoidance", LOW, HIGH, **k),
        5.0,
    ),
    Knockout(
        "M19",
        "functioning target, pacing 0.9 minus 0.1",
        {"function_pacing": 0.0},
        lambda **k: function_target_contrast("pacing", LOW, HIGH, **k),
        2.0,
    ),
    Knockout(
        "M19",
        "functioning target, self-efficacy 0.9 minus 0.1",
        {"function_self_efficacy": 0.0},
        lambda **k: function_target_contrast("self_efficacy", LOW, HIGH, **k),
        2.0,
    ),
    Knockout("M19", "activity, avoidance 0.1 minus 0.9", {"activity_avoidance": 0.0}, activity_target_contrast, 0.01),
]


def row_id(row: Knockout) -> str:
    return f"{row.mechanism}:{'+'.join(row.off)}"


@pytest.mark.parametrize("row", TABLE, ids=row_id)
def test_with_the_mechanism_on_its_effect_is_there(row: Knockout):
    assert row.probe() >= row.minimum, row.effect


@pytest.mark.parametrize("row", TABLE, ids=row_id)
def test_with_its_parameters_off_the_effect_is_gone(row: Knockout):
    assert abs(row.probe(**row.off)) <= row.tolerance, row.effect


def test_the_table_covers_every_mechanism_once_per_parameter():
    assert {row.mechanism for row in TABLE} == {f"M{i}" for i in range(1, 20)}
    ids = [row_id(row) for row in TABLE]
    assert len(ids) == len(set(ids))
    known = {f.name for cls in (MechanismParams, ServiceParams) for f in dataclasses.fields(cls)}
    assert {name for row in TABLE for name in row.off} <= known
