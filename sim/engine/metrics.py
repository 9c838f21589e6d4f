"""What a run reports: weekly aggregates, the per-patient table, continuity indices.

Columns are documented, with units, in ``docs/outputs.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..core.encounters import INTAKE, Encounters, Requests
from ..core.params import CONDITIONS, ROLES, STATUSES
from ..core.state import (
    GP_LED,
    IN_CARE,
    N_ROLES,
    NEVER,
    PHYSIOTHERAPIST,
    PSYCHOLOGIST,
    THERAPY,
    ClinicianState,
    DyadState,
    PatientState,
)

if TYPE_CHECKING:
    from .system import CareSystem

FLOOR_TOLERANCE = 1e-9  # PHQ-15 points: latent severity this far below the floor is rounding, not a breach
IMPROVEMENT_POINTS = 3.0  # PHQ-15 change that is clinically meaningful (Kroenke et al. 2002)
WEEKS_PER_YEAR = 52  # "first year": weeks 1-52 after a patient enters the cohort (week 0 for a closed one)

_COUNTERS = ("investigations", "emergency", "flares", "ruptures", "repairs", "referrals")

WEEKLY_COLUMNS: tuple[str, ...] = (
    "week",
    "n_patients",
    "function_mean",
    "function_sd",
    "wsas_mean",
    "symptoms_mean",
    "symptoms_sd",
    "alliance_mean",
    "alliance_sd",
    "wai_mean",
    "trust_mean",
    "trust_sd",
    "adherence_mean",
    "adherence_sd",
    *(f"n_{s}" for s in STATUSES),
    "visits",
    *(f"visits_{r}" for r in ROLES),
    *_COUNTERS,
    "unmet_requests",
    "cost",
)

CAPACITY_COLUMNS: tuple[str, ...] = (
    *(f"slots_offered_{r}" for r in ROLES),
    *(f"slots_used_{r}" for r in ROLES),
    *(f"unmet_{r}" for r in ROLES),
    *(f"utilisation_{r}" for r in ROLES),
    "waiting_specialist",
    "waiting_therapy",
    "first_appointments",
    "wait_first_weeks_mean",
    "wait_first_weeks_median",
    "therapy_starts",
    "wait_therapy_weeks_mean",
    "wait_therapy_weeks_median",
)
"""Capacity and waits (M18), per role and week: observed, never fed back into the model."""

WEEKLY_COLUMNS = (*WEEKLY_COLUMNS, *CAPACITY_COLUMNS)


def wsas(function: np.ndarray | float) -> np.ndarray | float:
    """Work and Social Adjustment Scale (0–40, higher worse) equivalent of functioning F (0–100).

    Linear: F = 100 is WSAS 0, F = 0 is WSAS 40 (so WSAS > 20, moderately
    severe impairment, is F < 50).
    """
    return 40.0 * (1.0 - np.asarray(function) / 100.0)


def wai(alliance: np.ndarray | float) -> np.ndarray | float:
    """WAI-SR item mean (1–5) equivalent of an alliance level in [0, 1]."""
    return 1.0 + 4.0 * np.asarray(alliance)


class WeeklyTotals:
    """Totals of the event counters at the start of the week, so each week reports its own events.

    The model calls :meth:`start_week` at the start of every step; reading the
    week's increments changes nothing, so a summary can be taken any number of
    times in a week.
    """

    def __init__(self, p: PatientState) -> None:
        self.previous = self.current(p)
        self._last_read: tuple[int, dict[str, float]] = (0, self.previous)  # (week, totals) of the last read

    def start_week(self, p: PatientState, week: int) -> None:
        """Remember the totals so far: the events of ``week`` are counted from here."""
        read_week, totals = self._last_read
        # Totals read in the previous week, after its step, are still the totals now (nothing counts
        # events between steps): reuse them rather than summing every counter again.
        self.previous = totals if read_week == week - 1 else self.current(p)

    @staticmethod
    def current(p: PatientState) -> dict[str, float]:
        """Cumulative totals of every event counter."""
        totals = {name: float(getattr(p, name).sum()) for name in _COUNTERS}
        # Column by column: summing an (n, roles) array over axis 0 is four times slower.
        totals.update({f"visits_{r}": float(p.visits[:, i].sum()) for i, r in enumerate(ROLES)})
        totals["cost"] = float(p.cost.sum())
        return totals

    def increments(self, p: PatientState, week: int) -> dict[str, float]:
        """Events since the start of ``week`` (the current week)."""
        now = self.current(p)
        self._last_read = (week, now)
        return {k: now[k] - self.previous[k] for k in now}


class CapacityTally:
    """Each role's slots and the waits they end, as this week's aggregates (no per-patient rows).

    Observational only: it reads the week's requests, encounters and schedules
    and changes no state the model uses. A wait to a first appointment runs
    from joining the waiting list (presenting, or presenting again elsewhere
    after disengaging) to the intake encounter; a wait to therapy from taking
    up a brief course (M15) or stepping up from GP-led care to therapy (M17)
    to the first session with a psychologist or physiotherapist.
    """

    def __init__(self, p: PatientState, c: ClinicianState) -> None:
        self.offered = np.bincount(c.role, weights=c.capacity, minlength=N_ROLES).astype(np.int64)
        self.used = np.zeros(N_ROLES, np.int64)
        self.unmet = np.zeros(N_ROLES, np.int64)
        self.first_waits = np.zeros(0, np.int64)
        self.therapy_waits = np.zeros(0, np.int64)
        self.therapy_since = np.full(p.n, NEVER, np.int32)  # week therapy was decided, while waiting for it
        self._uptakes = p.psychosocial_uptakes.copy()
        self._step = p.care_step.copy()

    def book(self, req: Requests, accepted: np.ndarray, enc: Encounters, p: PatientState, week: int) -> None:
        """Count the week's slots used and requests turned away by role, and the waits this week's encounters end."""
        self.used = np.bincount(enc.role, minlength=N_ROLES)
        self.unmet = np.bincount(req.role[~accepted], minlength=N_ROLES)
        # The list is joined in the week of presenting, or in week 1 (the first step) by those due before it.
        joined = np.maximum(p.presentation_week[enc.patient[enc.kind == INTAKE]], 1).astype(np.int64)
        self.first_waits = week - joined
        therapy = enc.patient[(enc.role == PSYCHOLOGIST) | (enc.role == PHYSIOTHERAPIST)]
        started = therapy[self.therapy_since[therapy] != NEVER]
        self.therapy_waits = week - self.therapy_since[started].astype(np.int64)
        self.therapy_since[started] = NEVER

    def track_therapy(self, p: PatientState, week: int) -> None:
        """After the week's pathway: who now waits for therapy, and who stopped waiting by leaving care."""
        decided = (p.psychosocial_uptakes != self._uptakes) | ((p.care_step == THERAPY) & (self._step == GP_LED))
        self.therapy_since[decided & (self.therapy_since == NEVER)] = week
        self.therapy_since[p.status != IN_CARE] = NEVER
        self._uptakes[:] = p.psychosocial_uptakes
        self._step[:] = p.care_step

    def summary(self, p: PatientState, week: int) -> dict[str, float]:
        """The week's capacity columns (``CAPACITY_COLUMNS``)."""
        out: dict[str, float] = {}
        for i, r in enumerate(ROLES):
            out[f"slots_offered_{r}"] = int(self.offered[i])
            out[f"slots_used_{r}"] = int(self.used[i])
            out[f"unmet_{r}"] = int(self.unmet[i])
        for i, r in enumerate(ROLES):
            out[f"utilisation_{r}"] = float(self.used[i] / self.offered[i]) if self.offered[i] else float("nan")
        in_care = p.status == IN_CARE
        overdue = (p.specialist_visits_left > 0) & (p.next_specialist_week <= week)
        out["waiting_specialist"] = int((in_care & ((p.referral_due_week != NEVER) | overdue)).sum())
        out["waiting_therapy"] = int((self.therapy_since != NEVER).sum())
        for name, waits, count in (
            ("first", self.first_waits, "first_appointments"),
            ("therapy", self.therapy_waits, "therapy_starts"),
        ):
            out[count] = int(waits.size)
            out[f"wait_{name}_weeks_mean"] = float(waits.mean()) if waits.size else float("nan")
            out[f"wait_{name}_weeks_median"] = float(np.median(waits)) if waits.size else float("nan")
        return out


