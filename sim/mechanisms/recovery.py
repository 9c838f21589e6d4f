"""Between encounters: self-management, flares, avoidance, symptoms and functioning (M7–M11, M19).

M ids: M7 adherence, M8 bounded recovery, M9 fluctuation and flares,
M10 boom–bust, M11 the progress loop, M19 fear-avoidance and functioning.
Parameters (:class:`~sim.core.params.MechanismParams`): ``adherence_*``
(M7); ``symptom_floor_share``, ``setpoint_*``, ``*_reference``,
``recovery_per_week``, ``contact_recovery_per_week`` (M8); ``fluctuation_*``,
``flare_*`` (M9); ``activity_*``, ``boom_per_week``, ``safe_activity_step``,
``bust_activity_drop`` (M10); ``progress_*``, ``recent_level_weight``,
``usual_level_weight``, ``distress_*`` (M11); ``avoidance_*``,
``flare_avoidance_rise``, ``function_*`` (M19).
Streams: ``Stream.FLARE``, ``FLARE_SIZE`` (M9), ``FLUCTUATION`` (M9, normal);
all care-independent.
State read: status, trust, self-efficacy, expectation, distress, uncertainty,
catastrophising, stress reactivity, pacing, baseline severity, function offset, the current
dyad's tasks and bond, who was seen this week.
State written: adherence, activity,
activity_rise, flare_load, in_flare, flares, latent, fluctuation, symptoms,
symptoms_fast/slow, progress, self-efficacy, expectation, distress, avoidance,
function, adherence_sum, weeks_presented.

Each week, for every patient in the population (``idx``), in this order:

1. M7 adherence moves toward a target set by task agreement, bond, trust,
   self-efficacy and expectation (up) and distress and uncertainty (down).
   Only patients who have presented self-manage: before that there is no plan.
2. M10 activity moves toward what self-efficacy, the plan and avoidance
   allow; without pacing, a good week brings a burst (boom) that overshoots.
3. M9 flares arrive at random, more often with stress reactivity, distress
   and overexertion (M10), less often with pacing; a flare knocks
   self-efficacy and expectation unless the patient tolerates uncertainty,
   raises avoidance (M19), and without pacing leaves a relapse.
4. M8 bounded recovery: latent severity relaxes toward a patient-specific
   set point between the floor and 30 (higher with distress, catastrophising
   and avoidance); self-management (adherence) pulls it toward the floor,
   contact alone a little. It never leaves [floor, 30]; the approach is
   exponential, so most of a two-year gain comes early.
5. Symptoms = latent severity + flare load + autocorrelated fluctuation.
6. M11 the feedback loop: perceived progress (usual minus recent symptom
   level) raises expectation and self-efficacy, which feed adherence (1.);
   the loop runs downward as well.
7. M3, M19 fading: uncertainty and avoidance drift back toward the
   patient's own level before care unless renewed.
   M19 avoidance: fear (catastrophising x uncertainty) raises it; graded
   exposure (adherence x pacing) lowers it. Distress and functioning move
   toward their targets; functioning's target depends on activity, pacing,
   self-efficacy and avoidance as well as symptoms, so it can improve while
   symptoms persist.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.maths import hazard_to_prob, logistic, logit
from ..core.params import MechanismParams
from ..core.state import NOT_PRESENTED, DyadState, PatientState
from ..core.streams import Stream, Streams

Index = slice | np.ndarray

PHQ15_MAX = 30.0  # top of the PHQ-15 scale (15 items scored 0–2)
FUNCTION_MAX = 100.0  # top of the functioning scale
MIDPOINT = 0.5  # middle of a [0, 1] trait or state: centred effects are zero here
LN2 = math.log(2.0)  # a half-life of h weeks is a weekly decay of exp(-ln 2 / h)


def adherence(p: PatientState, d: DyadState, idx: Index, mech: MechanismParams) -> None:
    """M7: the share of agreed self-management carried out this week (presented patients only)."""
    tasks = d.current_values(d.tasks)[idx]
    bond = d.current_values(d.bond)[idx]
    x = (
        mech.adherence_intercept
        + mech.adherence_tasks * tasks
        + mech.adherence_bond * bond
        + mech.adherence_trust * p.trust[idx]
        + mech.adherence_self_efficacy * p.self_efficacy[idx]
        + mech.adherence_expectation * p.expectation[idx]
        - mech.adherence_distress * p.distress[idx]
        - mech.adherence_uncertainty * p.uncertainty[idx]
    )
    a = p.adherence[idx]
    presented = p.status[idx] != NOT_PRESENTED
    p.adherence[idx] = np.where(presented, a + mech.adherence_rate * (logistic(x) - a), 0.0)


def activity(p: PatientState, idx: Index, mech: MechanismParams) -> None:
    """M10: activity rises with self-efficacy and graded activity, falls with avoidance; booms without pacing."""
    act = p.activity[idx]
    target = np.clip(
        mech.activity_base
        + mech.activity_self_efficacy * p.self_efficacy[idx] * (1.0 - p.symptoms[idx] / PHQ15_MAX)
        + mech.activity_adherence * p.adherence[idx]
        - mech.activity_avoidance * p.avoidance[idx],
        0.0,
        1.0,
    )
    good_week = np.clip((p.symptoms_slow[idx] - p.symptoms[idx]) / mech.progress_scale_points, 0.0, 1.0)
    boom = mech.boom_per_week * (1.0 - p.pacing[idx]) * good_week
    rise = mech.activity_rate * (target - act) + boom
    p.activity[idx] = np.clip(act + rise, 0.0, 1.0)
    p.activity_rise[idx] = rise


def flares(p: PatientState, idx: Index, mech: MechanismParams, streams: Streams) -> np.ndarray:
    """M9 (with M10, M19): random flares and what they do. Returns the flare mask over ``idx``."""
    u_flare = streams.uniform(Stream.FLARE, p.n)[idx]
    u_size = streams.uniform(Stream.FLARE_SIZE, p.n)[idx]
    overexertion = np.maximum(p.activity_rise[idx] - mech.safe_activity_step, 0.0)
    hazard = mech.flare_per_week * np.exp(
        mech.flare_stress * (p.stress_reactivity[idx] - MIDPOINT)
        + mech.flare_distress * (p.distress[idx] - MIDPOINT)
        - mech.flare_pacing * p.pacing[idx]
        + mech.flare_overexertion * overexertion
    )
    flare = u_flare < hazard_to_prob(hazard)
    decay = math.exp(-LN2 / mech.flare_half_life_weeks)
    size = mech.flare_points * (1.0 + mech.flare_size_spread * (u_size - MIDPOINT))
    p.flare_load[idx] = p.flare_load[idx] * decay + flare * size
    p.in_flare[idx] = flare
    p.flares[idx] += flare

    f = idx[flare] if isinstance(idx, np.ndarray) else np.flatnonzero(flare)
    unc = p.uncertainty[f]  # tolerance of uncertainty = 1 - uncertainty
    p.self_efficacy[f] -= mech.flare_self_efficacy_drop * unc * p.self_efficacy[f]
    p.expectation[f] -= mech.flare_expectation_drop * unc * p.expectation[f]
    p.distress[f] += mech.flare_distress_rise * (1.0 - p.distress[f])
    p.avoidance[f] += mech.flare_avoidance_rise * (1.0 - p.avoidance[f])
    p.activity[f] *= 1.0 - mech.bust_activity_drop
    p.latent[f] = np.minimum(p.latent[f] + mech.flare_relapse_points * (1.0 - p.pacing[f]), PHQ15_MAX)
    return flare


def symptom_floor(p: PatientState, idx: Index, mech: MechanismParams) -> np.ndarray:
    """M8: each patient's floor of latent severity, a share of their baseline PHQ-15."""
    return mech.symptom_floor_share * p.baseline_severity[idx]


