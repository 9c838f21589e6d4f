"""Leaving and returning: disengagement, doctor shopping, emergency visits (M13, M14).

M ids: M13 disengagement and doctor shopping, M13/M18 emergency attendances,
M14 tests in the emergency department.
Parameters: ``MechanismParams`` section M13 (``dropout_*``, ``represent_*``)
and ``emergency_*``, ``p_emergency_investigation``.
Streams: ``Stream.DROPOUT``, ``REPRESENT``, ``EMERGENCY``, ``EMERGENCY_TEST``.
State read: ``status``, ``trust``, ``progress``, ``distress``, ``uncertainty``,
``in_flare``, ``dismissed_week``; the current dyad's alliance and open rupture.
State written: ``status``, ``dropout_week``, ``ever_disengaged``,
``presentation_week``, ``lead``, ``care_step``, ``step_contacts``,
``step_completed``, ``team`` and the latest dyad
(a shopper moves to the next team), pending appointments
(``next_followup_week``, ``referral_due_week``, ``specialist_visits_left``,
``therapy_sessions_left``),
``emergency``, ``cost``, and through :func:`~sim.mechanisms.investigations.record_tests`
``investigations`` and ``uncertainty``.

:func:`disengage` drops patients out of care with a weekly hazard that falls
with alliance, trust and perceived progress and rises with an open rupture or a
fresh dismissal (M13). :func:`represent` brings disengaged patients back to a
new front door, the next team (doctor shopping), where they meet new
clinicians and continuity starts again from nothing.
:func:`emergencies` sends patients to the emergency department, more often in
a flare, when distressed or uncertain, and when no one is looking after them;
emergency departments often test, and unexplained normal results feed the
belief that something is being missed (M14).
"""

from __future__ import annotations

import numpy as np

from ..core.maths import hazard_to_prob
from ..core.params import MechanismParams
from ..core.state import DISENGAGED, GP_LED, IN_CARE, NEVER, WAITING, DyadState, PatientState
from ..core.streams import Stream, Streams
from .investigations import record_tests


def disengage(
    p: PatientState,
    d: DyadState,
    week: int,
    mech: MechanismParams,
    streams: Streams,
    alliance: np.ndarray | None = None,
) -> None:
    """M13: patients in care may drop out this week (``alliance``: current alliance, if already computed)."""
    u = streams.uniform(Stream.DROPOUT, p.n)
    in_care = p.status == IN_CARE
    hazard = mech.dropout_per_week * np.exp(
        -mech.dropout_alliance * ((d.current_alliance() if alliance is None else alliance) - 0.5)
        - mech.dropout_trust * (p.trust - 0.5)
        - mech.dropout_progress * p.progress
        + mech.dropout_rupture * d.current_rupture_open()
        + mech.dropout_dismissal * (p.dismissed_week == week)
    )
    leave = np.flatnonzero(in_care & (u < hazard_to_prob(hazard)))
    p.status[leave] = DISENGAGED
    first = leave[~p.ever_disengaged[leave]]
    p.dropout_week[first] = week
    p.ever_disengaged[leave] = True
    p.next_followup_week[leave] = NEVER
    p.referral_due_week[leave] = NEVER
    p.specialist_visits_left[leave] = 0
    p.therapy_sessions_left[leave] = 0


def represent(p: PatientState, d: DyadState, week: int, mech: MechanismParams, streams: Streams) -> None:
    """M13 doctor shopping: disengaged patients present again elsewhere, from scratch.

    Elsewhere is the next team (practice or department) of every role, so the
    patient meets new clinicians, and no one there knows the old alliance:
    the new team starts without a lead and without alliance carried over.
    """
    u = streams.uniform(Stream.REPRESENT, p.n)
    hazard = mech.represent_per_week * (mech.represent_distress_floor + p.distress)
    back = np.flatnonzero((p.status == DISENGAGED) & (u < hazard_to_prob(hazard)))
    p.status[back] = WAITING
    p.presentation_week[back] = week
    p.lead[back] = -1
    p.care_step[back] = GP_LED
    p.step_contacts[back] = 0
    p.step_completed[back] = GP_LED  # a new episode of care elsewhere
    p.team[back] += 1  # the next team of each role (teams are taken modulo their number)
    d.forget_current(back)


def emergencies(
    p: PatientState,
    idx: slice | np.ndarray,
    mech: MechanismParams,
    streams: Streams,
    visit_cost: float,
    test_cost: float,
) -> None:
    """Emergency attendances, with their tests (M13, M14)."""
    u = streams.uniform(Stream.EMERGENCY, p.n)[idx]
    u_test = streams.uniform(Stream.EMERGENCY_TEST, p.n)[idx]
    outside = np.where(p.status[idx] == IN_CARE, 1.0, mech.emergency_outside_care)
    hazard = (
        mech.emergency_per_week
        * outside
        * np.exp(
            mech.emergency_flare * p.in_flare[idx]
            + mech.emergency_distress * (p.distress[idx] - 0.5)
            + mech.emergency_uncertainty * (p.uncertainty[idx] - 0.5)
        )
    )
    attend = u < hazard_to_prob(hazard)
    e = idx[attend] if isinstance(idx, np.ndarray) else np.flatnonzero(attend)
    p.emergency[e] += 1
    p.cost[e] += visit_cost
    record_tests(p, e[u_test[attend] < mech.p_emergency_investigation], mech, test_cost)
