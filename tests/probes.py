"""Probes of one mechanism at a time, shared by the direction tests and the knock-out table.

A probe builds a fresh, unrun model, sets the state so that one driver is at a
chosen level, applies one mechanism function (an encounter, a week of
recovery, a dropout draw, ...) and returns the outcome that mechanism names.
Two probes that differ only in the driver's level use the same seed, so they
see the same random draws for the same patient (common random numbers): the
difference between them is the mechanism's effect, and with the mechanism's
coefficients at zero it is exactly zero.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from sim.core.encounters import COORDINATION, FOLLOWUP, ON_DEMAND, Encounters, Requests
from sim.core.params import MechanismParams, PopulationParams, RunParams, ServiceParams
from sim.core.state import DISENGAGED, GP_LED, IN_CARE, NEVER, THERAPY, WAITING
from sim.engine.model import CareModel
from sim.mechanisms import alliance, engagement, investigations, learning, pathways, recovery

N = 2000
"""Patients in a probe population: a share of them having an event in one week is then known to about 1 %."""

LOW, MID, HIGH = 0.1, 0.5, 0.9
"""Levels of a [0, 1] driver compared by the probes."""

MECHANISM_NAMES = frozenset(f.name for f in dataclasses.fields(MechanismParams))
POPULATION_NAMES = frozenset(f.name for f in dataclasses.fields(PopulationParams))


def probe_model(n: int = N, seed: int = 3, **changes: object) -> CareModel:
    """A fresh, unrun model of ``n`` patients; ``changes`` name mechanism, population or service parameters."""
    mech = {k: v for k, v in changes.items() if k in MECHANISM_NAMES}
    population = {k: v for k, v in changes.items() if k in POPULATION_NAMES}
    service = {k: v for k, v in changes.items() if k not in MECHANISM_NAMES | POPULATION_NAMES}
    return CareModel(
        dataclasses.replace(ServiceParams(), **service),
        run=RunParams(weeks=10),
        population=PopulationParams(n_patients=n, **population),
        mechanisms=dataclasses.replace(MechanismParams(), **mech),
        seed=seed,
        agents=False,
    )


def tiny_model(**changes: object) -> CareModel:
    """Five patients, for probes that follow named individuals."""
    return probe_model(5, **changes)


def seen_bond(model: CareModel) -> float:
    """Mean bond over every dyad that exists."""
    d = model.dyads
    return float(d.bond[d.clinician >= 0].mean())


def seen_mean(model: CareModel, values: np.ndarray) -> float:
    """Mean over patients who have had at least one encounter."""
    return float(values[model.patients.encounters > 0].mean())


def set_clinician(
    model: CareModel,
    clinician: int = 0,
    *,
    validation: float = 1.0,
    clarity: float = 0.5,
    warmth: float = 0.8,
    stance: float = 0.5,
) -> None:
    """Fix one clinician's traits; validation 1 always validates, 0 always dismisses."""
    c = model.clinicians
    c.validation[clinician], c.clarity[clinician], c.warmth[clinician] = validation, clarity, warmth
    c.biopsychosocial[clinician] = stance


def meet(
    model: CareModel, *, clinician: int = 0, kind: int = FOLLOWUP, week: int = 1, patients: np.ndarray | None = None
) -> np.ndarray:
    """``patients`` (default all) meet ``clinician`` once this week (M1–M6, M10, M12, M14); returns who is validated."""
    p, c = model.patients, model.clinicians
    who = np.arange(p.n) if patients is None else patients
    enc = Encounters(
        who,
        np.full(who.size, clinician, np.int64),
        np.full(who.size, c.role[clinician], np.int8),
        np.full(who.size, kind, np.int8),
    )
    return alliance.encounter(
        enc,
        p,
        c,
        model.dyads,
        week,
        model.service,
        model.mechanisms,
        model.streams,
        model.visit_cost,
        0.0,
    )


def met(model: CareModel, *, validation: float, clarity: float) -> None:
    """Every patient meets clinician 0 once, who validates (1) or dismisses (0) and explains with ``clarity``."""
    set_clinician(model, validation=validation, clarity=clarity, stance=validation)
    model.patients.stigma[:] = 0.0
    meet(model)


def force_encounters(model: CareModel, times: int) -> list[float]:
    """Patient 0 meets a warm, validating clinician 0 ``times`` times; returns the bond after each."""
    set_clinician(model, validation=1.0, clarity=1.0, warmth=0.8, stance=1.0)
    model.patients.stigma[0] = 0.0
    # A reference patient, so the first bond starts at bond_initial, below 1, whatever the draws.
    model.patients.attachment_security[0], model.patients.trust[0] = 0.5, 0.5
    bonds = []
    for week in range(1, times + 1):
        meet(model, week=week, patients=np.array([0]))
        bonds.append(float(model.dyads.bond[0, model.dyads.current[0]]))
    return bonds