def setpoint(p: PatientState, idx: Index, mech: MechanismParams) -> np.ndarray:
    """M8: the latent severity a patient settles at without self-management, strictly inside (floor, 30).

    Written as a share of the room between the floor and 30: at reference
    distress, catastrophising, avoidance and stress reactivity the share is ``setpoint_share``
    times the baseline's; each above its reference adds log-odds to it, each
    below takes them away. On the log-odds scale the set point approaches
    neither end, so no one is pushed onto the floor or the top of the scale.
    """
    floor = symptom_floor(p, idx, mech)
    room = PHQ15_MAX - floor
    share = mech.setpoint_share * (p.baseline_severity[idx] - floor) / room
    x = (
        logit(share)
        + mech.setpoint_distress * (p.distress[idx] - mech.distress_reference)
        + mech.setpoint_catastrophising * (p.catastrophising[idx] - mech.catastrophising_reference)
        + mech.setpoint_avoidance * (p.avoidance[idx] - mech.avoidance_reference)
        + mech.setpoint_stress_reactivity * (p.stress_reactivity[idx] - mech.stress_reactivity_reference)
    )
    return floor + room * logistic(x)


def recovery(p: PatientState, idx: Index, seen: np.ndarray, mech: MechanismParams) -> None:
    """M8: latent severity relaxes toward its set point; self-management pulls it toward the floor.

    ``S_L += setpoint_rate (S* - S_L) - (recovery_per_week a + contact_recovery_per_week c)(S_L - floor)``
    with adherence ``a`` and contact ``c`` (0/1). Both terms move ``S_L``
    toward points inside ``[floor, 30]`` by less than the whole gap, so it
    stays there; with steady drivers the approach is exponential (decelerating).

    Args:
        p: Patient state, updated in place.
        idx: Patients in the population.
        seen: Boolean mask over all patients: had an encounter this week.
        mech: Mechanism coefficients.
    """
    floor = symptom_floor(p, idx, mech)
    latent = p.latent[idx]
    pull = np.minimum(mech.recovery_per_week * p.adherence[idx] + mech.contact_recovery_per_week * seen[idx], 1.0)
    relaxed = latent + mech.setpoint_rate * (setpoint(p, idx, mech) - latent)
    p.latent[idx] = np.clip(relaxed - pull * (relaxed - floor), floor, PHQ15_MAX)


