"""The dyads on screen: a sample of patients, the clinicians they see, and their alliances week by week.

The engine keeps each patient's alliances in :class:`~sim.core.state.DyadState`
slots and counts events per patient, not per week. :class:`DyadSample` reads
both before and after every step for a sample of patients, so the dashboard
can draw who sees whom (link width = alliance, red = open rupture, green =
repaired lately) and one patient's bond, goals and tasks over time with the
week's encounters, validations, dismissals, ruptures and repairs. It only
reads the engine's state.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.state import GP, NEVER
from ..engine.model import CareModel

REPAIR_SHOWN_WEEKS = 4  # a repaired link stays green this many weeks, long enough to be noticed
# Link states in :meth:`DyadSample.links`.
STEADY, RUPTURED, REPAIRED = range(3)
EVENTS = {  # a sampled patient's weekly events, and how the page words them
    "encounter": "encounter",
    "new_clinician": "new clinician",
    "validated": "validated",
    "dismissed": "dismissed",
    "rupture": "rupture",
    "repair": "repair",
    "flare": "flare",
    "emergency": "emergency visit",
}
_COUNTER_OF = {  # event -> the patient counter whose rise marks it
    "encounter": "encounters",
    "validated": "validations",
    "dismissed": "dismissals",
    "rupture": "ruptures",
    "repair": "repairs",
    "flare": "flares",
    "emergency": "emergency",
}


class Links(NamedTuple):
    """The sample's dyads at one moment, one element each."""

    row: np.ndarray  # the patient's row in the sample
    clinician: np.ndarray
    alliance: np.ndarray  # mean of bond, goals and tasks, 0–1
    state: np.ndarray  # STEADY, RUPTURED or REPAIRED
    weeks_since_seen: np.ndarray  # weeks since the dyad's latest encounter


class DyadSample:
    """Week-by-week alliances and events of a sample of patients in one arm.

    Args:
        model: The arm's care model (read only).
        patients: Indices of the sampled patients.

    Attributes:
        history: Per quantity, one array per recorded week (week 0 first) over
            the sampled patients: ``bond``, ``goals``, ``tasks`` of the dyad of
            the latest encounter (NaN before any), ``function`` (0–100), and
            each of :data:`EVENTS` as booleans.
    """

    def __init__(self, model: CareModel, patients: np.ndarray) -> None:
        self.model = model
        self.patients = np.asarray(patients)
        slots = model.dyads.clinician.shape[1]
        self.repair_week = np.full((self.patients.size, slots), NEVER, np.int32)
        self.history: dict[str, list[np.ndarray]] = {k: [] for k in ("bond", "goals", "tasks", "function", *EVENTS)}
        self._before: dict[str, np.ndarray] = {}
        self._record(dict.fromkeys(EVENTS, np.zeros(self.patients.size, bool)))

    def before_step(self) -> None:
        """Remember the sample's counters and dyads, to tell this week's events after the step."""
        p, d, i = self.model.patients, self.model.dyads, self.patients
        self._before = {counter: getattr(p, counter)[i].copy() for counter in _COUNTER_OF.values()}
        self._before["clinician"] = d.clinician[i].copy()
        self._before["rupture_week"] = d.rupture_week[i].copy()

    def after_step(self) -> None:
        """Record this week's alliances and events of the sample."""
        p, d, i, before = self.model.patients, self.model.dyads, self.patients, self._before
        risen = {event: getattr(p, counter)[i] > before[counter] for event, counter in _COUNTER_OF.items()}
        current = d.current[i]
        slot = np.maximum(current, 0)
        first_meeting = d.encounters[i, slot] == 1
        risen["new_clinician"] = (
            risen["encounter"] & (current >= 0) & first_meeting & (d.last_week[i, slot] == self.model.week)
        )
        # A rupture that closed this week in a dyad that kept its clinician was
        # repaired or lapsed. Before the lapse age it can only be a repair; at
        # that age it counts as repaired if the patient's repairs rose.
        closed = (
            (before["rupture_week"] != NEVER) & (d.rupture_week[i] == NEVER) & (before["clinician"] == d.clinician[i])
        )
        young = self.model.week - before["rupture_week"] < self.model.mechanisms.rupture_unrepaired_weeks
        repaired = closed & (young | risen["repair"][:, None])
        self.repair_week[repaired] = self.model.week
        self.repair_week[before["clinician"] != d.clinician[i]] = NEVER  # slot recycled for a new clinician
        self._record(risen)

    def _record(self, events: dict[str, np.ndarray]) -> None:
        p, d, i = self.model.patients, self.model.dyads, self.patients
        current = d.current[i]
        slot = np.maximum(current, 0)
        for part in ("bond", "goals", "tasks"):
            self.history[part].append(np.where(current >= 0, getattr(d, part)[i, slot], np.nan))
        self.history["function"].append(p.function[i].copy())
        for event in EVENTS:
            self.history[event].append(np.asarray(events[event], bool).copy())

    def series(self, name: str, row: int) -> np.ndarray:
        """One quantity of one sampled patient (by row in the sample), week 0 onwards."""
        return np.array([week[row] for week in self.history[name]])

    def links(self) -> Links:
        """The sample's dyads now."""
        d, i, week = self.model.dyads, self.patients, self.model.week
        clinician = d.clinician[i]
        rows, slots = np.nonzero(clinician >= 0)
        patient = i[rows]
        alliance = d.alliance_at(patient, slots)
        state = np.full(rows.size, STEADY, np.int8)
        recent = self.repair_week[rows, slots]
        state[(recent != NEVER) & (week - recent < REPAIR_SHOWN_WEEKS)] = REPAIRED
        state[d.rupture_week[patient, slots] != NEVER] = RUPTURED
        return Links(rows, clinician[rows, slots], alliance, state, week - d.last_week[patient, slots])


