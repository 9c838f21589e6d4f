"""What happens in an encounter: alliance, validation, explanation, trust (M1–M6, M10, M12, M14).

M ids: M1 bond, M2 validation/dismissal, M3 explanation, M4 cultural humility,
M5 trust, M6 honest reporting, M10 pacing advice, M12 ruptures and repair,
M14 investigations ordered in an encounter; the encounter side of M15
(alliance transfer, message coherence), M16 (feedback raises validation
and repair) and M19 (validation, dismissal and explanation move avoidance).
Parameters: ``MechanismParams`` sections M1–M6, M10 (``pacing_gain``), M12,
M14, M16 (``feedback_*``), M19 (``validated_avoidance_drop``,
``dismissed_avoidance_rise``, ``explanation_avoidance_drop``); ``ServiceParams.message_coherence``,
``alliance_transfer``, ``pacing_guidance``, ``feedback``,
``p_investigation_per_visit``, ``p_results_explained``.
Streams: ``Stream.COHERENCE``, ``VALIDATION``, ``RUPTURE``, ``REPAIR``,
``INVESTIGATION``, ``RESULT_EXPLAINED``.
State read: patients' traits (attachment security, health literacy, cultural
group), ``trust``, ``stigma``, ``uncertainty``, ``progress``, ``in_flare``,
``symptoms``, ``symptoms_slow``; clinicians' traits; dyads.
State written: patients' ``trust``, ``distress``, ``stigma``, ``uncertainty``,
``pacing``, ``avoidance``, ``explanation_received`` and the encounter counters (``visits``, ``encounters``,
``validations``, ``dismissals``, ``dismissed_week``, ``contradictions``,
``ruptures``, ``repairs``, ``investigations``, ``cost``, continuity
bookkeeping, ``alliance_third``); every dyad array (bond, goals, tasks,
ruptures, the current slot).

:func:`encounter` applies, to every patient seen this week at once, the
effects of meeting one clinician, in this order:

1. Find the dyad (patient x clinician) or open a new one; a new team member
   inherits part of the lead alliance (M15 ``alliance_transfer``) unless their
   explanation contradicts the shared plan (M15 ``message_coherence``, M5).
2. Cultural mismatch scales what the clinician achieves, unless offset by
   cultural humility (M4).
3. The experience is validated or dismissed (M2), which moves distress,
   trust, bond, stigma and avoidance (M19).
4. A validating encounter builds bond, most at the first encounters (M1).
5. A clear explanation raises goal and task agreement and lowers uncertainty
   and avoidance (M19), in proportion to health literacy (M3).
6. A booked appointment kept as promised builds trust (M5).
7. Pacing advice builds pacing skill (M10).
8. A rupture may open; an open rupture from an earlier encounter may be
   repaired (M12).
9. Medical clinicians may order a test, whose normal result, explained or
   not, moves trust, distress and uncertainty (M14).
10. Visits, costs and continuity counters are updated.
"""

from __future__ import annotations

import numpy as np

from ..core.encounters import Encounters, is_booked
from ..core.maths import logistic, logit, logit_of
from ..core.params import MechanismParams, ServiceParams
from ..core.state import (
    ALLIANCE_MEASURED_AT_ENCOUNTER,
    GP,
    NEVER,
    SPECIALIST,
    ClinicianState,
    DyadState,
    PatientState,
)
from ..core.streams import Stream, Streams
from .investigations import record_tests


def reported_symptoms(p: PatientState, d: DyadState, mech: MechanismParams) -> np.ndarray:
    """What patients report to their clinician (M6 honest reporting).

    Psychological safety is the mean of trust and the bond with the latest
    clinician. With little safety, patients hide part of their week-to-week
    fluctuation (``underreport_share``) and, if they have felt dismissed before,
    amplify their symptoms to be believed (``amplify_points`` x stigma).
    Clinical decisions (referral, stepping, discharge) use this value.
    """
    safety = 0.5 * (p.trust + d.current_values(d.bond))
    hidden = mech.underreport_share * (p.symptoms - p.symptoms_slow)
    distortion = (1.0 - safety) * (mech.amplify_points * p.stigma - hidden)
    return np.clip(p.symptoms + distortion, 0.0, 30.0)