def symptoms(p: PatientState, idx: Index, mech: MechanismParams, streams: Streams) -> None:
    """Symptoms (PHQ-15) = latent severity + flare load + AR(1) fluctuation scaled to the level (M9).

    The fluctuation's SD is ``fluctuation_sd`` at ``fluctuation_level_points``
    of latent severity and grows with its square root, as for a count: a
    patient near the bottom of the scale cannot swing by many points, so the
    scale does not pile up at 0.
    """
    z = streams.normal(Stream.FLUCTUATION, p.n)[idx]
    rho = mech.fluctuation_autocorr
    fl = rho * p.fluctuation[idx] + math.sqrt(1.0 - rho**2) * mech.fluctuation_sd * z
    p.fluctuation[idx] = fl
    scale = np.sqrt(p.latent[idx] / mech.fluctuation_level_points)
    p.symptoms[idx] = np.clip(p.latent[idx] + p.flare_load[idx] + fl * scale, 0.0, PHQ15_MAX)


def feedback_loop(p: PatientState, idx: Index, mech: MechanismParams) -> None:
    """M11: perceived progress moves expectation and self-efficacy, up or down."""
    s = p.symptoms[idx]
    fast = (1.0 - mech.recent_level_weight) * p.symptoms_fast[idx] + mech.recent_level_weight * s
    slow = (1.0 - mech.usual_level_weight) * p.symptoms_slow[idx] + mech.usual_level_weight * s
    p.symptoms_fast[idx], p.symptoms_slow[idx] = fast, slow
    progress = np.clip((slow - fast) / mech.progress_scale_points, -1.0, 1.0)
    p.progress[idx] = progress
    for state, gain in (
        (p.self_efficacy, mech.progress_self_efficacy),
        (p.expectation, mech.progress_expectation),
    ):
        v = state[idx]
        room = np.where(progress > 0, 1.0 - v, v)
        state[idx] = v + gain * progress * room