def _mean_sd(x: np.ndarray) -> tuple[float, float]:
    if x.size == 0:
        return float("nan"), float("nan")
    # The arithmetic of ``x.mean()`` and ``x.std()``, bit for bit, without their Python overhead.
    mean = np.add.reduce(x) / x.size
    dev = x - mean
    return float(mean), float(np.sqrt(np.add.reduce(dev * dev) / x.size))


def weekly_summary(model: CareSystem, alliance: np.ndarray | None = None) -> dict[str, float]:
    """Aggregates of one week over the patients who have arrived (``alliance``: current, if computed).

    Reads the model and changes nothing: a second call in the same week gives the same numbers.
    """
    p, d = model.patients, model.dyads
    idx = model.population_index()
    status = p.status[idx]
    out: dict[str, float] = {"week": model.week, "n_patients": int(status.size)}
    for name in ("function", "symptoms", "trust", "adherence"):
        out[f"{name}_mean"], sd = _mean_sd(getattr(p, name)[idx])
        if f"{name}_sd" in WEEKLY_COLUMNS:
            out[f"{name}_sd"] = sd
    out["wsas_mean"] = float(wsas(out["function_mean"]))
    seen = d.current[idx] >= 0
    alliance = (d.current_alliance() if alliance is None else alliance)[idx][seen]
    out["alliance_mean"], out["alliance_sd"] = _mean_sd(alliance)
    out["wai_mean"] = float(wai(out["alliance_mean"]))
    counts = np.bincount(status, minlength=len(STATUSES))
    out.update({f"n_{s}": int(counts[i]) for i, s in enumerate(STATUSES)})
    inc = model.totals.increments(p, model.week)
    out.update(inc)
    out["visits"] = sum(inc[f"visits_{r}"] for r in ROLES)
    out["unmet_requests"] = model.unmet_requests
    out.update(model.capacity.summary(p, model.week))
    return out