def _open_dyads(
    enc: Encounters,
    p: PatientState,
    d: DyadState,
    slot: np.ndarray,
    new: np.ndarray,
    contradiction: np.ndarray,
    service: ServiceParams,
    mech: MechanismParams,
) -> np.ndarray:
    """The dyad slot of each encounter, opening new dyads where needed (M1, M15).

    ``slot`` holds, per encounter, the slot already held by the clinician
    (filled in here where ``new`` marks a clinician not yet in a slot).
    """
    pat, clin = enc.patient, enc.clinician
    new = new.nonzero()[0]
    if new.size:
        np_ = pat[new]
        # Empty slots first (their last week is NEVER, before any encounter), then
        # the least recently seen clinician's slot.
        slot[new] = d.last_week[np_].argmin(axis=1)
        ns = slot[new]
        at = d.flat(np_, ns)
        recycled = d.clinician.ravel()[at] >= 0
        n_old = d.encounters.ravel()[at].astype(np.int64)
        p.recycled_sumsq[np_] += np.where(recycled, n_old**2, 0)
        p.recycled_max[np_] = np.maximum(p.recycled_max[np_], np.where(recycled, n_old, 0))

        cur = d.current[np_]
        has_cur = cur >= 0
        at_cur = d.flat(np_, np.maximum(cur, 0))
        transfer = np.where(has_cur & ~contradiction[new], service.alliance_transfer, 0.0)
        bond_base = np.clip(
            mech.bond_initial
            + mech.attachment_bond * (p.attachment_security[np_] - 0.5)
            + mech.trust_bond * (p.trust[np_] - 0.5),
            0.0,
            1.0,
        )
        for values, base in (
            (d.bond, bond_base),
            (d.goals, mech.goals_initial),
            (d.tasks, mech.tasks_initial),
        ):
            flat = values.ravel()
            carried = np.where(has_cur, flat[at_cur], base)
            flat[at] = base + transfer * np.maximum(carried - base, 0.0)
        d.clinician.ravel()[at] = clin[new]
        d.encounters.ravel()[at] = 0
        d.rupture_week.ravel()[at] = NEVER
    return slot


