"""Care pathways: who asks for care, whom they see, and who gets a slot.

M ids: M15 care coordination (continuity, referrals, navigation barriers,
case reviews) and its content (brief psychological or physiotherapy courses,
whose uptake follows trust and explanation, M5 and M3; coordinator contacts),
M17 stepped care, M18 capacity and waiting; the trust costs of missed
follow-ups and lost referrals (M5).
Parameters: every ``ServiceParams`` field except the training and campaign
ones; ``MechanismParams`` ``missed_followup_trust_drop``,
``lost_referral_trust_drop``, ``waiting_trust_drop``, ``demand_*``,
``referral_*``, ``uptake_*``, ``case_review_repair``; ``WorkforceParams.team_size``.
Streams: ``Stream.FOLLOWUP_KEPT``, ``ON_DEMAND``, ``EPISODE_LENGTH``,
``ROUTE_LEAD``, ``ROUTE_PICK``, ``SLOT_TIEBREAK``, ``REFERRAL``,
``REFERRAL_LOST``, ``REFERRAL_DELAY``, ``CASE_REVIEW_REPAIR``,
``PSYCHOSOCIAL_OFFER``, ``PSYCHOSOCIAL_UPTAKE``, ``COURSE_LENGTH``, ``STEP_UPTAKE``.
State read: ``status``, ``presentation_week``, ``care_step``,
``step_contacts``, ``step_completed``, ``therapy_role``, ``team``, ``lead``, ``distress``, ``in_flare``,
``uncertainty``, ``trust``, ``explanation_received``, reported symptoms (M6);
clinicians' ``by_role`` and
``capacity``; dyads' goals, tasks and ruptures.
State written: ``status``, schedules (``next_followup_week``,
``referral_due_week``, ``specialist_visits_left``, ``next_specialist_week``,
``care_start_week``, ``discharge_week``, ``therapy_sessions_left``,
``next_therapy_week``, ``psychosocial_offered``), ``care_step``,
``step_contacts``, ``step_completed``, ``step_start_reported``, ``lead``, ``trust``, counters (``missed_followups``,
``referrals``, ``psychosocial_uptakes``, ``waiting_weeks``, ``cost``); dyads'
goals and tasks at case
reviews.

The service side of the model: demand for encounters, routing to clinicians
(M15 continuity), finite capacity and waiting (M18), referrals and navigation
barriers (M15), outcome reviews with stepping and discharge (M17), and joint
case reviews (M15). Every difference between care models enters here through
:class:`~sim.core.params.ServiceParams` numbers, never through a branch on a name.

Functions update the state arrays in place and return what the next stage
needs; every random decision draws one number per patient from a named stream.
"""

from __future__ import annotations

import functools

import numpy as np

from ..core.encounters import (
    COORDINATION,
    FOLLOWUP,
    INTAKE,
    ON_DEMAND,
    SPECIALIST_VISIT,
    THERAPY_SESSION,
    Encounters,
    Requests,
    is_booked,
)
from ..core.maths import hazard_to_prob, logistic, logit_of
from ..core.params import MechanismParams, ServiceParams
from ..core.state import (
    COORDINATOR,
    DISCHARGED,
    GP,
    GP_LED,
    IN_CARE,
    N_ROLES,
    NEVER,
    NOT_PRESENTED,
    SPECIALIST,
    TEAM,
    THERAPY,
    WAITING,
    ClinicianState,
    DyadState,
    PatientState,
)
from ..core.streams import Stream, Streams


def present(p: PatientState, week: int) -> None:
    """Patients whose help-seeking delay has run out join the waiting list."""
    newly = (p.status == NOT_PRESENTED) & (p.presentation_week <= week)
    p.status[newly] = WAITING


def followup_role(p: PatientState, idx: np.ndarray) -> np.ndarray:
    """Role leading care at each patient's care step (M17): GP, therapy, or MDT."""
    step = p.care_step[idx]
    therapy = p.therapy_role[idx]
    mdt_role = np.where(p.encounters[idx] % 2 == 0, COORDINATOR, therapy)
    return np.where(step == GP_LED, GP, np.where(step == THERAPY, therapy, mdt_role)).astype(np.int8)


def followup_interval(p: PatientState, idx: np.ndarray, service: ServiceParams) -> np.ndarray:
    """Weeks to the next scheduled contact at each patient's care step."""
    return _interval_by_step(service.followup_interval_weeks, service.therapy_interval_weeks)[p.care_step[idx]]


