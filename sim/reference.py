"""The same model written plainly, one agent at a time: the reference implementation.

This is the version to read first. Each :class:`RefPatient` and
:class:`RefClinician` is an ordinary Mesa agent holding plain Python numbers,
and each mechanism is a few lines of scalar arithmetic, in the style of Mesa's
examples. At 10,000 patients it is about 50 times slower than :class:`sim.engine.model.CareModel`,
which does exactly the same with arrays, so the two can be compared
(``tests/test_reference.py``) and timed side by side
(``benchmarks/bench_reference.py``).

It takes the same parameters and the same random draws as the engine: every
week it draws one number per patient from each stream of the one list in
:mod:`sim.core.streams`, exactly as the engine does, and each patient uses its
own element. One week:

1. Every patient: present to care when the help-seeking delay runs out, or
   come back elsewhere after disengaging (M13); then ask for an encounter.
2. Every clinician: fill the week's slots from the requests, in priority order
   (M18), and hold the encounters (M1–M6, M10, M12, M14).
3. Every patient: book the next contact, maybe a referral (M15), an outcome
   review (M17), a case review (M15); then self-manage and recover (M7–M11),
   maybe attend the emergency department (M14) or drop out (M13).
4. Every clinician: reflect on this week's patients if feedback is on (M16).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from mesa import Agent, Model

from .core.encounters import (
    BOOKED_KINDS,
    COORDINATION,
    FOLLOWUP,
    INTAKE,
    ON_DEMAND,
    SPECIALIST_VISIT,
    THERAPY_SESSION,
)
from .core.maths import LOGIT_CLIP
from .core.params import (
    ROLES,
    CostParams,
    MechanismParams,
    PopulationParams,
    RunParams,
    ServiceParams,
    WorkforceParams,
)
from .core.state import (
    ALLIANCE_MEASURED_AT_ENCOUNTER,
    CLINICIAN_TRAITS,
    COORDINATOR,
    DISCHARGED,
    DISENGAGED,
    GP,
    GP_LED,
    IN_CARE,
    NEVER,
    NOT_PRESENTED,
    SPECIALIST,
    TEAM,
    THERAPY,
    WAITING,
    DyadState,
    PatientState,
)
from .core.streams import WEEKLY_NORMAL_STREAMS, WEEKLY_UNIFORM_STREAMS, Stream, Streams
from .engine.metrics import patient_table
from .engine.model import initial_state


def logistic(x: float) -> float:
    """The logistic function (scalar form of :func:`sim.core.maths.logistic`)."""
    return 1.0 / (1.0 + math.exp(-x))


def logit(p: float) -> float:
    """Log-odds of a probability (scalar form of :func:`sim.core.maths.logit`)."""
    q = min(max(p, LOGIT_CLIP), 1 - LOGIT_CLIP)
    return math.log(q / (1 - q))


def chance(hazard: float) -> float:
    """Weekly probability of an event with the given weekly hazard."""
    return -math.expm1(-hazard)


@dataclass
class Dyad:
    """The alliance of one patient with one clinician they have seen."""

    clinician: int
    bond: float
    goals: float
    tasks: float
    encounters: int = 0
    last_week: int = NEVER
    rupture_week: int = NEVER
    bond_before_rupture: float = 0.0

    @property
    def alliance(self) -> float:
        return (self.bond + self.goals + self.tasks) / 3.0


class RefClinician(Agent):
    """A clinician: traits, weekly slots, and the encounters they hold."""

    def __init__(self, model: ReferenceModel, row: int) -> None:
        super().__init__(model)
        self.row = row
        c = model._clinician_arrays
        for name in ("role", "capacity", "cultural_group", *CLINICIAN_TRAITS):
            setattr(self, name, c.__dict__[name][row].item())
        self.requests: list[tuple] = []
        self.seen_this_week: list[RefPatient] = []

    def fill_slots(self) -> list[RefPatient]:
        """M18: booked appointments first, then new patients (longest wait first), then on-demand."""
        self.requests.sort(key=lambda r: r[0])
        accepted = [patient for _key, patient in self.requests[: self.capacity]]
        for _key, patient in self.requests[self.capacity :]:
            patient.no_slot()
        self.requests = []
        return accepted

    def reflect(self) -> None:
        """M16: with feedback, skills grow with the share of this week's patients not on track."""
        if self.model.service.feedback and self.seen_this_week:
            off = sum(p.progress <= 0.0 for p in self.seen_this_week) / len(self.seen_this_week)
            rate = min(self.model.mechanisms.learning_per_week * self.reflective_practice * off, 1.0)
            self.validation += rate * (1.0 - self.validation)
            self.pacing_advice += rate * (1.0 - self.pacing_advice)
            self.repair_skill += rate * (1.0 - self.repair_skill)
            humility = self.model.mechanisms.reflection_humility * rate
            self.cultural_humility += humility * (1.0 - self.cultural_humility)
        self.seen_this_week = []


