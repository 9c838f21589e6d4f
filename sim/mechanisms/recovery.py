"""Between encounters: self-management, flares, symptoms and functioning (M7–M11).

Each week, for every patient in the population (``idx``), in this order:

1. M7 adherence moves toward a target set by task agreement, trust,
   self-efficacy and expectation (up) and distress and uncertainty (down).
2. M10 activity moves toward what self-efficacy and graded activity allow;
   without pacing, a good week brings a burst (boom) that overshoots.
3. M9 flares arrive at random, more often with stress reactivity, distress
   and overexertion (M10), less often with pacing; a flare knocks
   self-efficacy and expectation unless the patient tolerates uncertainty,
   and without pacing leaves a lasting relapse.
4. M8 recovery: beside a natural course common to all, adherence (not
   contact alone) lowers underlying severity; distress above its reference
   keeps it up. Gains persist after care ends.
5. Symptoms = underlying severity + flare load + autocorrelated fluctuation.
6. M11 the feedback loop: perceived progress (usual minus recent symptom
   level) raises expectation and self-efficacy, which feed adherence (1.);
   the loop runs downward as well.
7. Distress and functioning move toward their targets.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.maths import hazard_to_prob, logistic
from ..core.params import MechanismParams
from ..core.state import NOT_PRESENTED, DyadState, PatientState
from ..core.streams import Streams

Index = slice | np.ndarray


def adherence(p: PatientState, d: DyadState, idx: Index, mech: MechanismParams) -> None:
    """M7: the share of agreed self-management carried out this week."""
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
    p.adherence[idx] = a + mech.adherence_rate * (logistic(x) - a)


def activity(p: PatientState, idx: Index, mech: MechanismParams) -> None:
    """M10: activity rises with self-efficacy and graded activity; booms without pacing."""
    act = p.activity[idx]
    target = 0.15 + 0.6 * p.self_efficacy[idx] * (1.0 - p.symptoms[idx] / 30.0) + 0.25 * p.adherence[idx]
    good_week = np.clip((p.symptoms_slow[idx] - p.symptoms[idx]) / mech.progress_scale_points, 0.0, 1.0)
    boom = mech.boom_per_week * (1.0 - p.pacing[idx]) * good_week
    rise = mech.activity_rate * (target - act) + boom
    p.activity[idx] = np.clip(act + rise, 0.0, 1.0)
    p.activity_rise[idx] = rise


def flares(p: PatientState, idx: Index, mech: MechanismParams, streams: Streams) -> np.ndarray:
    """M9 (with M10): random flares and what they do. Returns the flare mask over ``idx``."""
    u_flare = streams.uniform("flare", p.n)[idx]
    u_size = streams.uniform("flare_size", p.n)[idx]
    overexertion = np.maximum(p.activity_rise[idx] - mech.safe_activity_step, 0.0)
    hazard = mech.flare_per_week * np.exp(
        mech.flare_stress * (p.stress_reactivity[idx] - 0.5)
        + mech.flare_distress * (p.distress[idx] - 0.5)
        - mech.flare_pacing * p.pacing[idx]
        + mech.flare_overexertion * overexertion
    )
    flare = u_flare < hazard_to_prob(hazard)
    decay = math.exp(-math.log(2.0) / mech.flare_half_life_weeks)
    p.flare_load[idx] = p.flare_load[idx] * decay + flare * mech.flare_points * (0.5 + u_size)
    p.in_flare[idx] = flare
    p.flares[idx] += flare

    f = idx[flare] if isinstance(idx, np.ndarray) else np.flatnonzero(flare)
    unc = p.uncertainty[f]  # tolerance of uncertainty = 1 - uncertainty
    p.self_efficacy[f] -= mech.flare_self_efficacy_drop * unc * p.self_efficacy[f]
    p.expectation[f] -= mech.flare_expectation_drop * unc * p.expectation[f]
    p.distress[f] += mech.flare_distress_rise * (1.0 - p.distress[f])
    p.activity[f] *= 1.0 - mech.bust_activity_drop
    p.latent[f] += mech.flare_relapse_points * (1.0 - p.pacing[f])
    return flare


def recovery(p: PatientState, idx: Index, seen: np.ndarray, mech: MechanismParams) -> None:
    """M8: self-management lowers underlying severity; contact alone does little.

    Args:
        p: Patient state, updated in place.
        idx: Patients in the population.
        seen: Boolean mask over all patients: had an encounter this week.
        mech: Mechanism coefficients.
    """
    floor = mech.symptom_floor_share * p.baseline_severity[idx]
    gap = np.maximum(p.latent[idx] - floor, 0.0)
    rate = (
        mech.natural_recovery_per_week
        + mech.recovery_per_week * p.adherence[idx]
        + mech.contact_recovery_per_week * seen[idx]
    )
    worsening = mech.distress_worsening_per_week * (p.distress[idx] - mech.distress_reference)
    p.latent[idx] = np.clip(p.latent[idx] - rate * gap + worsening, 0.0, 30.0)


def symptoms(p: PatientState, idx: Index, mech: MechanismParams, streams: Streams) -> None:
    """Symptoms (PHQ-15) = underlying severity + flare load + AR(1) fluctuation (M9)."""
    z = streams.normal("fluctuation", p.n)[idx]
    rho = mech.fluctuation_autocorr
    fl = rho * p.fluctuation[idx] + math.sqrt(1.0 - rho**2) * mech.fluctuation_sd * z
    p.fluctuation[idx] = fl
    p.symptoms[idx] = np.clip(p.latent[idx] + p.flare_load[idx] + fl, 0.0, 30.0)


def feedback_loop(p: PatientState, idx: Index, mech: MechanismParams) -> None:
    """M11: perceived progress moves expectation and self-efficacy, up or down."""
    s = p.symptoms[idx]
    fast = 0.5 * p.symptoms_fast[idx] + 0.5 * s
    slow = 0.95 * p.symptoms_slow[idx] + 0.05 * s
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


def distress_and_function(p: PatientState, idx: Index, mech: MechanismParams) -> None:
    """Distress and functioning (0–100) move toward their targets."""
    target = (
        mech.distress_base
        + mech.distress_symptoms * p.symptoms[idx] / 30.0
        + mech.distress_catastrophising * p.catastrophising[idx] * p.uncertainty[idx]
        - mech.distress_self_efficacy * (p.self_efficacy[idx] - 0.5)
    )
    dist = p.distress[idx]
    p.distress[idx] = np.clip(dist + mech.distress_rate * (np.clip(target, 0, 1) - dist), 0.0, 1.0)
    f = p.function[idx]
    p.function[idx] = np.clip(f + mech.function_rate * (function_target(p, idx, mech) - f), 0.0, 100.0)


def function_target(p: PatientState, idx: Index, mech: MechanismParams) -> np.ndarray:
    """Functioning (0–100) that symptoms, activity and distress allow."""
    target = (
        100.0
        - mech.function_per_symptom_point * p.symptoms[idx]
        - mech.function_activity * (1.0 - p.activity[idx])
        - mech.function_distress * p.distress[idx]
    )
    return np.clip(target, 0.0, 100.0)


def count_adherence(p: PatientState, idx: Index) -> None:
    """Accumulate adherence over the weeks since first presenting."""
    presented = p.status[idx] != NOT_PRESENTED
    p.adherence_sum[idx] += np.where(presented, p.adherence[idx], 0.0)
    p.weeks_presented[idx] += presented
