"""Model state as arrays over agents (struct of arrays).

Patients, clinicians and dyads each keep their state in NumPy arrays, one
element (or row) per agent, so the weekly step updates whole arrays at once.
The Mesa agents in :mod:`sim.engine.agents` read and write their own row.

Every array is declared here with its unit; nothing else adds state.
"""

from __future__ import annotations

import numpy as np

from .params import CONDITIONS, ROLES, PopulationParams, RunParams, ServiceParams, WorkforceParams
from .streams import Stream, Streams

NOT_PRESENTED, WAITING, IN_CARE, DISCHARGED, DISENGAGED = range(5)
GP, SPECIALIST, PSYCHOLOGIST, PHYSIOTHERAPIST, COORDINATOR = range(5)
GP_LED, THERAPY, TEAM = range(3)  # care steps (M17): GP-led, therapy, multidisciplinary team
N_ROLES = len(ROLES)
NEVER = -1  # week marker for "has not happened"
ALLIANCE_MEASURED_AT_ENCOUNTER = 3  # "early alliance" is measured at the third encounter (target C1)


def beta_around(gen: np.random.Generator, mean: float | np.ndarray, concentration: float, n: int) -> np.ndarray:
    """Draws in (0, 1) with the given mean; higher concentration, less spread."""
    m = np.clip(mean, 1e-3, 1 - 1e-3)
    return gen.beta(m * concentration, (1 - m) * concentration, n)


def _categorical(gen: np.random.Generator, shares: dict[str, float], n: int) -> np.ndarray:
    p = np.array(list(shares.values()), dtype=float)
    return np.searchsorted(np.cumsum(p / p.sum()), gen.random(n), side="right").astype(np.int8)


def arrival_weeks(population: PopulationParams, run: RunParams, streams: Streams) -> np.ndarray:
    """The arrival week of every newcomer to an open cohort, in order (none for a closed cohort).

    Poisson arrivals at ``population.arrivals_per_week`` in each week 1..``run.weeks``,
    from the ``arrivals`` stream alone, so validation can count them before any
    simulation and every arm of a replicate sees the same newcomers.
    """
    if population.cohort != "open":
        return np.zeros(0, dtype=np.int32)
    per_week = streams.get(Stream.ARRIVALS).poisson(population.arrivals_per_week, run.weeks)
    return np.repeat(np.arange(1, run.weeks + 1, dtype=np.int32), per_week)


