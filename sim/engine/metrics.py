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
    times in a week. Each total is an array with one value per block of
    patients: one block for a care system, one per replicate for a stack of
    replicates (``sim.engine.stack``), whose patients are laid out block after block.
    """

    def __init__(self, p: PatientState, blocks: int = 1) -> None:
        self.blocks = blocks
        self.previous = self.current(p)
        self._last_read: tuple[int, dict[str, np.ndarray]] = (0, self.previous)  # (week, totals) of the last read

    def start_week(self, p: PatientState, week: int) -> None:
        """Remember the totals so far: the events of ``week`` are counted from here."""
        read_week, totals = self._last_read
        # Totals read in the previous week, after its step, are still the totals now (nothing counts
        # events between steps): reuse them rather than summing every counter again.
        self.previous = totals if read_week == week - 1 else self.current(p)

    def current(self, p: PatientState) -> dict[str, np.ndarray]:
        """Cumulative totals of every event counter, per block (a block's row sums are its own sums, bit for bit)."""
        blocks = self.blocks
        totals = {name: getattr(p, name).reshape(blocks, -1).sum(axis=1).astype(float) for name in _COUNTERS}
        # Column by column: summing an (n, roles) array over the patients is four times slower.
        visits = p.visits.reshape(blocks, -1, N_ROLES)
        totals.update({f"visits_{r}": visits[:, :, i].sum(axis=1).astype(float) for i, r in enumerate(ROLES)})
        totals["cost"] = p.cost.reshape(blocks, -1).sum(axis=1)
        return totals

    def increments(self, p: PatientState, week: int) -> dict[str, np.ndarray]:
        """Events since the start of ``week`` (the current week), per block."""
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
    to the first session with a psychologist or physiotherapist. Tallied per
    block of patients and clinicians, as :class:`WeeklyTotals`.
    """

    def __init__(self, p: PatientState, c: ClinicianState, blocks: int = 1) -> None:
        self.blocks = blocks
        self._per_block = max(p.n // blocks, 1)
        roles = c.role + N_ROLES * (np.arange(c.n) // max(c.n // blocks, 1))
        self.offered = np.bincount(roles, weights=c.capacity, minlength=blocks * N_ROLES).astype(np.int64)
        self.offered = self.offered.reshape(blocks, N_ROLES)
        self.used = np.zeros((blocks, N_ROLES), np.int64)
        self.unmet = np.zeros((blocks, N_ROLES), np.int64)
        self.first_waits = [np.zeros(0, np.int64)] * blocks
        self.therapy_waits = [np.zeros(0, np.int64)] * blocks
        self.therapy_since = np.full(p.n, NEVER, np.int32)  # week therapy was decided, while waiting for it
        self._uptakes = p.psychosocial_uptakes.copy()
        self._step = p.care_step.copy()

    def _by_block(self, patient: np.ndarray, values: np.ndarray) -> list[np.ndarray]:
        # ``values`` split by the block of ``patient`` (sorted, as the week's requests and encounters are).
        return np.split(values, np.searchsorted(patient, np.arange(1, self.blocks) * self._per_block))

    def _count(self, patient: np.ndarray, role: np.ndarray) -> np.ndarray:
        block = patient // self._per_block
        return np.bincount(block * N_ROLES + role, minlength=self.blocks * N_ROLES).reshape(self.blocks, N_ROLES)

    def book(self, req: Requests, accepted: np.ndarray, enc: Encounters, p: PatientState, week: int) -> None:
        """Count the week's slots used and requests turned away by role, and the waits this week's encounters end."""
        self.used = self._count(enc.patient, enc.role)
        self.unmet = self._count(req.patient[~accepted], req.role[~accepted])
        # The list is joined in the week of presenting, or in week 1 (the first step) by those due before it.
        intake = enc.patient[enc.kind == INTAKE]
        joined = np.maximum(p.presentation_week[intake], 1).astype(np.int64)
        self.first_waits = self._by_block(intake, week - joined)
        therapy = enc.patient[(enc.role == PSYCHOLOGIST) | (enc.role == PHYSIOTHERAPIST)]
        started = therapy[self.therapy_since[therapy] != NEVER]
        self.therapy_waits = self._by_block(started, week - self.therapy_since[started].astype(np.int64))
        self.therapy_since[started] = NEVER

    def track_therapy(self, p: PatientState, week: int) -> None:
        """After the week's pathway: who now waits for therapy, and who stopped waiting by leaving care."""
        decided = (p.psychosocial_uptakes != self._uptakes) | ((p.care_step == THERAPY) & (self._step == GP_LED))
        self.therapy_since[decided & (self.therapy_since == NEVER)] = week
        self.therapy_since[p.status != IN_CARE] = NEVER
        self._uptakes[:] = p.psychosocial_uptakes
        self._step[:] = p.care_step

    def summary(self, p: PatientState, week: int) -> list[dict[str, float]]:
        """The week's capacity columns (``CAPACITY_COLUMNS``), one dict per block."""
        blocks = self.blocks
        in_care = p.status == IN_CARE
        overdue = (p.specialist_visits_left > 0) & (p.next_specialist_week <= week)
        specialist = (in_care & ((p.referral_due_week != NEVER) | overdue)).reshape(blocks, -1).sum(axis=1)
        therapy = (self.therapy_since != NEVER).reshape(blocks, -1).sum(axis=1)
        summaries = []
        for b in range(blocks):
            offered, used, unmet = self.offered[b], self.used[b], self.unmet[b]
            out: dict[str, float] = {}
            for i, r in enumerate(ROLES):
                out[f"slots_offered_{r}"] = int(offered[i])
                out[f"slots_used_{r}"] = int(used[i])
                out[f"unmet_{r}"] = int(unmet[i])
            for i, r in enumerate(ROLES):
                out[f"utilisation_{r}"] = float(used[i] / offered[i]) if offered[i] else float("nan")
            out["waiting_specialist"] = int(specialist[b])
            out["waiting_therapy"] = int(therapy[b])
            for name, waits, count in (
                ("first", self.first_waits[b], "first_appointments"),
                ("therapy", self.therapy_waits[b], "therapy_starts"),
            ):
                out[count] = int(waits.size)
                out[f"wait_{name}_weeks_mean"] = float(waits.mean()) if waits.size else float("nan")
                out[f"wait_{name}_weeks_median"] = _median(waits)
            summaries.append(out)
        return summaries


def _median(weeks: np.ndarray) -> float:
    # np.median of whole weeks (NaN if none), without its general machinery (a tenth of the time on a few values).
    if not weeks.size:
        return float("nan")
    ordered, middle = np.sort(weeks), weeks.size // 2
    return float(ordered[middle]) if weeks.size % 2 else (int(ordered[middle - 1]) + int(ordered[middle])) / 2


def _mean_sd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Mean and SD of each row of x (blocks x values): the arithmetic of ``x.mean()`` and ``x.std()`` of
    # each row, bit for bit (a row's sum is the sum of that row alone), without their Python overhead.
    if x.shape[1] == 0:
        return np.full(x.shape[0], np.nan), np.full(x.shape[0], np.nan)
    mean = np.add.reduce(x, axis=1) / x.shape[1]
    dev = x - mean[:, None]
    return mean, np.sqrt(np.add.reduce(dev * dev, axis=1) / x.shape[1])


def weekly_summary(model: CareSystem, alliance: np.ndarray | None = None) -> dict[str, float]:
    """Aggregates of one week over the patients who have arrived (``alliance``: current, if computed).

    Reads the model and changes nothing: a second call in the same week gives the same numbers.
    """
    return weekly_summaries(model, alliance)[0]


def weekly_summaries(model: CareSystem, alliance: np.ndarray | None = None, blocks: int = 1) -> list[dict[str, float]]:
    """:func:`weekly_summary` of each block of patients (the replicates of a stack, ``sim.engine.stack``).

    ``model.totals``, ``model.capacity`` and ``model.unmet_requests`` hold one
    value per block; the patients of each block are the same number, one block after another.
    """
    p, d = model.patients, model.dyads
    idx = model.population_index()
    status = p.status[idx].reshape(blocks, -1)
    out: list[dict[str, float]] = [{"week": model.week, "n_patients": int(status.shape[1])} for _ in range(blocks)]
    for name in ("function", "symptoms", "trust", "adherence"):
        mean, sd = _mean_sd(getattr(p, name)[idx].reshape(blocks, -1))
        for b, summary in enumerate(out):
            summary[f"{name}_mean"] = float(mean[b])
            if f"{name}_sd" in WEEKLY_COLUMNS:
                summary[f"{name}_sd"] = float(sd[b])
    seen = (d.current[idx] >= 0).reshape(blocks, -1)
    alliance = (d.current_alliance() if alliance is None else alliance)[idx].reshape(blocks, -1)
    counts = np.bincount(
        (status + len(STATUSES) * np.arange(blocks)[:, None]).ravel(), minlength=blocks * len(STATUSES)
    )
    counts = counts.reshape(blocks, len(STATUSES))
    inc = model.totals.increments(p, model.week)
    unmet = np.broadcast_to(model.unmet_requests, blocks)
    capacity = model.capacity.summary(p, model.week)
    for b, summary in enumerate(out):
        summary["wsas_mean"] = float(wsas(summary["function_mean"]))
        # Only those seen have an alliance: a different number in each block, so one block at a time.
        mean, sd = _mean_sd(alliance[b][seen[b]][None, :])
        summary["alliance_mean"], summary["alliance_sd"] = float(mean[0]), float(sd[0])
        summary["wai_mean"] = float(wai(summary["alliance_mean"]))
        summary.update({f"n_{s}": int(counts[b, i]) for i, s in enumerate(STATUSES)})
        summary.update({name: float(values[b]) for name, values in inc.items()})
        summary["visits"] = sum(summary[f"visits_{r}"] for r in ROLES)
        summary["unmet_requests"] = int(unmet[b])
        summary.update(capacity[b])
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