@functools.cache
def _interval_by_step(followup_weeks: float, therapy_weeks: float) -> np.ndarray:
    # Whole weeks (at least one) by care step: the GP's follow-up interval at GP_LED, the therapy interval above.
    weeks = np.array([followup_weeks if step == GP_LED else therapy_weeks for step in (GP_LED, THERAPY, TEAM)])
    return np.maximum(np.rint(weeks), 1).astype(np.int32)


def demand(
    p: PatientState,
    week: int,
    service: ServiceParams,
    mech: MechanismParams,
    streams: Streams,
) -> Requests:
    """Who asks for an encounter this week, with which role (M15, M18, M5).

    1. Waiting patients ask for a first (intake) appointment with a GP.
    2. A referral whose delay has run out opens a specialist episode.
    3. A due specialist visit is requested.
    4. A due scheduled follow-up is booked with chance ``followup_reliability``;
       otherwise it is missed (ad hoc care) and trust pays (M5).
    5. A due session of a brief psychological or physiotherapy course is
       requested (M15 content).
    6. A care-coordinator contact falls due every
       ``coordinator_contact_interval_weeks`` of care, for the first
       ``coordination_weeks`` of care (0 = as long as care lasts; M15 content).
    7. Anyone else in care may ask for an on-demand GP contact, more often when
       distressed or in a flare.
    """
    n = p.n
    u_followup = streams.uniform(Stream.FOLLOWUP_KEPT, n)
    u_demand = streams.uniform(Stream.ON_DEMAND, n)
    u_episode = streams.uniform(Stream.EPISODE_LENGTH, n)

    in_care = p.status == IN_CARE
    arriving = in_care & (p.referral_due_week == week)
    if arriving.any():
        mean_extra = max(service.specialist_visits_per_episode - 1.0, 0.0)
        extra = np.floor(-np.log1p(-u_episode[arriving]) * mean_extra).astype(np.int32)
        p.specialist_visits_left[arriving] = 1 + extra
        p.next_specialist_week[arriving] = week
        p.referral_due_week[arriving] = NEVER

    role = np.full(n, -1, np.int8)
    kind = np.full(n, -1, np.int8)

    waiting = p.status == WAITING
    role[waiting], kind[waiting] = GP, INTAKE

    specialist_due = in_care & (p.specialist_visits_left > 0) & (p.next_specialist_week <= week)
    role[specialist_due], kind[specialist_due] = SPECIALIST, SPECIALIST_VISIT

    followup_due = in_care & (p.next_followup_week <= week) & ~specialist_due
    kept = followup_due & (u_followup < service.followup_reliability)
    missed = followup_due & ~kept
    if missed.any():
        p.missed_followups[missed] += 1
        p.trust[missed] -= mech.missed_followup_trust_drop * p.trust[missed]
        missed_idx = np.flatnonzero(missed)
        p.next_followup_week[missed_idx] = week + followup_interval(p, missed_idx, service)
    kept_idx = np.flatnonzero(kept)
    role[kept_idx], kind[kept_idx] = followup_role(p, kept_idx), FOLLOWUP

    therapy_due = in_care & (kind < 0) & (p.therapy_sessions_left > 0) & (p.next_therapy_week <= week)
    role[therapy_due], kind[therapy_due] = p.therapy_role[therapy_due], THERAPY_SESSION

    interval = service.coordinator_contact_interval_weeks
    if interval > 0:
        weeks_in = week - p.care_start_week
        coordination = in_care & (kind < 0) & (weeks_in > 0) & (weeks_in % interval == 0)
        if service.coordination_weeks > 0:
            coordination &= weeks_in <= service.coordination_weeks  # the programme has a set length
        role[coordination], kind[coordination] = COORDINATOR, COORDINATION

    free = in_care & (kind < 0)
    hazard = mech.demand_per_week * np.exp(mech.demand_distress * (p.distress - 0.5) + mech.demand_flare * p.in_flare)
    asks = free & (u_demand < hazard_to_prob(hazard))
    role[asks], kind[asks] = GP, ON_DEMAND

    idx = np.flatnonzero(kind >= 0)
    return Requests(idx, role[idx], kind[idx])