class PatientState:
    """Traits, state and counters of every patient, one array element each.

    Args:
        population: Cohort size and type, case mix and trait distributions.
        run: Horizon of the run (open-cohort arrivals are drawn for every week).
        cultural_groups: Names of the cultural groups (patients and clinicians share them).
        streams: The run's random streams (only ``cohort`` and ``arrivals`` are used).
    """

    def __init__(
        self,
        population: PopulationParams,
        run: RunParams,
        cultural_groups: list[str],
        streams: Streams,
    ) -> None:
        gen = streams.get(Stream.COHORT)
        arrivals = arrival_weeks(population, run, streams)
        n0 = population.n_patients
        n = n0 + arrivals.size
        self.n = n
        k = population.trait_concentration

        # --- traits, fixed at creation ---
        self.arrival_week = np.concatenate([np.zeros(n0, np.int32), arrivals])
        self.condition = _categorical(gen, population.condition_shares, n)
        shift = np.array([population.condition_severity_shift.get(c, 0.0) for c in CONDITIONS])
        cond_names = list(population.condition_shares)
        cond_index = np.array([CONDITIONS.index(c) for c in cond_names])
        self.condition = cond_index[self.condition].astype(np.int8)
        self.baseline_severity = np.clip(
            population.severity_mean + shift[self.condition] + population.severity_sd * gen.standard_normal(n),
            population.severity_min_points,
            30.0,
        )  # PHQ-15 points at presentation
        self.attachment_security = beta_around(gen, population.attachment_security_mean, k, n)
        self.stress_reactivity = beta_around(gen, population.stress_reactivity_mean, k, n)
        self.catastrophising = beta_around(gen, population.catastrophising_mean, k, n)
        self.health_literacy = beta_around(gen, population.health_literacy_mean, k, n)
        self.cultural_group = _categorical(gen, population.cultural_group_shares, n)
        self.cultural_group = np.array(
            [cultural_groups.index(g) for g in population.cultural_group_shares], dtype=np.int8
        )[self.cultural_group]
        delay = gen.exponential(max(population.help_seeking_delay_mean_weeks, 1e-9), n)
        self.help_seeking_delay_weeks = np.floor(delay).astype(np.int32)
        self.therapy_role = np.where(
            gen.random(n) < population.share_physio_pathway, PHYSIOTHERAPIST, PSYCHOLOGIST
        ).astype(np.int8)
        self.presentation_week = self.arrival_week + self.help_seeking_delay_weeks
        self.team = gen.integers(0, 2**31, n)  # which practice / department of each role (mod team count)
        # index of the patient's care system's first clinician: 0, except in a stack of replicates (sim.engine.stack)
        self.clinician_offset = np.zeros(n, np.int32)

        # --- psychological state in [0, 1]: level + trait and severity effects + noise ---
        pop = population
        z = gen.standard_normal((6, n))
        sev = (self.baseline_severity - pop.severity_reference_points) / pop.severity_scale_points
        sd, lo, hi = pop.initial_state_sd, pop.initial_state_min, pop.initial_state_max
        self.stigma = beta_around(gen, pop.stigma_mean, k, n)  # felt dismissed before
        self.stigma_baseline = self.stigma.copy()
        self.trust = np.clip(pop.initial_trust - pop.initial_trust_stigma * self.stigma + sd * z[0], lo, hi)
        self.self_efficacy = np.clip(
            pop.initial_self_efficacy
            - pop.initial_self_efficacy_catastrophising * self.catastrophising
            - pop.initial_self_efficacy_severity * sev
            + sd * z[1],
            lo,
            hi,
        )
        self.expectation = np.clip(
            pop.initial_expectation - pop.initial_expectation_stigma * self.stigma + sd * z[2], lo, hi
        )
        self.distress = np.clip(
            pop.initial_distress
            + pop.initial_distress_catastrophising * self.catastrophising
            + pop.initial_distress_severity * sev
            + sd * z[3],
            lo,
            hi,
        )
        self.uncertainty = np.clip(
            pop.initial_uncertainty + pop.initial_uncertainty_catastrophising * self.catastrophising + sd * z[4],
            lo,
            hi,
        )
        self.uncertainty_own = self.uncertainty.copy()  # the patient's own level before care (M3 return)
        self.activity = np.clip(
            pop.initial_activity
            - pop.initial_activity_severity * (self.baseline_severity / 30.0)
            + pop.initial_activity_sd * z[5],
            lo,
            hi,
        )
        self.adherence = np.full(n, pop.initial_adherence)  # share of self-management carried out per week (M7)
        self.pacing = np.full(n, pop.initial_pacing)  # skill at pacing activity (M10)

        # --- symptoms and functioning ---
        self.latent = self.baseline_severity.copy()  # underlying severity, PHQ-15 points
        self.flare_load = np.zeros(n)  # symptom excess of recent flares, points
        self.fluctuation = np.zeros(n)  # AR(1) week-to-week fluctuation, points
        self.symptoms = self.baseline_severity.copy()  # S, PHQ-15 0–30
        self.function = np.zeros(n)  # F, 0–100; set to its target at the start of the run
        self.baseline_function = np.zeros(n)
        self.symptoms_fast = self.symptoms.copy()  # recent symptom level (EMA, M11)
        self.symptoms_slow = self.symptoms.copy()  # usual symptom level (EMA, M11)
        self.progress = np.zeros(n)  # perceived progress, -1 .. 1 (M11)
        self.activity_rise = np.zeros(n)  # this week's rise in activity (M10)
        self.in_flare = np.zeros(n, bool)

        # --- engagement and pathway ---
        self.status = np.full(n, NOT_PRESENTED, np.int8)
        self.care_step = np.full(n, GP_LED, np.int8)  # GP_LED, THERAPY or TEAM (M17)
        self.step_contacts = np.zeros(n, np.int32)  # follow-ups at the current stepped-up level (M17 course)
        self.step_completed = np.full(n, GP_LED, np.int8)  # highest level whose course is done, this episode
        self.lead = np.full((n, N_ROLES), -1, np.int32)  # named lead clinician per role (M15)
        self.next_followup_week = np.full(n, NEVER, np.int32)
        self.referral_due_week = np.full(n, NEVER, np.int32)  # pending specialist referral
        self.specialist_visits_left = np.zeros(n, np.int32)
        self.next_specialist_week = np.full(n, NEVER, np.int32)
        self.therapy_sessions_left = np.zeros(n, np.int32)  # brief psychological / physio course (M15)
        self.next_therapy_week = np.full(n, NEVER, np.int32)
        self.psychosocial_offered = np.zeros(n, bool)  # a brief course has been offered (once per patient)
        self.care_start_week = np.full(n, NEVER, np.int32)
        self.step_start_reported = np.zeros(n)  # reported PHQ-15 when the step began (M17)
        self.dismissed_week = np.full(n, NEVER, np.int32)
        self.ever_disengaged = np.zeros(n, bool)
        self.dropout_week = np.full(n, NEVER, np.int32)  # first disengagement
        self.discharge_week = np.full(n, NEVER, np.int32)

        # --- counters ---
        self.visits = np.zeros((n, N_ROLES), np.int32)  # encounters by clinician role
        self.encounters = np.zeros(n, np.int32)
        self.investigations = np.zeros(n, np.int32)
        self.emergency = np.zeros(n, np.int32)
        self.referrals = np.zeros(n, np.int32)
        self.psychosocial_uptakes = np.zeros(n, np.int32)  # brief courses taken up (M15)
        self.ruptures = np.zeros(n, np.int32)
        self.repairs = np.zeros(n, np.int32)
        self.flares = np.zeros(n, np.int32)
        self.dismissals = np.zeros(n, np.int32)
        self.validations = np.zeros(n, np.int32)
        self.contradictions = np.zeros(n, np.int32)
        self.missed_followups = np.zeros(n, np.int32)
        self.waiting_weeks = np.zeros(n, np.int32)  # weeks waiting for a first appointment
        self.cost = np.zeros(n)
        self.adherence_sum = np.zeros(n)  # summed over weeks since presentation
        self.weeks_presented = np.zeros(n, np.int32)
        self.alliance_third = np.full(n, np.nan)  # alliance at the third encounter, 0–1
        self.symptoms_week12 = np.full(n, np.nan)  # PHQ-15 at week 12 (routine outcome monitoring)

        # --- continuity of care (of the patient's own visit history) ---
        self.last_clinician = np.full(n, -1, np.int32)
        self.same_clinician_pairs = np.zeros(n, np.int32)  # consecutive pairs, for SECON
        self.recycled_sumsq = np.zeros(n, np.int64)  # sum n_i^2 of recycled dyads, for COC
        self.recycled_max = np.zeros(n, np.int32)  # largest n_i of recycled dyads, for UPC

        # --- M19 fear-avoidance (drawn last, so the draws above are unchanged) ---
        z_avoid = gen.standard_normal(n)
        # avoidance of symptom-provoking activity, 0–1: fear of symptoms (catastrophising) and severity drive it
        self.avoidance = np.clip(
            pop.initial_avoidance
            + pop.initial_avoidance_catastrophising * self.catastrophising
            + pop.initial_avoidance_severity * sev
            + sd * z_avoid,
            lo,
            hi,
        )
        self.avoidance_own = self.avoidance.copy()  # the patient's own level before care (M19 return)
        self.explanation_received = np.zeros(n)  # clearest explanation had so far, 0–1 (M3 -> M15 uptake)

        # --- M19 functioning set by what the model leaves out (drawn after avoidance: draws above unchanged) ---
        self.function_offset = pop.function_offset_sd * gen.standard_normal(n)  # log-odds of F, constant