def trajectory_snapshot(model: CareSystem, first: int | None = None) -> dict[str, np.ndarray]:
    """This week's state of every arrived patient (or the ``first`` few), one array per column.

    Columns, not a frame: a run records one snapshot a week, and building a
    frame costs more than the snapshot itself; :func:`trajectory_table` joins them once.
    """
    p, d = model.patients, model.dyads
    idx = np.arange(p.n)[model.population_index()][:first]
    alliance = np.where(d.current >= 0, d.current_alliance(), np.nan)
    return {
        "week": np.full(idx.size, model.week, np.int32),
        "patient_id": idx,
        "status": np.array(STATUSES, dtype=object)[p.status[idx]],
        "symptoms": p.symptoms[idx],
        "function": p.function[idx],
        "alliance": alliance[idx],
        "trust": p.trust[idx],
        "adherence": p.adherence[idx],
        "in_flare": p.in_flare[idx],
    }


def trajectory_table(snapshots: list[dict[str, np.ndarray]]) -> pd.DataFrame:
    """Weekly snapshots as one frame: one row per patient x week, weeks in order."""
    return pd.DataFrame({name: np.concatenate([s[name] for s in snapshots]) for name in snapshots[0]})


def continuity_indices(p: PatientState, d: DyadState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Continuity of each patient's own visit history: Bice–Boxerman COC, UPC, SECON.

    With N visits and n_i to provider i: COC = (sum n_i^2 - N) / (N (N - 1)),
    UPC = max n_i / N, SECON = share of consecutive visit pairs with the same
    provider. COC and SECON need N >= 2, UPC N >= 1; otherwise NaN. Providers
    whose dyad slot was recycled are counted from the totals kept at recycling.
    """
    n_i = np.where(d.clinician >= 0, d.encounters, 0).astype(np.int64)
    total = p.encounters.astype(float)
    sumsq = (n_i**2).sum(axis=1) + p.recycled_sumsq
    largest = np.maximum(n_i.max(axis=1), p.recycled_max)
    with np.errstate(invalid="ignore", divide="ignore"):
        coc = np.where(total >= 2, (sumsq - total) / (total * (total - 1)), np.nan)
        upc = np.where(total >= 1, largest / total, np.nan)
        secon = np.where(total >= 2, p.same_clinician_pairs / (total - 1), np.nan)
    return coc, upc, secon


def patient_table(model: CareSystem) -> pd.DataFrame:
    """One row per patient: traits, outcomes, alliance, use of services, continuity, cost."""
    p, d = model.patients, model.dyads
    seen = d.current >= 0
    coc, upc, secon = continuity_indices(p, d)
    s0, s1 = p.baseline_severity, p.symptoms
    f0, f1 = p.baseline_function, p.function
    groups = np.array(model.cultural_groups, dtype=object)
    roles = np.array(ROLES, dtype=object)
    table = {
        "patient_id": np.arange(p.n),
        "arrival_week": p.arrival_week,
        "condition": np.array(CONDITIONS, dtype=object)[p.condition],
        "cultural_group": groups[p.cultural_group],
        "attachment_security": p.attachment_security,
        "stress_reactivity": p.stress_reactivity,
        "catastrophising": p.catastrophising,
        "health_literacy": p.health_literacy,
        "stigma_baseline": p.stigma_baseline,
        "help_seeking_delay_weeks": p.help_seeking_delay_weeks,
        "therapy_role": roles[p.therapy_role],
        "symptoms_baseline": s0,
        "symptoms_final": s1,
        "symptoms_change": s1 - s0,
        "function_baseline": f0,
        "function_final": f1,
        "function_change": f1 - f0,
        "wsas_baseline": wsas(f0),
        "wsas_final": wsas(f1),
        "symptoms_week12": p.symptoms_week12,
        "below_floor": p.latent < model.mechanisms.symptom_floor_share * s0 - FLOOR_TOLERANCE,
        "improved": (s0 - s1) >= IMPROVEMENT_POINTS,
        "deteriorated": (s1 - s0) >= IMPROVEMENT_POINTS,
        "alliance_third": p.alliance_third,
        "wai_third": wai(p.alliance_third),
        "alliance_final": np.where(seen, d.current_alliance(), np.nan),
        "trust_final": p.trust,
        "adherence_mean": np.divide(
            p.adherence_sum, p.weeks_presented, out=np.full(p.n, np.nan), where=p.weeks_presented > 0
        ),
        "status_final": np.array(STATUSES, dtype=object)[p.status],
        # The two dropout figures, named apart (issue 14): a local "our dropout is 30 %" is one or the other.
        "disengaged_ever": p.ever_disengaged,
        "disengaged_first_year": (p.dropout_week >= 0) & (p.dropout_week - p.arrival_week <= WEEKS_PER_YEAR),
        "disengaged_week": np.where(p.dropout_week >= 0, p.dropout_week, np.nan),
        "ruptures": p.ruptures,
        "repairs": p.repairs,
        "flares": p.flares,
        "dismissals": p.dismissals,
        "validations": p.validations,
        "contradictions": p.contradictions,
        "missed_followups": p.missed_followups,
        **{f"visits_{r}": p.visits[:, i] for i, r in enumerate(ROLES)},
        "visits_total": p.encounters,
        "investigations": p.investigations,
        "emergency": p.emergency,
        "referrals": p.referrals,
        "psychosocial_uptakes": p.psychosocial_uptakes,
        "coc": coc,
        "upc": upc,
        "secon": secon,
        "waiting_weeks": p.waiting_weeks,
        "cost": p.cost,
    }
    frame = pd.DataFrame(table)
    if model.population.cohort == "open":
        frame = frame[frame["arrival_week"] >= model.population.warmup_weeks].reset_index(drop=True)
    return frame
