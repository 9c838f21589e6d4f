"""The care system as arrays and a weekly step, without Mesa: one step is one week.

:class:`CareSystem` is the engine. :class:`sim.engine.model.CareModel` is the same
system as a Mesa model, with agent objects and a data collector, for dashboards and
the Python API; experiment runs use the bare engine, so they never load Mesa
(importing it takes about 0.3 s).

The order of one week, followed line by line by :meth:`CareSystem.step`:

1. Presentation: patients whose help-seeking delay has run out, and
   disengaged patients shopping for another doctor, join the waiting list (M13).
2. Demand: who asks for an encounter, with which role; unreliable follow-ups
   are missed (M15, M5, M18).
3. Routing: lead clinician or whoever is free (M15 continuity).
4. Capacity: clinicians fill their slots; unmet follow-ups slip (M18 -> M5);
   slots used and turned away, and the waits ended, are tallied by role.
5. Encounters: alliance, validation, explanation, trust, pacing advice,
   ruptures and repair, investigations (M1–M6, M10, M12, M14).
6. Pathway: next appointments, referrals and lost referrals, offers of a
   brief psychological or physiotherapy course (M15), outcome
   reviews with stepping and discharge on *reported* symptoms (M6, M17), joint
   case reviews (M15, M12); open ruptures lapse (M12); waiting counts (M18);
   who now waits for therapy is noted (for the capacity columns).
7. Self-management and recovery: adherence, activity, flares, symptoms,
   the progress loop, worry and avoidance fading back (M3, M19), avoidance,
   distress and functioning (M7–M11, M19).
8. Emergency attendances (M13, M14) and disengagement (M13).
9. Clinician reflection with feedback (M16).
10. Record the week's aggregates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.encounters import Encounters, Requests
from ..core.params import (
    ROLES,
    CostParams,
    MechanismParams,
    PopulationParams,
    RunParams,
    ServiceParams,
    WorkforceParams,
)
from ..core.service import served_patients
from ..core.state import NEVER, ClinicianState, DyadState, PatientState, apply_campaign
from ..core.streams import Streams
from ..mechanisms import alliance, engagement, learning, pathways, recovery
from .metrics import WEEKLY_COLUMNS, CapacityTally, WeeklyTotals, trajectory_snapshot, trajectory_table, weekly_summary


def initial_state(
    service: ServiceParams,
    run: RunParams,
    population: PopulationParams,
    workforce: WorkforceParams,
    mechanisms: MechanismParams,
    streams: Streams,
) -> tuple[list[str], PatientState, ClinicianState]:
    """The cohort and the team at week 0, from the run's streams (shared by the engine and the reference).

    Returns the cultural group names, the patients (after any anti-stigma
    campaign, functioning at the level symptoms and activity allow) and the
    clinicians, sized for the cohort or, for an open cohort, its mean size over
    the run.
    """
    groups = list(dict.fromkeys([*population.cultural_group_shares, *workforce.cultural_group_shares]))
    patients = PatientState(population, run, groups, streams)
    apply_campaign(patients, service)
    patients.function[:] = recovery.function_target(patients, slice(None), mechanisms)
    patients.baseline_function[:] = patients.function
    clinicians = ClinicianState(workforce, served_patients(population, run), groups, streams, service)
    return groups, patients, clinicians


ON_TRACK_WEEK = 12  # week at which routine outcome monitoring asks "is this patient on track?"


class CareSystem:
    """Patients and clinicians in one care system, under one care model (the engine, without Mesa).

    Args:
        service: The care model (coordinated, fragmented, stepped, or any mix).
        run: Horizon and dyad slots (``run.replicates`` and ``run.seed`` are not used here).
        population: Cohort size and type, case mix and patient traits.
        workforce: Clinicians by role.
        mechanisms: Coefficients of M1–M19.
        costs: Unit costs by event type.
        seed: Seed of this replicate; arms that share it share the cohort and
            every care-independent draw (common random numbers).
        audit: Keep digests of every random stream (for tests).
        journeys: Record the weekly states of this many patients (the first
            ones), for reports; all of them with ``run.trajectories``.
    """

    def __init__(
        self,
        service: ServiceParams | None = None,
        *,
        run: RunParams | None = None,
        population: PopulationParams | None = None,
        workforce: WorkforceParams | None = None,
        mechanisms: MechanismParams | None = None,
        costs: CostParams | None = None,
        seed: int = 0,
        audit: bool = False,
        journeys: int = 0,
    ) -> None:
        self.running = True
        self.service = service or ServiceParams()
        self.run_params = run or RunParams()
        self.population = population or PopulationParams()
        self.workforce = workforce or WorkforceParams()
        self.mechanisms = mechanisms or MechanismParams()
        self.costs = costs or CostParams()
        self.streams = Streams(seed, audit=audit)
        self.week = 0

        self.cultural_groups, self.patients, self.clinicians = initial_state(
            self.service, self.run_params, self.population, self.workforce, self.mechanisms, self.streams
        )
        self.dyads = DyadState(self.patients.n, self.run_params.dyad_slots)
        self._start_records(journeys)

    def _start_records(self, journeys: int) -> None:
        # Week-0 records and the week's scratch arrays, for the state as it now is.
        p = self.patients
        self.unmet_requests = 0  # requests without a slot this week
        self.visit_cost = np.array([self.costs.visit.get(r, 0.0) for r in ROLES])
        self.seen = np.zeros(p.n, bool)  # had an encounter this week

        self.totals = WeeklyTotals(p)
        self.capacity = CapacityTally(p, self.clinicians)
        self.summary = weekly_summary(self)
        self._weeks: list[dict[str, float]] = [self.summary]  # every week's aggregates (weekly_table)
        recording = self.run_params.trajectories or journeys > 0
        self._trajectory: list[dict[str, np.ndarray]] | None = [] if recording else None
        self._trajectory_first = None if self.run_params.trajectories else journeys

    def population_index(self) -> slice | np.ndarray:
        """Patients who have arrived (all of them in a closed cohort)."""
        if self.population.cohort == "closed":
            return slice(None)
        return np.flatnonzero(self.patients.arrival_week <= self.week)

    def step(self) -> None:
        """Advance the care system by one week (see the module docstring)."""
        self.week += 1
        week = self.week
        p, c, d = self.patients, self.clinicians, self.dyads
        self._open_week()
        service, mech, streams = self.service, self.mechanisms, self.streams
        idx = self.population_index()

        # 1. Presentation and doctor shopping.
        pathways.present(p, week)
        engagement.represent(p, d, week, mech, streams)

        # 2–4. Demand, routing, capacity.
        req = pathways.demand(p, week, service, mech, streams)
        clinician = pathways.route(req, p, c, service, streams, self.workforce.team_size)
        accepted = pathways.allocate(req, clinician, p, c, week, streams)
        pathways.unmet(req, accepted, p, mech)
        enc = Encounters(req.patient[accepted], clinician[accepted], req.role[accepted], req.kind[accepted])
        self._book(req, accepted, enc)

        # 5. Encounters.
        alliance.encounter(enc, p, c, d, week, service, mech, streams, self.visit_cost, self.costs.investigation)

        # 6. Pathway after the encounters.
        pathways.advance_schedules(enc, p, week, service)
        reported = alliance.reported_symptoms(p, d, mech)
        pathways.refer(enc, reported, p, week, service, mech, streams, self.costs.referral)
        pathways.offer_psychosocial(enc, p, week, service, mech, streams)
        pathways.review(p, reported, week, service, mech, streams)
        repaired = pathways.case_review(p, d, week, service, mech, streams, self.costs.case_review)
        has_open = d.rupture_week[repaired] != NEVER
        rows, slots = np.nonzero(has_open)
        alliance.repair(p, d, repaired[rows], slots, mech)
        alliance.lapse_ruptures(p, d, week, mech)
        pathways.wait(p, mech)
        self._track_therapy()

        # 7. Self-management and recovery.
        self.seen[:] = False
        self.seen[enc.patient] = True
        recovery.adherence(p, d, idx, mech)
        recovery.activity(p, idx, mech)
        recovery.flares(p, idx, mech, streams)
        recovery.recovery(p, idx, self.seen, mech)
        recovery.symptoms(p, idx, mech, streams)
        recovery.feedback_loop(p, idx, mech)
        recovery.fading(p, idx, mech)
        recovery.avoidance(p, idx, mech)
        recovery.distress_and_function(p, idx, mech)
        recovery.count_adherence(p, idx)
        if week == ON_TRACK_WEEK:
            p.symptoms_week12[:] = p.symptoms

        # 8. Emergency attendances and disengagement.
        engagement.emergencies(p, idx, mech, streams, self.costs.emergency, self.costs.investigation)
        alliance_now = d.current_alliance()  # dyads do not change after step 6
        engagement.disengage(p, d, week, mech, streams, alliance_now)

        # 9. Clinician reflection.
        learning.reflect(enc, p, c, service, mech)

        # 10. Record.
        self._record(alliance_now)
        if week >= self.run_params.weeks:
            self.running = False

    # The week's observations (no state the model uses): one set per care system, so a stack of
    # replicates (sim.engine.stack) keeps one per replicate.

    def _open_week(self) -> None:
        self.totals.start_week(self.patients, self.week)

    def _book(self, req: Requests, accepted: np.ndarray, enc: Encounters) -> None:
        self.unmet_requests = int((~accepted).sum())
        self.capacity.book(req, accepted, enc, self.patients, self.week)

    def _track_therapy(self) -> None:
        self.capacity.track_therapy(self.patients, self.week)

    def _record(self, alliance_now: np.ndarray) -> None:
        self._keep(weekly_summary(self, alliance_now))

    def _keep(self, summary: dict[str, float]) -> None:
        # The week's aggregates, and the journeys' states, into the run's records.
        self.summary = summary
        self._weeks.append(summary)
        if self._trajectory is not None:
            self._trajectory.append(trajectory_snapshot(self, self._trajectory_first))

    def weekly_table(self) -> pd.DataFrame:
        """The weekly aggregates so far, one row per week from week 0 (columns ``WEEKLY_COLUMNS``)."""
        return pd.DataFrame({name: [week[name] for week in self._weeks] for name in WEEKLY_COLUMNS})

    def trajectory_frame(self) -> pd.DataFrame:
        """Per patient x week states recorded with ``run.trajectories`` (or ``journeys``)."""
        if self._trajectory is None:
            raise RuntimeError("trajectories were not recorded: set run.trajectories=true")
        return trajectory_table(self._trajectory)

    def run_model(self) -> None:
        """Step until the horizon (``run.weeks``)."""
        while self.running and self.week < self.run_params.weeks:
            self.step()