def apply_campaign(p: PatientState, service: ServiceParams) -> None:
    """An anti-stigma campaign shortens help-seeking delay and lowers felt stigma.

    Applied after the cohort is drawn, so arms with and without a campaign keep
    the same patients and draws (common random numbers).
    """
    if service.campaign_delay_reduction > 0:
        delay = np.floor(p.help_seeking_delay_weeks * (1.0 - service.campaign_delay_reduction)).astype(np.int32)
        p.help_seeking_delay_weeks = delay
        p.presentation_week = p.arrival_week + delay
    if service.campaign_stigma_reduction > 0:
        p.stigma = p.stigma * (1.0 - service.campaign_stigma_reduction)
        p.stigma_baseline = p.stigma.copy()


class DyadState:
    """Alliance of each patient with each clinician seen, in a few slots per patient.

    A patient sees few clinicians, so dyads live in ``(patients, slots)``
    arrays; when all slots are taken the least recently seen is recycled.
    """

    def __init__(self, n_patients: int, slots: int) -> None:
        shape = (n_patients, slots)
        self.clinician = np.full(shape, -1, np.int32)  # -1: empty slot
        self.bond = np.zeros(shape)
        self.goals = np.zeros(shape)
        self.tasks = np.zeros(shape)
        self.encounters = np.zeros(shape, np.int32)
        self.last_week = np.full(shape, NEVER, np.int32)
        self.rupture_week = np.full(shape, NEVER, np.int32)  # week an open rupture began
        self.bond_before_rupture = np.zeros(shape)  # a repair restores this and more (M12)
        self.current = np.full(n_patients, -1, np.int32)  # slot of the latest encounter (set_current)
        self._flat: np.ndarray | None = None

    def alliance_at(self, patient: np.ndarray, slot: np.ndarray) -> np.ndarray:
        """Alliance (mean of bond, goals, tasks after Bordin, 0–1) of given dyads."""
        return (self.bond[patient, slot] + self.goals[patient, slot] + self.tasks[patient, slot]) / 3.0

    def set_current(self, patient: np.ndarray, slot: np.ndarray) -> None:
        """Record the slot of each patient's latest encounter."""
        self.current[patient] = slot
        self._flat = None

    def forget_current(self, patient: np.ndarray) -> None:
        """Patients who start again elsewhere have no latest clinician (M13)."""
        self.current[patient] = -1
        self._flat = None

    def flat(self, patient: np.ndarray, slot: np.ndarray) -> np.ndarray:
        """Positions of dyads in the raveled (patient x slot) arrays.

        Gathering and scattering through ``values.ravel()[flat]`` is several times
        faster than 2-D fancy indexing; the arrays are C-contiguous, so ``ravel()``
        is a view and writes reach the state.
        """
        return patient * self.clinician.shape[1] + slot

    def _current_flat(self) -> np.ndarray:
        # Flat positions of the latest dyads, computed once per change of ``current``.
        if self._flat is None:
            self._flat = self.flat(np.arange(self.current.size), np.maximum(self.current, 0))
        return self._flat

    def current_values(self, values: np.ndarray) -> np.ndarray:
        """Per patient, ``values`` in the slot of the latest encounter (0 if none)."""
        return np.where(self.current >= 0, values.ravel()[self._current_flat()], 0.0)

    def current_alliance(self) -> np.ndarray:
        """Per patient, alliance with the clinician of the latest encounter (0 if none)."""
        flat = self._current_flat()
        total = self.bond.ravel()[flat] + self.goals.ravel()[flat] + self.tasks.ravel()[flat]
        return np.where(self.current >= 0, total / 3.0, 0.0)

    def current_rupture_open(self) -> np.ndarray:
        """Per patient, the dyad of the latest encounter has an open rupture."""
        return (self.current >= 0) & (self.rupture_week.ravel()[self._current_flat()] != NEVER)