def fading(p: PatientState, idx: Index, mech: MechanismParams) -> None:
    """M3, M19: uncertainty and avoidance drift back toward the patient's own level before care.

    ``u += uncertainty_return_per_week (u_own - u)`` and the same for avoidance:
    what explanation and exposure achieved holds only while care and practice
    renew it (worry returns after reassurance, fear after exposure), and what
    a contradiction or a dismissal added wears off too. Each state's gap to
    the patient's own level shrinks geometrically, so neither can drift
    without bound from where the patient started.
    """
    for state, own, rate in (
        (p.uncertainty, p.uncertainty_own, mech.uncertainty_return_per_week),
        (p.avoidance, p.avoidance_own, mech.avoidance_return_per_week),
    ):
        v = state[idx]
        state[idx] = v + rate * (own[idx] - v)


def avoidance(p: PatientState, idx: Index, mech: MechanismParams) -> None:
    """M19: fear of symptoms raises avoidance; graded exposure (adherence x pacing) lowers it."""
    v = p.avoidance[idx]
    fear = mech.avoidance_fear_per_week * p.catastrophising[idx] * p.uncertainty[idx]
    exposure = mech.avoidance_exposure_per_week * p.adherence[idx] * p.pacing[idx]
    p.avoidance[idx] = np.clip(v + fear * (1.0 - v) - exposure * v, 0.0, 1.0)


def distress_and_function(p: PatientState, idx: Index, mech: MechanismParams) -> None:
    """Distress (M11) and functioning (M19, 0–100) move toward their targets."""
    target = (
        mech.distress_base
        + mech.distress_symptoms * p.symptoms[idx] / PHQ15_MAX
        + mech.distress_catastrophising * p.catastrophising[idx] * p.uncertainty[idx]
        - mech.distress_self_efficacy * (p.self_efficacy[idx] - MIDPOINT)
    )
    dist = p.distress[idx]
    p.distress[idx] = np.clip(dist + mech.distress_rate * (np.clip(target, 0, 1) - dist), 0.0, 1.0)
    f = p.function[idx]
    p.function[idx] = np.clip(f + mech.function_rate * (function_target(p, idx, mech) - f), 0.0, FUNCTION_MAX)


def function_target(p: PatientState, idx: Index, mech: MechanismParams) -> np.ndarray:
    """M19: functioning (0–100) that latent severity, activity, pacing, self-efficacy, avoidance and distress allow.

    Latent severity, not this week's symptoms: a bad week does not undo a
    person's roles, and symptoms and disability are related but distinct.
    What the modelled states allow is kept ``function_scale_margin`` inside
    the scale; each patient's own ``function_offset`` (log-odds: what the
    model leaves out, such as other illnesses, conditioning, the demands of
    work and home) then shifts it on the log-odds scale, so that no one is
    pushed onto either end of the scale.
    """
    allowed = (
        FUNCTION_MAX
        - mech.function_per_symptom_point * p.latent[idx]
        - mech.function_activity * (1.0 - p.activity[idx])
        - mech.function_distress * p.distress[idx]
        - mech.function_avoidance * p.avoidance[idx]
        + mech.function_self_efficacy * (p.self_efficacy[idx] - MIDPOINT)
        + mech.function_pacing * p.pacing[idx]
    ) / FUNCTION_MAX
    margin = mech.function_scale_margin
    share = np.clip(allowed, margin, 1.0 - margin)
    return FUNCTION_MAX * logistic(logit(share) + p.function_offset[idx])


def count_adherence(p: PatientState, idx: Index) -> None:
    """Accumulate adherence over the weeks since first presenting."""
    presented = p.status[idx] != NOT_PRESENTED
    p.adherence_sum[idx] += np.where(presented, p.adherence[idx], 0.0)
    p.weeks_presented[idx] += presented