class RefPatient(Agent):
    """A person with a functional somatic condition, one week at a time."""

    def __init__(self, model: ReferenceModel, row: int) -> None:
        super().__init__(model)
        self.row = row
        p = model._patient_arrays
        for name, values in p.__dict__.items():
            if isinstance(values, np.ndarray) and values.ndim == 1:
                setattr(self, name, values[row].item())
        self.lead = [int(v) for v in p.lead[row]]
        self.visits = [0] * len(ROLES)
        self.dyads: list[Dyad | None] = [None] * model.run_params.dyad_slots
        self.current: int = -1  # slot of the latest encounter
        self.request: tuple[int, int] | None = None  # (role, kind) asked for this week

    # --- helpers ---

    def u(self, stream: Stream) -> float:
        """This patient's draw from a stream this week."""
        return float(self.model.draws[stream][self.row])

    def current_dyad(self) -> Dyad | None:
        return self.dyads[self.current] if self.current >= 0 else None

    def followup_role(self) -> int:
        if self.care_step == GP_LED:
            return GP
        if self.care_step == THERAPY:
            return self.therapy_role
        return COORDINATOR if self.encounters % 2 == 0 else self.therapy_role

    def followup_interval(self) -> int:
        s = self.model.service
        weeks = s.followup_interval_weeks if self.care_step == GP_LED else s.therapy_interval_weeks
        return max(int(np.rint(weeks)), 1)

    def reported_symptoms(self) -> float:
        """M6: what the patient tells the clinician."""
        mech = self.model.mechanisms
        dyad = self.current_dyad()
        safety = 0.5 * (self.trust + (dyad.bond if dyad else 0.0))
        hidden = mech.underreport_share * (self.symptoms - self.symptoms_slow)
        distortion = (1.0 - safety) * (mech.amplify_points * self.stigma - hidden)
        return min(max(self.symptoms + distortion, 0.0), 30.0)

    # --- 1. presenting and asking for care ---

    def present(self) -> None:
        """Join the waiting list when the help-seeking delay runs out; shoppers come back elsewhere (M13)."""
        week = self.model.week
        if self.status == NOT_PRESENTED and self.presentation_week <= week:
            self.status = WAITING
        if self.status == DISENGAGED:
            mech = self.model.mechanisms
            hazard = mech.represent_per_week * (mech.represent_distress_floor + self.distress)
            if self.u(Stream.REPRESENT) < chance(hazard):
                self.status = WAITING
                self.presentation_week = week
                self.lead = [-1] * len(ROLES)
                self.care_step = GP_LED
                self.step_contacts = 0
                self.step_completed = GP_LED  # a new episode of care elsewhere
                self.team += 1  # another team: new clinicians, no alliance carried over
                self.current = -1

    def seek_care(self) -> None:
        """Ask for at most one encounter this week (M15, M18, M5)."""
        service, mech, week = self.model.service, self.model.mechanisms, self.model.week
        self.request = None
        in_care = self.status == IN_CARE
        if in_care and self.referral_due_week == week:
            mean_extra = max(service.specialist_visits_per_episode - 1.0, 0.0)
            self.specialist_visits_left = 1 + math.floor(-math.log1p(-self.u(Stream.EPISODE_LENGTH)) * mean_extra)
            self.next_specialist_week = week
            self.referral_due_week = NEVER
        if self.status == WAITING:
            self.request = (GP, INTAKE)
        elif in_care:
            if self.specialist_visits_left > 0 and self.next_specialist_week <= week:
                self.request = (SPECIALIST, SPECIALIST_VISIT)
            elif self.next_followup_week <= week:
                if self.u(Stream.FOLLOWUP_KEPT) < service.followup_reliability:
                    self.request = (self.followup_role(), FOLLOWUP)
                else:
                    self.missed_followups += 1
                    self.trust -= mech.missed_followup_trust_drop * self.trust
                    self.next_followup_week = week + self.followup_interval()
            weeks_in = week - self.care_start_week
            interval = service.coordinator_contact_interval_weeks
            if self.request is None and self.therapy_sessions_left > 0 and self.next_therapy_week <= week:
                self.request = (self.therapy_role, THERAPY_SESSION)
            elif self.request is None and interval > 0 and weeks_in > 0 and weeks_in % interval == 0:
                if service.coordination_weeks == 0 or weeks_in <= service.coordination_weeks:
                    self.request = (COORDINATOR, COORDINATION)
            if self.request is None:
                hazard = mech.demand_per_week * math.exp(
                    mech.demand_distress * (self.distress - 0.5) + mech.demand_flare * self.in_flare
                )
                if self.u(Stream.ON_DEMAND) < chance(hazard):
                    self.request = (GP, ON_DEMAND)
        if self.request is not None:
            clinician = self.choose_clinician(self.request[0])
            waited = week - self.presentation_week if self.request[1] == INTAKE else 0
            key = (self.request[1], -waited, self.u(Stream.SLOT_TIEBREAK))
            if clinician is None:
                self.no_slot()
            else:
                clinician.requests.append((key, self))

    def choose_clinician(self, role: int) -> RefClinician | None:
        """M15: the named lead with chance ``continuity``, else whoever is free in the patient's team."""
        model = self.model
        members = model.clinicians_by_role[role]
        if not members:
            return None
        lead = self.lead[role]
        if lead >= 0 and self.u(Stream.ROUTE_LEAD) < model.service.continuity:
            return model.clinician_list[lead]
        n_teams = max(len(members) // model.workforce.team_size, 1)
        team = self.team % n_teams
        size = (len(members) - team + n_teams - 1) // n_teams
        position = min(int(self.u(Stream.ROUTE_PICK) * size), size - 1)
        return members[team + position * n_teams]

    def no_slot(self) -> None:
        """A booked contact without a slot slips, and trust pays (M18 -> M5)."""
        if self.request[1] in BOOKED_KINDS:
            self.missed_followups += 1
            self.trust -= self.model.mechanisms.missed_followup_trust_drop * self.trust
        self.model.unmet_requests += 1

    # --- 2. an encounter ---

    def open_dyad(self, clinician: RefClinician, contradiction: bool) -> int:
        """The slot of this clinician's dyad, opening one (and recycling the stalest) if new."""
        for slot, dyad in enumerate(self.dyads):
            if dyad is not None and dyad.clinician == clinician.row:
                return slot
        mech, service = self.model.mechanisms, self.model.service
        ages = [NEVER - 1 if d is None else d.last_week for d in self.dyads]
        slot = ages.index(min(ages))
        old = self.dyads[slot]
        if old is not None:
            self.recycled_sumsq += old.encounters**2
            self.recycled_max = max(self.recycled_max, old.encounters)
        current = self.current_dyad()
        transfer = service.alliance_transfer if current is not None and not contradiction else 0.0
        bond_base = min(
            max(
                mech.bond_initial
                + mech.attachment_bond * (self.attachment_security - 0.5)
                + mech.trust_bond * (self.trust - 0.5),
                0.0,
            ),
            1.0,
        )
        values = []
        for name, base in (("bond", bond_base), ("goals", mech.goals_initial), ("tasks", mech.tasks_initial)):
            carried = getattr(current, name) if current is not None else base
            values.append(base + transfer * max(carried - base, 0.0))
        self.dyads[slot] = Dyad(clinician.row, *values)
        return slot

    def meet(self, clinician: RefClinician) -> None:
        """One encounter with one clinician (M1–M6, M10, M12, M14), in the engine's order."""
        model, mech, service, week = self.model, self.model.mechanisms, self.model.service, self.model.week
        role, kind = self.request
        is_new = all(d is None or d.clinician != clinician.row for d in self.dyads)
        contradiction = is_new and self.encounters > 0 and self.u(Stream.COHERENCE) >= service.message_coherence
        slot = self.open_dyad(clinician, contradiction)
        dyad = self.dyads[slot]
        if contradiction:
            self.contradictions += 1
            self.trust -= mech.contradiction_trust_drop * self.trust
            self.uncertainty += mech.contradiction_uncertainty_rise * (1.0 - self.uncertainty)
        # M4 cultural humility
        reach = 1.0
        if self.cultural_group != clinician.cultural_group:
            reach = 1.0 - mech.mismatch_penalty * (1.0 - clinician.cultural_humility)
        # M2 validation versus dismissal
        off_track = self.progress <= 0.0
        x = (
            logit(clinician.validation)
            + mech.validation_stance_logodds * (clinician.biopsychosocial - 0.5)
            - mech.validation_stigma_logodds * (self.stigma - mech.stigma_reference)
            + service.feedback * mech.feedback_validation_logodds * off_track
        )
        validated = self.u(Stream.VALIDATION) < logistic(x)
        if validated:
            self.distress -= mech.validated_distress_drop * reach * self.distress
            self.trust += mech.validated_trust_gain * reach * (1.0 - self.trust)
            self.validations += 1
            self.avoidance -= mech.validated_avoidance_drop * reach * self.avoidance
        else:
            self.avoidance += mech.dismissed_avoidance_rise * (1.0 - self.avoidance)
            self.distress += mech.dismissed_distress_rise * (1.0 - self.distress)
            self.trust -= mech.dismissed_trust_drop * self.trust
            self.stigma += mech.dismissed_stigma_rise * (1.0 - self.stigma)
            self.dismissals += 1
            self.dismissed_week = week
        # M1 bond
        early = 1.0 + mech.early_rapport_boost * math.exp(-dyad.encounters / mech.early_rapport_weeks)
        gain = (
            mech.bond_gain
            * clinician.warmth
            * (mech.bond_gain_attachment_floor + self.attachment_security)
            * reach
            * early
        )
        if validated:
            dyad.bond = dyad.bond + min(gain, 1.0) * (1.0 - dyad.bond)
        else:
            dyad.bond = dyad.bond * (1.0 - mech.dismissed_bond_drop)
        # M3 explanation
        lit = mech.literacy_floor + (1.0 - mech.literacy_floor) * self.health_literacy
        clear = clinician.clarity * lit * reach
        dyad.goals += min(mech.goals_gain * clear, 1.0) * (1.0 - dyad.goals)
        dyad.tasks += min(mech.tasks_gain * clear, 1.0) * (1.0 - dyad.tasks)
        self.uncertainty -= min(mech.uncertainty_drop * clear, 1.0) * self.uncertainty
        self.avoidance -= min(mech.explanation_avoidance_drop * clear, 1.0) * self.avoidance
        self.explanation_received = max(self.explanation_received, clear)
        # M5 predictability
        if kind in BOOKED_KINDS:
            self.trust += mech.kept_followup_trust_gain * (1.0 - self.trust)
        # M10 pacing advice
        if service.pacing_guidance:
            self.pacing += mech.pacing_gain * clinician.pacing_advice * reach * (1.0 - self.pacing)
        # M12 ruptures and repair
        open_before = dyad.rupture_week != NEVER
        skill = clinician.repair_skill * (1.0 + service.feedback * mech.feedback_repair_boost)
        if open_before and self.u(Stream.REPAIR) < min(mech.p_repair * skill, 1.0):
            self.repair(dyad)
        p_rupture = (
            mech.p_rupture_base
            + mech.rupture_dismissal * (not validated)
            + mech.rupture_flare * self.in_flare
            + mech.rupture_stall * off_track
            + mech.rupture_contradiction * contradiction
        )
        if not open_before and self.u(Stream.RUPTURE) < p_rupture:
            dyad.bond_before_rupture = dyad.bond
            dyad.bond *= 1.0 - mech.rupture_bond_drop
            dyad.rupture_week = week
            self.ruptures += 1
        # M14 investigations by medical clinicians
        if role in (GP, SPECIALIST) and service.p_investigation_per_visit > 0:
            x = (
                logit(service.p_investigation_per_visit)
                + mech.investigation_biomedical * (0.5 - clinician.biopsychosocial)
                + mech.investigation_uncertainty * (self.uncertainty - 0.5)
            )
            if self.u(Stream.INVESTIGATION) < logistic(x):
                self.record_test(model.costs.investigation)
                if self.u(Stream.RESULT_EXPLAINED) < service.p_results_explained:
                    self.distress -= mech.reassurance_distress_drop * self.distress
                else:
                    self.trust -= mech.normal_result_trust_drop * self.trust
        # counters, cost, continuity
        dyad.encounters += 1
        dyad.last_week = week
        self.current = slot
        self.visits[role] += 1
        self.encounters += 1
        self.cost += model.visit_cost[role]
        self.same_clinician_pairs += self.last_clinician == clinician.row
        self.last_clinician = clinician.row
        if self.encounters == ALLIANCE_MEASURED_AT_ENCOUNTER:
            self.alliance_third = dyad.alliance
        clinician.seen_this_week.append(self)
        self.seen = True

    def record_test(self, unit_cost: float) -> None:
        prior = min(self.investigations, self.model.mechanisms.repeat_test_cap)
        self.investigations += 1
        self.cost += unit_cost
        share = min(self.model.mechanisms.repeat_test_uncertainty * prior, 1.0)
        self.uncertainty += share * (1.0 - self.uncertainty)

    def repair(self, dyad: Dyad) -> None:
        """M12: a repaired rupture leaves the bond stronger than before it."""
        before = dyad.bond_before_rupture
        dyad.bond = max(dyad.bond, before + self.model.mechanisms.repair_bond_bonus * (1.0 - before))
        dyad.rupture_week = NEVER
        self.repairs += 1

    # --- 3. after the encounters ---

    def after_encounter(self) -> None:
        """Book the next contact; intake starts care; the first clinician of a role becomes the lead."""
        if not self.seen:
            return
        week, service = self.model.week, self.model.service
        role, kind = self.request
        if kind == INTAKE:
            self.status = IN_CARE
            self.care_start_week = week
            self.care_step = GP_LED
            self.step_start_reported = self.symptoms
        if kind in (INTAKE, FOLLOWUP):
            self.next_followup_week = week + self.followup_interval()
        if kind == FOLLOWUP and self.care_step > GP_LED:
            self.step_contacts += 1  # M17: one more contact of the stepped-up course
        if kind == SPECIALIST_VISIT:
            self.specialist_visits_left -= 1
            self.next_specialist_week = week + max(round(service.specialist_interval_weeks), 1)
        if kind == THERAPY_SESSION:
            self.therapy_sessions_left -= 1
            self.next_therapy_week = week + max(round(service.therapy_interval_weeks), 1)
        if self.lead[role] < 0:
            self.lead[role] = self.last_clinician

    def refer(self, reported: float) -> None:
        """M15: after a GP encounter, maybe a specialist referral; some are lost."""
        model, service, mech, week = self.model, self.model.service, self.model.mechanisms, self.model.week
        if not self.seen or self.request[0] != GP or self.status != IN_CARE:
            return
        if self.referral_due_week != NEVER or self.specialist_visits_left > 0:
            return
        x = (
            logit(service.p_referral_per_visit)
            + mech.referral_severity * (reported - mech.referral_reference_points)
            + mech.referral_uncertainty * (self.uncertainty - 0.5)
        )
        if not self.u(Stream.REFERRAL) < logistic(x) * (service.p_referral_per_visit > 0):
            return
        self.referrals += 1
        self.cost += model.costs.referral
        if self.u(Stream.REFERRAL_LOST) < service.p_referral_lost:
            self.trust -= mech.lost_referral_trust_drop * self.trust
        else:
            delay = math.floor(-math.log1p(-self.u(Stream.REFERRAL_DELAY)) * service.referral_delay_weeks)
            self.referral_due_week = week + 1 + delay

    def offer_psychosocial(self) -> None:
        """M15 content: once, a GP may offer a brief course; uptake rises with trust and explanation (M5, M3)."""
        service, week = self.model.service, self.model.week
        if not self.seen or self.request[0] != GP or self.status != IN_CARE or self.psychosocial_offered:
            return
        if not self.u(Stream.PSYCHOSOCIAL_OFFER) < service.p_psychosocial_offer_per_visit:
            return
        self.psychosocial_offered = True
        if self.u(Stream.PSYCHOSOCIAL_UPTAKE) < self.uptake_chance():
            mean_extra = max(service.therapy_course_sessions - 1.0, 0.0)
            self.therapy_sessions_left = 1 + math.floor(-math.log1p(-self.u(Stream.COURSE_LENGTH)) * mean_extra)
            self.next_therapy_week = week + 1
            self.psychosocial_uptakes += 1

    def uptake_chance(self) -> float:
        """M15 (M5, M3): chance of taking up psychosocial care when it is proposed."""
        mech = self.model.mechanisms
        x = (
            mech.uptake_logodds
            + mech.uptake_trust * (self.trust - 0.5)
            + mech.uptake_explanation * (self.explanation_received - 0.5)
        )
        return logistic(x)

    def review(self, reported: float) -> None:
        """M17: outcome review on reported symptoms: step down or discharge the well, step up the stuck."""
        service, week = self.model.service, self.model.week
        if self.status != IN_CARE:
            return
        course = service.step_course_contacts
        changed = course > 0 and self.care_step > GP_LED and self.step_contacts >= course
        if changed:
            # the course is over: back to GP-led care, and it is not offered again this episode
            self.step_completed = max(self.step_completed, self.care_step)
            self.care_step = GP_LED
        weeks_in = week - self.care_start_week
        if weeks_in > 0 and weeks_in % service.review_interval_weeks == 0:
            if reported <= service.discharge_below_points:
                if self.care_step == GP_LED:
                    self.status = DISCHARGED
                    self.discharge_week = week
                else:
                    self.care_step -= 1
                    changed = True
            elif (
                service.stepping
                and self.step_start_reported - reported < service.step_up_threshold_points
                and reported >= service.step_up_min_points
            ):
                level = max(self.care_step, self.step_completed) + 1  # a finished course is not repeated
                if level <= TEAM and self.u(Stream.STEP_UPTAKE) < self.uptake_chance():
                    self.care_step = level
                    self.next_followup_week = week + 1
                    changed = True
        if changed:
            self.step_contacts = 0
            self.step_start_reported = reported

    def case_review(self) -> None:
        """M15: the team shares goals and tasks and revisits open ruptures."""
        model, service, mech = self.model, self.model.service, self.model.mechanisms
        interval = service.case_review_interval_weeks
        if interval <= 0 or model.week % interval != 0 or self.status != IN_CARE:
            return
        self.cost += model.costs.case_review
        seen = [d for d in self.dyads if d is not None]
        for name in ("goals", "tasks"):
            best = max([getattr(d, name) for d in seen] + [0.0])
            for d in seen:
                setattr(d, name, getattr(d, name) + service.alliance_transfer * (best - getattr(d, name)))
        if any(d.rupture_week != NEVER for d in seen) and self.u(Stream.CASE_REVIEW_REPAIR) < mech.case_review_repair:
            for d in self.dyads:
                if d is not None and d.rupture_week != NEVER:
                    self.repair(d)

    def lapse_ruptures(self) -> None:
        """M12: ruptures left open too long close unrepaired and weaken the bond."""
        mech, week = self.model.mechanisms, self.model.week
        for d in self.dyads:
            if d is not None and d.rupture_week != NEVER and week - d.rupture_week >= mech.rupture_unrepaired_weeks:
                d.bond *= 1.0 - mech.unrepaired_bond_drop
                d.rupture_week = NEVER

    def wait(self) -> None:
        """M18: a week on the waiting list."""
        if self.status == WAITING:
            self.waiting_weeks += 1
            self.trust -= self.model.mechanisms.waiting_trust_drop * self.trust

    # --- self-management and recovery (M7–M11) ---

    def self_manage(self) -> None:
        """M7 adherence, M10 activity, M9 flares, M8 recovery, symptoms, M11, M3/M19 fading, M19 avoidance, F."""
        mech = self.model.mechanisms
        dyad = self.current_dyad()
        tasks, bond = (dyad.tasks, dyad.bond) if dyad else (0.0, 0.0)
        x = (
            mech.adherence_intercept
            + mech.adherence_tasks * tasks
            + mech.adherence_bond * bond
            + mech.adherence_trust * self.trust
            + mech.adherence_self_efficacy * self.self_efficacy
            + mech.adherence_expectation * self.expectation
            - mech.adherence_distress * self.distress
            - mech.adherence_uncertainty * self.uncertainty
        )
        if self.status == NOT_PRESENTED:
            self.adherence = 0.0  # no plan yet: no self-management
        else:
            self.adherence = self.adherence + mech.adherence_rate * (logistic(x) - self.adherence)

        target = (
            mech.activity_base
            + mech.activity_self_efficacy * self.self_efficacy * (1.0 - self.symptoms / 30.0)
            + mech.activity_adherence * self.adherence
            - mech.activity_avoidance * self.avoidance
        )
        target = min(max(target, 0.0), 1.0)
        good_week = min(max((self.symptoms_slow - self.symptoms) / mech.progress_scale_points, 0.0), 1.0)
        boom = mech.boom_per_week * (1.0 - self.pacing) * good_week
        rise = mech.activity_rate * (target - self.activity) + boom
        self.activity = min(max(self.activity + rise, 0.0), 1.0)
        self.activity_rise = rise

        overexertion = max(self.activity_rise - mech.safe_activity_step, 0.0)
        hazard = mech.flare_per_week * math.exp(
            mech.flare_stress * (self.stress_reactivity - 0.5)
            + mech.flare_distress * (self.distress - 0.5)
            - mech.flare_pacing * self.pacing
            + mech.flare_overexertion * overexertion
        )
        flare = self.u(Stream.FLARE) < chance(hazard)
        decay = math.exp(-math.log(2.0) / mech.flare_half_life_weeks)
        size = mech.flare_points * (1.0 + mech.flare_size_spread * (self.u(Stream.FLARE_SIZE) - 0.5))
        self.flare_load = self.flare_load * decay + flare * size
        self.in_flare = flare
        if flare:
            self.flares += 1
            self.self_efficacy -= mech.flare_self_efficacy_drop * self.uncertainty * self.self_efficacy
            self.expectation -= mech.flare_expectation_drop * self.uncertainty * self.expectation
            self.distress += mech.flare_distress_rise * (1.0 - self.distress)
            self.avoidance += mech.flare_avoidance_rise * (1.0 - self.avoidance)
            self.activity *= 1.0 - mech.bust_activity_drop
            self.latent = min(self.latent + mech.flare_relapse_points * (1.0 - self.pacing), 30.0)

        # M8: relax toward the set point; self-management (and a little contact) pulls toward the floor.
        floor = mech.symptom_floor_share * self.baseline_severity
        room = 30.0 - floor
        x = (
            logit(mech.setpoint_share * (self.baseline_severity - floor) / room)
            + mech.setpoint_distress * (self.distress - mech.distress_reference)
            + mech.setpoint_catastrophising * (self.catastrophising - mech.catastrophising_reference)
            + mech.setpoint_avoidance * (self.avoidance - mech.avoidance_reference)
            + mech.setpoint_stress_reactivity * (self.stress_reactivity - mech.stress_reactivity_reference)
        )
        setpoint = floor + room * logistic(x)
        pull = min(mech.recovery_per_week * self.adherence + mech.contact_recovery_per_week * self.seen, 1.0)
        relaxed = self.latent + mech.setpoint_rate * (setpoint - self.latent)
        self.latent = min(max(relaxed - pull * (relaxed - floor), floor), 30.0)

        rho = mech.fluctuation_autocorr
        self.fluctuation = rho * self.fluctuation + math.sqrt(1.0 - rho**2) * mech.fluctuation_sd * float(
            self.model.draws[Stream.FLUCTUATION][self.row]
        )
        scale = math.sqrt(self.latent / mech.fluctuation_level_points)
        self.symptoms = min(max(self.latent + self.flare_load + self.fluctuation * scale, 0.0), 30.0)

        w_recent, w_usual = mech.recent_level_weight, mech.usual_level_weight
        self.symptoms_fast = (1.0 - w_recent) * self.symptoms_fast + w_recent * self.symptoms
        self.symptoms_slow = (1.0 - w_usual) * self.symptoms_slow + w_usual * self.symptoms
        progress = min(max((self.symptoms_slow - self.symptoms_fast) / mech.progress_scale_points, -1.0), 1.0)
        self.progress = progress
        for name, gain in (("self_efficacy", mech.progress_self_efficacy), ("expectation", mech.progress_expectation)):
            value = getattr(self, name)
            room = 1.0 - value if progress > 0 else value
            setattr(self, name, value + gain * progress * room)

        # M3, M19: uncertainty and avoidance drift back toward the patient's own level before care.
        self.uncertainty += mech.uncertainty_return_per_week * (self.uncertainty_own - self.uncertainty)
        self.avoidance += mech.avoidance_return_per_week * (self.avoidance_own - self.avoidance)
        # M19: fear raises avoidance, graded exposure (adherence x pacing) lowers it.
        fear = mech.avoidance_fear_per_week * self.catastrophising * self.uncertainty
        exposure = mech.avoidance_exposure_per_week * self.adherence * self.pacing
        self.avoidance = min(max(self.avoidance + fear * (1.0 - self.avoidance) - exposure * self.avoidance, 0.0), 1.0)

        target = (
            mech.distress_base
            + mech.distress_symptoms * self.symptoms / 30.0
            + mech.distress_catastrophising * self.catastrophising * self.uncertainty
            - mech.distress_self_efficacy * (self.self_efficacy - 0.5)
        )
        target = min(max(target, 0.0), 1.0)
        self.distress = min(max(self.distress + mech.distress_rate * (target - self.distress), 0.0), 1.0)
        f_target = (
            100.0
            - mech.function_per_symptom_point * self.latent
            - mech.function_activity * (1.0 - self.activity)
            - mech.function_distress * self.distress
            - mech.function_avoidance * self.avoidance
            + mech.function_self_efficacy * (self.self_efficacy - 0.5)
            + mech.function_pacing * self.pacing
        ) / 100.0
        share = min(max(f_target, mech.function_scale_margin), 1.0 - mech.function_scale_margin)
        f_target = 100.0 * logistic(logit(share) + self.function_offset)
        self.function = min(max(self.function + mech.function_rate * (f_target - self.function), 0.0), 100.0)

        if self.status != NOT_PRESENTED:
            self.adherence_sum += self.adherence
            self.weeks_presented += 1
        if self.model.week == 12:
            self.symptoms_week12 = self.symptoms

    def emergency_and_dropout(self) -> None:
        """Emergency attendances (M14) and disengagement (M13)."""
        model, mech, week = self.model, self.model.mechanisms, self.model.week
        outside = 1.0 if self.status == IN_CARE else mech.emergency_outside_care
        hazard = (
            mech.emergency_per_week
            * outside
            * math.exp(
                mech.emergency_flare * self.in_flare
                + mech.emergency_distress * (self.distress - 0.5)
                + mech.emergency_uncertainty * (self.uncertainty - 0.5)
            )
        )
        if self.u(Stream.EMERGENCY) < chance(hazard):
            self.emergency += 1
            self.cost += model.costs.emergency
            if self.u(Stream.EMERGENCY_TEST) < mech.p_emergency_investigation:
                self.record_test(model.costs.investigation)
        if self.status != IN_CARE:
            return
        dyad = self.current_dyad()
        hazard = mech.dropout_per_week * math.exp(
            -mech.dropout_alliance * ((dyad.alliance if dyad else 0.0) - 0.5)
            - mech.dropout_trust * (self.trust - 0.5)
            - mech.dropout_progress * self.progress
            + mech.dropout_rupture * (dyad is not None and dyad.rupture_week != NEVER)
            + mech.dropout_dismissal * (self.dismissed_week == week)
        )
        if self.u(Stream.DROPOUT) < chance(hazard):
            self.status = DISENGAGED
            if not self.ever_disengaged:
                self.dropout_week = week
            self.ever_disengaged = True
            self.next_followup_week = NEVER
            self.referral_due_week = NEVER
            self.specialist_visits_left = 0
            self.therapy_sessions_left = 0


class ReferenceModel(Model):
    """The care system, one agent at a time (same arguments as :class:`sim.engine.model.CareModel`)."""

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
    ) -> None:
        super().__init__(rng=seed)
        self.service = service or ServiceParams()
        self.run_params = run or RunParams()
        self.population = population or PopulationParams()
        self.workforce = workforce or WorkforceParams()
        self.mechanisms = mechanisms or MechanismParams()
        self.costs = costs or CostParams()
        if self.population.cohort != "closed":
            raise ValueError("the reference model covers the closed cohort only")
        self.streams = Streams(seed)
        self.week = 0
        # The cohort and the team come from the same draws as the engine's.
        self.cultural_groups, self._patient_arrays, self._clinician_arrays = initial_state(
            self.service, self.run_params, self.population, self.workforce, self.mechanisms, self.streams
        )
        p = self._patient_arrays
        self.visit_cost = [self.costs.visit.get(r, 0.0) for r in ROLES]
        self.patient_list = [RefPatient(self, i) for i in range(p.n)]
        self.clinician_list = [RefClinician(self, i) for i in range(self._clinician_arrays.n)]
        self.clinicians_by_role = [[c for c in self.clinician_list if c.role == r] for r in range(len(ROLES))]
        self.unmet_requests = 0
        self.draws: dict[str, np.ndarray] = {}

    def step(self) -> None:
        """One week (see the module docstring)."""
        self.week += 1
        n = len(self.patient_list)
        self.draws = {name: self.streams.uniform(name, n) for name in WEEKLY_UNIFORM_STREAMS}
        self.draws.update({name: self.streams.normal(name, n) for name in WEEKLY_NORMAL_STREAMS})
        self.unmet_requests = 0
        patients = self.patient_list
        # 1. presenting and asking for care
        for patient in patients:
            patient.seen = False
            patient.present()
        for patient in patients:
            patient.seek_care()
        # 2. clinicians fill their slots and hold the encounters
        for clinician in self.clinician_list:
            for patient in clinician.fill_slots():
                patient.meet(clinician)
        # 3. after the encounters; self-management and recovery; emergencies and dropout
        for patient in patients:
            patient.after_encounter()
            reported = patient.reported_symptoms()
            patient.refer(reported)
            patient.offer_psychosocial()
            patient.review(reported)
            patient.case_review()
            patient.lapse_ruptures()
            patient.wait()
            patient.self_manage()
            patient.emergency_and_dropout()
        # 4. clinicians reflect
        for clinician in self.clinician_list:
            clinician.reflect()

    def run_model(self) -> None:
        """Step until the horizon."""
        while self.week < self.run_params.weeks:
            self.step()

    def patient_table(self) -> pd.DataFrame:
        """One row per patient, exactly as :func:`sim.engine.metrics.patient_table` gives for the engine."""
        self.patients, self.dyads = self.to_arrays()
        return patient_table(self)

    def to_arrays(self) -> tuple[PatientState, DyadState]:
        """The agents' state as the engine's arrays (for the per-patient table and comparisons)."""
        p = self._patient_arrays
        d = DyadState(p.n, self.run_params.dyad_slots)
        for agent in self.patient_list:
            i = agent.row
            for name, values in p.__dict__.items():
                if isinstance(values, np.ndarray) and values.ndim == 1 and hasattr(agent, name):
                    values[i] = getattr(agent, name)
            p.lead[i] = agent.lead
            p.visits[i] = agent.visits
            d.set_current(np.array([i]), np.array([agent.current]))
            for s, dyad in enumerate(agent.dyads):
                if dyad is not None:
                    d.clinician[i, s], d.bond[i, s], d.goals[i, s], d.tasks[i, s] = (
                        dyad.clinician,
                        dyad.bond,
                        dyad.goals,
                        dyad.tasks,
                    )
                    d.encounters[i, s], d.last_week[i, s] = dyad.encounters, dyad.last_week
                    d.rupture_week[i, s], d.bond_before_rupture[i, s] = dyad.rupture_week, dyad.bond_before_rupture
        return p, d