class ClinicianState:
    """Traits and state of every clinician, one array element each.

    Args:
        workforce: Head counts, capacity and trait means by role.
        n_patients: Patients served (head counts are per 1,000 of them).
        cultural_groups: Names of the cultural groups.
        streams: The run's random streams (``workforce`` is used).
        service: The care model, for clinician training shifts.
    """

    def __init__(
        self,
        workforce: WorkforceParams,
        n_patients: float,
        cultural_groups: list[str],
        streams: Streams,
        service: ServiceParams,
    ) -> None:
        gen = streams.get(Stream.WORKFORCE)
        k = workforce.trait_concentration
        roles, traits = [], {t: [] for t in CLINICIAN_TRAITS}
        capacity = []
        for r, role in enumerate(ROLES):
            group = workforce.group(role)
            n_role = round(group.per_1000_patients * n_patients / 1000.0)
            if group.per_1000_patients > 0:
                n_role = max(n_role, 1)
            roles.append(np.full(n_role, r, np.int8))
            capacity.append(np.full(n_role, group.capacity_per_week, np.int32))
            for t in CLINICIAN_TRAITS:
                traits[t].append(beta_around(gen, getattr(group, t), k, n_role))
        self.role = np.concatenate(roles)
        self.n = self.role.size
        self.capacity = np.concatenate(capacity)  # slots per week
        # Training is added after the draws, so arms that differ in training
        # still share the same clinicians (common random numbers).
        shifts = {
            "warmth": service.training_warmth,
            "validation": service.training_validation,
            "clarity": service.training_clarity,
            "cultural_humility": service.training_humility,
        }
        for t in CLINICIAN_TRAITS:
            value = np.concatenate(traits[t]) + shifts.get(t, 0.0)
            setattr(self, t, np.clip(value, 0.0, 1.0))
        group_draw = _categorical(gen, workforce.cultural_group_shares, self.n)
        names = [cultural_groups.index(g) for g in workforce.cultural_group_shares]
        self.cultural_group = np.array(names, dtype=np.int8)[group_draw]
        self.caseload = np.zeros(self.n, np.int32)  # in-care patients they lead (counted by the Mesa model)
        self.by_role = [np.flatnonzero(self.role == r) for r in range(N_ROLES)]
        # The same lists end to end, for routing every request of a week at once: role r's members are
        # role_members[role_start[r]:][:role_count[r]]; the last entry, -1, stands for "no clinician".
        self.role_count = np.array([members.size for members in self.by_role])
        self.role_start = np.cumsum(self.role_count) - self.role_count
        self.role_members = np.concatenate([*self.by_role, [-1]])

    warmth: np.ndarray
    validation: np.ndarray
    clarity: np.ndarray
    cultural_humility: np.ndarray
    biopsychosocial: np.ndarray
    reflective_practice: np.ndarray
    pacing_advice: np.ndarray
    repair_skill: np.ndarray


CLINICIAN_TRAITS: tuple[str, ...] = (
    "warmth",
    "validation",
    "clarity",
    "cultural_humility",
    "biopsychosocial",
    "reflective_practice",
    "pacing_advice",
    "repair_skill",
)