def route(
    req: Requests,
    p: PatientState,
    c: ClinicianState,
    service: ServiceParams,
    streams: Streams,
    team_size: int,
) -> np.ndarray:
    """The clinician each request goes to (M15 continuity).

    With chance ``continuity`` a patient who has a named lead clinician of the
    role sees that clinician; otherwise whoever of the role is free in the
    patient's team (practice or department of about ``team_size`` clinicians),
    uniformly. Teams keep continuity independent of the size of the service.
    Returns -1 where the service has no clinician of the role.
    """
    u_route = streams.uniform(Stream.ROUTE_LEAD, p.n)[req.patient]
    u_pick = streams.uniform(Stream.ROUTE_PICK, p.n)[req.patient]
    lead = p.lead.ravel()[req.patient * N_ROLES + req.role]
    # Team k of a role is members[k], members[k + n_teams], members[k + 2 n_teams], ...;
    # every request picks among its role's members at once.
    count = c.role_count[req.role]
    n_teams = np.maximum(count // team_size, 1)
    team = p.team[req.patient] % n_teams
    size = (count - team + n_teams - 1) // n_teams
    position = np.minimum((u_pick * size).astype(np.int64), size - 1)
    pick = np.where(count > 0, c.role_start[req.role] + team + position * n_teams, -1)
    # Indices within the patient's own care system, then across systems (non-zero only in a stack of replicates).
    clinician = np.where(count > 0, c.role_members[pick] + p.clinician_offset[req.patient], -1).astype(np.int32)
    use_lead = (lead >= 0) & (u_route < service.continuity)
    clinician[use_lead] = lead[use_lead]
    return clinician


def allocate(
    req: Requests,
    clinician: np.ndarray,
    p: PatientState,
    c: ClinicianState,
    week: int,
    streams: Streams,
) -> np.ndarray:
    """Which requests get a slot this week (M18 capacity).

    Each clinician fills their weekly slots in priority order: booked
    appointments, then new patients (longest wait first), then on-demand
    contacts; ties are broken at random. Returns a boolean mask over requests.
    """
    u_tie = streams.uniform(Stream.SLOT_TIEBREAK, p.n)[req.patient]
    has = clinician >= 0
    waited = week - np.where(req.kind == INTAKE, p.presentation_week[req.patient], week)
    order = np.lexsort((u_tie, -waited, req.kind, clinician))
    sorted_clin = clinician[order]
    rank = np.arange(sorted_clin.size) - np.searchsorted(sorted_clin, sorted_clin)  # place in the clinician's queue
    accepted = np.zeros(req.patient.size, bool)
    ok = sorted_clin >= 0
    accepted[order[ok]] = rank[ok] < c.capacity[sorted_clin[ok]]
    return accepted & has


def unmet(req: Requests, accepted: np.ndarray, p: PatientState, mech: MechanismParams) -> None:
    """Requests without a slot: follow-ups slip and trust pays (M18 -> M5)."""
    slipped = req.patient[~accepted & is_booked(req.kind)]
    p.missed_followups[slipped] += 1
    p.trust[slipped] -= mech.missed_followup_trust_drop * p.trust[slipped]


def advance_schedules(enc: Encounters, p: PatientState, week: int, service: ServiceParams) -> None:
    """Book the next contact after each encounter; intake starts care."""
    intake = enc.patient[enc.kind == INTAKE]
    p.status[intake] = IN_CARE
    p.care_start_week[intake] = week
    p.care_step[intake] = GP_LED
    p.step_start_reported[intake] = p.symptoms[intake]

    scheduled = enc.patient[(enc.kind == INTAKE) | (enc.kind == FOLLOWUP)]
    p.next_followup_week[scheduled] = week + followup_interval(p, scheduled, service)

    spec = enc.patient[enc.kind == SPECIALIST_VISIT]
    p.specialist_visits_left[spec] -= 1
    p.next_specialist_week[spec] = week + max(round(service.specialist_interval_weeks), 1)

    course = enc.patient[enc.kind == THERAPY_SESSION]
    p.therapy_sessions_left[course] -= 1
    p.next_therapy_week[course] = week + max(round(service.therapy_interval_weeks), 1)

    stepped_up = enc.patient[(enc.kind == FOLLOWUP) & (p.care_step[enc.patient] > GP_LED)]
    p.step_contacts[stepped_up] += 1

    # The first clinician seen in each role becomes the named lead (M15).
    at = enc.patient * N_ROLES + enc.role
    lead = p.lead.ravel()
    no_lead = lead[at] < 0
    lead[at[no_lead]] = enc.clinician[no_lead]


def wait(p: PatientState, mech: MechanismParams) -> None:
    """Patients still waiting for a first appointment count the week (M18, M5)."""
    waiting = p.status == WAITING
    p.waiting_weeks[waiting] += 1
    p.trust[waiting] -= mech.waiting_trust_drop * p.trust[waiting]


def refer(
    enc: Encounters,
    reported: np.ndarray,
    p: PatientState,
    week: int,
    service: ServiceParams,
    mech: MechanismParams,
    streams: Streams,
    unit_cost: float,
) -> None:
    """GP encounters may refer to a specialist; some referrals are lost (M15).

    The tendency is a service parameter; the patient's reported severity and
    uncertainty (asking for answers) raise it. A lost referral is a navigation
    barrier and costs trust; the others arrive after a random delay.
    """
    u_refer = streams.uniform(Stream.REFERRAL, p.n)
    u_lost = streams.uniform(Stream.REFERRAL_LOST, p.n)
    u_delay = streams.uniform(Stream.REFERRAL_DELAY, p.n)
    gp = enc.role == GP
    pat = enc.patient[gp]
    open_already = (p.referral_due_week[pat] != NEVER) | (p.specialist_visits_left[pat] > 0)
    pat = pat[~open_already & (p.status[pat] == IN_CARE)]
    if not pat.size:
        return
    x = (
        logit_of(service.p_referral_per_visit)
        + mech.referral_severity * (reported[pat] - mech.referral_reference_points)
        + mech.referral_uncertainty * (p.uncertainty[pat] - 0.5)
    )
    referred = pat[u_refer[pat] < logistic(x) * (service.p_referral_per_visit > 0)]
    p.referrals[referred] += 1
    p.cost[referred] += unit_cost
    lost = referred[u_lost[referred] < service.p_referral_lost]
    p.trust[lost] -= mech.lost_referral_trust_drop * p.trust[lost]
    sent = referred[u_lost[referred] >= service.p_referral_lost]
    delay = np.floor(-np.log1p(-u_delay[sent]) * service.referral_delay_weeks).astype(np.int32)
    p.referral_due_week[sent] = week + 1 + delay


def offer_psychosocial(
    enc: Encounters,
    p: PatientState,
    week: int,
    service: ServiceParams,
    mech: MechanismParams,
    streams: Streams,
) -> None:
    """M15 content: a GP may offer a brief psychological or physiotherapy course; uptake follows trust (M5, M3).

    Once per patient, with chance ``p_psychosocial_offer_per_visit`` per GP
    encounter in care. The patient takes it up with a chance that rises with
    trust and with the clearest explanation they have had ("as trust grows,
    patients become more receptive to psychosocial approaches"). A course has
    ``therapy_course_sessions`` sessions on average (at least one), every
    ``therapy_interval_weeks``, with a psychologist or, on the physiotherapy
    pathway, a physiotherapist.
    """
    u_offer = streams.uniform(Stream.PSYCHOSOCIAL_OFFER, p.n)
    u_uptake = streams.uniform(Stream.PSYCHOSOCIAL_UPTAKE, p.n)
    u_length = streams.uniform(Stream.COURSE_LENGTH, p.n)
    pat = enc.patient[enc.role == GP]
    pat = pat[(p.status[pat] == IN_CARE) & ~p.psychosocial_offered[pat]]
    offered = pat[u_offer[pat] < service.p_psychosocial_offer_per_visit]
    p.psychosocial_offered[offered] = True
    took = offered[u_uptake[offered] < uptake_chance(p, offered, mech)]
    mean_extra = max(service.therapy_course_sessions - 1.0, 0.0)
    p.therapy_sessions_left[took] = 1 + np.floor(-np.log1p(-u_length[took]) * mean_extra).astype(np.int32)
    p.next_therapy_week[took] = week + 1
    p.psychosocial_uptakes[took] += 1


def uptake_chance(p: PatientState, pat: np.ndarray, mech: MechanismParams) -> np.ndarray:
    """M15 (M5, M3): the chance that patients ``pat`` take up psychosocial care when it is proposed.

    "As trust grows, patients become more receptive to psychosocial
    approaches": the log-odds rise with trust and with the clearest
    explanation had so far.
    """
    x = (
        mech.uptake_logodds
        + mech.uptake_trust * (p.trust[pat] - 0.5)
        + mech.uptake_explanation * (p.explanation_received[pat] - 0.5)
    )
    return logistic(x)


def review(
    p: PatientState,
    reported: np.ndarray,
    week: int,
    service: ServiceParams,
    mech: MechanismParams,
    streams: Streams,
) -> None:
    """Outcome review on reported symptoms: step up, step down, discharge (M17).

    A stepped-up level is a course: after ``step_course_contacts`` follow-ups
    at it (0 = open-ended) the patient returns to GP-led care. Every
    ``review_interval_weeks`` of care, a patient whose reported PHQ-15 is at or
    below ``discharge_below_points`` steps down a level, or is discharged from
    GP-led care. With ``stepping`` on, a patient whose reported improvement
    since the step began is below ``step_up_threshold_points`` and who still
    reports at least ``step_up_min_points`` steps up
    (GP -> therapy -> multidisciplinary team), to the level above the highest
    course already finished in this episode of care, if they take it up: the
    step is psychosocial care, taken up as a brief course is
    (:func:`uptake_chance`); one who declines stays where they are and is
    proposed the step again at the next review.
    """
    u_step = streams.uniform(Stream.STEP_UPTAKE, p.n)
    in_care = p.status == IN_CARE
    course = service.step_course_contacts
    done = in_care & (p.care_step > GP_LED) & (p.step_contacts >= course) if course > 0 else np.zeros(p.n, bool)
    p.step_completed[done] = np.maximum(p.step_completed[done], p.care_step[done])
    p.care_step[done] = GP_LED
    weeks_in = week - p.care_start_week
    due = in_care & (weeks_in > 0) & (weeks_in % service.review_interval_weeks == 0)
    if not (due.any() or done.any()):
        return  # most weeks: no review falls due and no course ends
    well = due & (reported <= service.discharge_below_points)
    discharge = well & (p.care_step == GP_LED)
    p.status[discharge] = DISCHARGED
    p.discharge_week[discharge] = week
    step_down = well & (p.care_step > GP_LED)
    p.care_step[step_down] -= 1
    changed = done | step_down
    if service.stepping:
        improvement = p.step_start_reported - reported
        level = np.maximum(p.care_step, p.step_completed) + 1  # a finished course is not repeated
        stuck = (improvement < service.step_up_threshold_points) & (reported >= service.step_up_min_points)
        proposed = np.flatnonzero(due & ~well & stuck & (level <= TEAM))
        up = np.zeros(p.n, bool)
        up[proposed] = u_step[proposed] < uptake_chance(p, proposed, mech)
        p.care_step[up] = level[up]
        p.next_followup_week[up] = week + 1
        changed = changed | up
    p.step_contacts[changed] = 0
    p.step_start_reported[changed] = reported[changed]


def case_review(
    p: PatientState,
    d: DyadState,
    week: int,
    service: ServiceParams,
    mech: MechanismParams,
    streams: Streams,
    unit_cost: float,
) -> np.ndarray:
    """Joint case review: the team shares the plan and revisits ruptures (M15, M12).

    Every ``case_review_interval_weeks`` the team reviews each patient in care:
    goal and task agreement reached with one member spreads to the others (by
    ``alliance_transfer``), and an open rupture gets a chance of repair.
    Returns the patients whose rupture was repaired.
    """
    u_repair = streams.uniform(Stream.CASE_REVIEW_REPAIR, p.n)
    interval = service.case_review_interval_weeks
    if interval <= 0 or week % interval != 0:
        return np.zeros(0, np.int64)
    pat = np.flatnonzero(p.status == IN_CARE)
    p.cost[pat] += unit_cost
    seen = d.clinician[pat] >= 0
    for values in (d.goals, d.tasks):
        best = np.where(seen, values[pat], 0.0).max(axis=1, keepdims=True)
        shared = values[pat] + service.alliance_transfer * (best - values[pat])
        values[pat] = np.where(seen, shared, values[pat])
    open_rupture = (d.rupture_week[pat] != NEVER).any(axis=1)
    repaired = pat[open_rupture & (u_repair[pat] < mech.case_review_repair)]
    return repaired