def encounter(
    enc: Encounters,
    p: PatientState,
    c: ClinicianState,
    d: DyadState,
    week: int,
    service: ServiceParams,
    mech: MechanismParams,
    streams: Streams,
    visit_cost: np.ndarray,
    investigation_cost: float,
) -> np.ndarray:
    """Apply one encounter to every patient seen this week (M1–M6, M10, M12, M14).

    Each patient has at most one encounter a week, so the patient states an
    encounter moves (trust, distress, uncertainty, avoidance) are read once
    into arrays over the encounters, moved there step by step, and written
    back once: a state moved in several steps is not gathered and scattered
    at each. Dyad values are read and written at their flat positions
    (:meth:`~sim.core.state.DyadState.flat`).

    Args:
        enc: The encounters taking place (one per patient at most).
        p, c, d: Patient, clinician and dyad state, updated in place.
        week: The current week.
        service: The care model.
        mech: Mechanism coefficients.
        streams: Random streams.
        visit_cost: Cost of one visit, by role.
        investigation_cost: Cost of one test.

    Returns:
        Boolean mask over encounters: the experience was validated.
    """
    n = p.n
    pat, clin = enc.patient, enc.clinician
    u_coherent = streams.uniform(Stream.COHERENCE, n)[pat]
    u_validate = streams.uniform(Stream.VALIDATION, n)[pat]
    u_rupture = streams.uniform(Stream.RUPTURE, n)[pat]
    u_repair = streams.uniform(Stream.REPAIR, n)[pat]
    u_test = streams.uniform(Stream.INVESTIGATION, n)[pat]
    u_explain = streams.uniform(Stream.RESULT_EXPLAINED, n)[pat]
    if not pat.size:
        return np.zeros(0, bool)

    # 1. Dyad; a new clinician's explanation may contradict the plan (M15, M5).
    match = d.clinician[pat] == clin[:, None]
    slot = match.argmax(axis=1)  # the clinician's slot (the first slot where there is none)
    is_new = ~match[np.arange(pat.size), slot]  # a tenth of the time of ``~match.any(axis=1)``
    seen_before = p.encounters[pat]
    contradiction = is_new & (seen_before > 0) & (u_coherent >= service.message_coherence)
    slot = _open_dyads(enc, p, d, slot, is_new, contradiction, service, mech)
    at = d.flat(pat, slot)
    bond_flat, goals_flat, tasks_flat = d.bond.ravel(), d.goals.ravel(), d.tasks.ravel()
    trust, distress = p.trust[pat], p.distress[pat]
    uncertainty, avoidance = p.uncertainty[pat], p.avoidance[pat]
    p.contradictions[pat] += contradiction
    trust = np.where(contradiction, trust - mech.contradiction_trust_drop * trust, trust)
    uncertainty = np.where(
        contradiction, uncertainty + mech.contradiction_uncertainty_rise * (1.0 - uncertainty), uncertainty
    )

    # 2. M4 cultural humility: mismatch scales what M1–M3 achieve.
    mismatch = p.cultural_group[pat] != c.cultural_group[clin]
    reach = np.where(mismatch, 1.0 - mech.mismatch_penalty * (1.0 - c.cultural_humility[clin]), 1.0)

    # 3. M2 validation versus dismissal.
    off_track = p.progress[pat] <= 0.0
    stigma = p.stigma[pat]
    stance = c.biopsychosocial[clin]
    x = (
        logit(c.validation[clin])
        + mech.validation_stance_logodds * (stance - 0.5)
        - mech.validation_stigma_logodds * (stigma - mech.stigma_reference)
        + service.feedback * mech.feedback_validation_logodds * off_track
    )
    validated = u_validate < logistic(x)
    dismissed = ~validated
    distress = np.where(
        validated,
        distress - mech.validated_distress_drop * reach * distress,
        distress + mech.dismissed_distress_rise * (1.0 - distress),
    )
    trust = np.where(
        validated,
        trust + mech.validated_trust_gain * reach * (1.0 - trust),
        trust - mech.dismissed_trust_drop * trust,
    )
    avoidance = np.where(
        validated,
        avoidance - mech.validated_avoidance_drop * reach * avoidance,  # M19: safety reduces avoidance
        avoidance + mech.dismissed_avoidance_rise * (1.0 - avoidance),  # M19
    )
    p.stigma[pat] = np.where(validated, stigma, stigma + mech.dismissed_stigma_rise * (1.0 - stigma))
    p.validations[pat] += validated
    s = pat[dismissed]
    p.dismissals[s] += 1
    p.dismissed_week[s] = week

    # 4. M1 bond: warmth and attachment, more at the first encounters, saturating.
    encounters = d.encounters.ravel()[at]
    early = 1.0 + mech.early_rapport_boost * np.exp(-encounters / mech.early_rapport_weeks)
    gain = (
        mech.bond_gain * c.warmth[clin] * (mech.bond_gain_attachment_floor + p.attachment_security[pat]) * reach * early
    )
    bond = bond_flat[at]
    bond_flat[at] = np.where(
        validated, bond + np.minimum(gain, 1.0) * (1.0 - bond), bond * (1.0 - mech.dismissed_bond_drop)
    )

    # 5. M3 explanation: clarity x health literacy x reach.
    lit = mech.literacy_floor + (1.0 - mech.literacy_floor) * p.health_literacy[pat]
    clear = c.clarity[clin] * lit * reach
    goals = goals_flat[at]
    goals_flat[at] = goals + np.minimum(mech.goals_gain * clear, 1.0) * (1.0 - goals)
    tasks = tasks_flat[at]
    tasks_flat[at] = tasks + np.minimum(mech.tasks_gain * clear, 1.0) * (1.0 - tasks)
    uncertainty = uncertainty - np.minimum(mech.uncertainty_drop * clear, 1.0) * uncertainty
    avoidance = avoidance - np.minimum(mech.explanation_avoidance_drop * clear, 1.0) * avoidance  # M19
    p.explanation_received[pat] = np.maximum(p.explanation_received[pat], clear)  # M15 uptake

    # 6. M5 predictability: a booked appointment that happens as promised.
    trust = np.where(is_booked(enc.kind), trust + mech.kept_followup_trust_gain * (1.0 - trust), trust)

    # 7. M10 pacing advice.
    if service.pacing_guidance:
        p.pacing[pat] += mech.pacing_gain * c.pacing_advice[clin] * reach * (1.0 - p.pacing[pat])

    # 8. M12 ruptures and repair.
    rupture_flat = d.rupture_week.ravel()
    open_before = rupture_flat[at] != NEVER
    skill = c.repair_skill[clin] * (1.0 + service.feedback * mech.feedback_repair_boost)
    repaired = open_before & (u_repair < np.minimum(mech.p_repair * skill, 1.0))
    if repaired.any():
        repair(p, d, pat[repaired], slot[repaired], mech)
    p_rupture = (
        mech.p_rupture_base
        + mech.rupture_dismissal * dismissed
        + mech.rupture_flare * p.in_flare[pat]
        + mech.rupture_stall * off_track
        + mech.rupture_contradiction * contradiction
    )
    opens = ~open_before & (u_rupture < p_rupture)
    if opens.any():
        ro, ao = pat[opens], at[opens]
        d.bond_before_rupture.ravel()[ao] = bond_flat[ao]
        bond_flat[ao] *= 1.0 - mech.rupture_bond_drop
        rupture_flat[ao] = week
        p.ruptures[ro] += 1

    # 9. M14 investigations by medical clinicians; results are normal.
    medical = (enc.role == GP) | (enc.role == SPECIALIST)
    x = (
        logit_of(service.p_investigation_per_visit)
        + mech.investigation_biomedical * (0.5 - stance)
        + mech.investigation_uncertainty * (uncertainty - 0.5)
    )
    tested = medical & (u_test < logistic(x)) & (service.p_investigation_per_visit > 0)
    p.uncertainty[pat] = uncertainty  # a test moves it (record_tests)
    record_tests(p, pat[tested], mech, investigation_cost)
    explained = u_explain < service.p_results_explained
    distress = np.where(tested & explained, distress - mech.reassurance_distress_drop * distress, distress)
    trust = np.where(tested & ~explained, trust - mech.normal_result_trust_drop * trust, trust)
    p.trust[pat], p.distress[pat], p.avoidance[pat] = trust, distress, avoidance

    # 10. Counters, cost and continuity of care.
    d.encounters.ravel()[at] = encounters + 1
    d.last_week.ravel()[at] = week
    d.set_current(pat, slot)
    p.visits.ravel()[pat * p.visits.shape[1] + enc.role] += 1
    count = seen_before + 1
    p.encounters[pat] = count
    p.cost[pat] += visit_cost[enc.role]
    p.same_clinician_pairs[pat] += p.last_clinician[pat] == clin
    p.last_clinician[pat] = clin
    third = count == ALLIANCE_MEASURED_AT_ENCOUNTER
    if third.any():
        p.alliance_third[pat[third]] = d.alliance_at(pat[third], slot[third])
    return validated


def repair(p: PatientState, d: DyadState, pat: np.ndarray, slot: np.ndarray, mech: MechanismParams) -> None:
    """Close ruptures as repaired: the bond ends stronger than before the rupture (M12)."""
    before = d.bond_before_rupture[pat, slot]
    d.bond[pat, slot] = np.maximum(d.bond[pat, slot], before + mech.repair_bond_bonus * (1.0 - before))
    d.rupture_week[pat, slot] = NEVER
    np.add.at(p.repairs, pat, 1)  # a case review may repair several ruptures of one patient


def lapse_ruptures(p: PatientState, d: DyadState, week: int, mech: MechanismParams) -> None:
    """Ruptures left open too long close unrepaired and weaken the bond (M12)."""
    lapsed = (d.rupture_week != NEVER) & (week - d.rupture_week >= mech.rupture_unrepaired_weeks)
    if lapsed.any():
        d.bond[lapsed] *= 1.0 - mech.unrepaired_bond_drop
        d.rupture_week[lapsed] = NEVER