def with_dyad(
    model: CareModel, *, clinician: int = 1, bond: float = 0.5, goals: float = 0.5, tasks: float = 0.5
) -> None:
    """Give every patient a current dyad (slot 0) with ``clinician``, as if seen once before, and put them in care."""
    p, d = model.patients, model.dyads
    d.clinician[:, 0] = clinician
    d.bond[:, 0], d.goals[:, 0], d.tasks[:, 0] = bond, goals, tasks
    d.encounters[:, 0] = 1
    d.last_week[:, 0] = 0
    d.set_current(np.arange(p.n), np.zeros(p.n, np.int64))
    p.encounters[:] = 1
    p.status[:] = IN_CARE


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


def tolerance_buffers(state: str, **changes: object) -> float:
    """M9: ``state`` (0.6 before) lost in a flare by patients intolerant of uncertainty (0.95) minus tolerant (0.05)."""
    tolerant = everyone_flares(state, set_all(uncertainty=0.05, **{state: 0.6}), **changes)
    intolerant = everyone_flares(state, set_all(uncertainty=0.95, **{state: 0.6}), **changes)
    return tolerant - intolerant


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


def faded(state: str, **changes: object) -> float:
    """M3, M19: a week's move of ``state`` (uncertainty or avoidance) back up from 0.1 toward the own level 0.6."""
    m = probe_model(**changes)
    p = m.patients
    getattr(p, state)[:], getattr(p, f"{state}_own")[:] = LOW, 0.6
    recovery.fading(p, slice(None), m.mechanisms)
    return float((getattr(p, state) - LOW).mean())


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


def function_spread(**changes: object) -> float:
    """M19: range across patients of the functioning target when every modelled state is the same.

    What is left is each patient's ``function_offset``: what the model leaves out (other illnesses,
    conditioning, the demands of work and home)."""
    m = probe_model(**changes)
    p = m.patients
    p.latent[:] = 12.0
    for name in ("activity", "distress", "avoidance", "self_efficacy", "pacing"):
        getattr(p, name)[:] = MID
    return float(np.ptp(recovery.function_target(p, slice(None), m.mechanisms)))


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
    m = probe_model(**{"review_interval_weeks": 8, "uptake_logodds": 50.0, **changes})  # a step is always taken
    p = m.patients
    p.status[:], p.care_start_week[:], p.care_step[:] = IN_CARE, 0, GP_LED
    p.step_start_reported[:] = reported + improvement
    pathways.review(p, np.full(p.n, reported), 8, m.service, m.mechanisms, m.streams)
    return float((p.discharge_week == 8).mean()), float((p.care_step > GP_LED).mean())


def step_uptake(trust: float, **changes: object) -> float:
    """M17 (M5): share taking up the therapy step proposed at a review (no improvement, PHQ-15 14)."""
    m = probe_model(**{"stepping": True, "review_interval_weeks": 8, **changes})
    p = m.patients
    p.status[:], p.care_start_week[:], p.step_start_reported[:], p.trust[:] = IN_CARE, 0, 14.0, trust
    pathways.review(p, np.full(p.n, 14.0), 8, m.service, m.mechanisms, m.streams)
    return float((p.care_step > GP_LED).mean())


def course_finished(**changes: object) -> float:
    """M17: share back in GP-led care after 12 contacts at the therapy step (week 5: no review due)."""
    m = probe_model(**{"stepping": True, "review_interval_weeks": 8, **changes})
    p = m.patients
    p.status[:], p.care_start_week[:], p.care_step[:], p.step_contacts[:] = IN_CARE, 0, THERAPY, 12
    pathways.review(p, np.full(p.n, 14.0), 5, m.service, m.mechanisms, m.streams)
    return float((p.care_step == GP_LED).mean())


def coordination_due(week_in_care: int, **changes: object) -> float:
    """M15: share of patients in care due a coordinator contact ``week_in_care`` weeks in (every 8 weeks)."""
    m = probe_model(**{"coordinator_contact_interval_weeks": 8, **changes})
    p = m.patients
    p.status[:], p.care_start_week[:], p.next_followup_week[:] = IN_CARE, 0, 10_000
    req = pathways.demand(p, week_in_care, m.service, m.mechanisms, m.streams)
    return float((req.kind == COORDINATION).sum() / p.n)


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
    req = Requests(everyone, np.zeros(p.n, np.int8), np.full(p.n, FOLLOWUP, np.int8))  # a booked kind
    pathways.unmet(req, np.zeros(p.n, bool), p, m.mechanisms)
    return float(MID - p.trust.mean())