GP_RING, MIDDLE_RING = 0.62, 0.3  # radii (patients at 1): GPs near their patients, other clinicians in the middle


def layout(model: CareModel, patients: np.ndarray, team_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed positions: sampled patients on the outer circle, GPs near them, other clinicians in the middle.

    Patients are grouped by GP practice around the circle, and each practice's
    GPs fan out just inside its patients' arc, so a patient's links to their
    GPs are short spokes, while links to specialists and therapists (who serve
    every practice) cross to the middle. Both arms share patients and
    clinicians, so one layout serves both and nothing jumps between weeks.

    Returns:
        (x, y) of each sampled patient, and of each clinician (rows of ``(n, 2)`` arrays).
    """
    c = model.clinicians
    gps = c.by_role[GP]
    n_practices = max(gps.size // team_size, 1)  # as pathways.route forms teams
    practice = model.patients.team[patients] % n_practices
    angle = np.empty(len(patients))
    angle[np.argsort(practice, kind="stable")] = _angles(len(patients))
    spacing = 2 * np.pi / max(len(patients), 1)
    clinician_angle = np.zeros(c.n)
    gp_practice = np.arange(gps.size) % n_practices  # GP j works in practice j mod n_practices
    for k in range(n_practices):
        members = gps[gp_practice == k]
        arc = angle[practice == k]
        if arc.size:
            first, last = arc.max() + spacing / 2, arc.min() - spacing / 2
        else:  # no sampled patient here: the practice's nominal share of the circle
            first, last = np.pi / 2 - 2 * np.pi * k / n_practices, np.pi / 2 - 2 * np.pi * (k + 1) / n_practices
        clinician_angle[members] = np.linspace(first, last, members.size + 2)[1:-1]
    others = np.concatenate([members for role, members in enumerate(c.by_role) if role != GP])
    clinician_angle[others] = _angles(others.size)
    radius = np.where(c.role == GP, GP_RING, MIDDLE_RING)
    return _at(angle, 1.0), _at(clinician_angle, radius)


def _angles(n: int) -> np.ndarray:
    """``n`` evenly spaced angles, clockwise from the top."""
    return np.pi / 2 - 2 * np.pi * np.arange(n) / max(n, 1)


def _at(angle: np.ndarray, radius: float | np.ndarray) -> np.ndarray:
    return np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
