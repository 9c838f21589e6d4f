"""Several replicates of one arm as one care system, stepped together: the same numbers, fewer NumPy calls.

At 2,000 patients most of a simulated week is the fixed cost of each NumPy
call, not work per patient (``docs/performance.md``). A :class:`ReplicateStack`
puts the patients, clinicians and dyads of several replicates of the same arm
end to end in one set of arrays, so each call of the week covers all of them.
Nothing else changes: the week is :meth:`CareSystem.step`, its mechanisms
see arrays of any length, and what makes the replicates independent is kept
apart:

- **Random numbers**: each replicate keeps its own generators;
  a stack's draw is each replicate's own draw, end to end
  (:class:`~sim.core.streams.ReplicateStreams`).
- **Clinicians**: replicate ``r``'s clinicians are rows ``r * C`` to
  ``(r + 1) * C - 1`` of the stacked clinician arrays; every replicate has the
  same roles in the same order (their numbers come from the parameters), and
  routing adds the offset ``PatientState.clinician_offset`` of the patient's
  replicate, so patients meet only their own replicate's clinicians.
  Every other step that involves a clinician starts from an encounter or a lead
  set by routing.
- **Observations**: the weekly aggregates and capacity tallies are taken
  per replicate, all at once (:func:`~sim.engine.metrics.weekly_summaries`
  by block: each replicate's sums are its own sums, bit for bit), into each
  replicate's own :class:`~sim.engine.system.CareSystem` (``parts``), whose
  arrays are views of its rows of the stack; the journeys and the
  per-patient table are taken from those views as for a replicate run alone.

``tests/test_stack.py`` checks that every table of a stacked run equals the
one-at-a-time runs exactly, for every care-model preset.
"""

from __future__ import annotations

import numpy as np

from ..core.encounters import Encounters, Requests
from ..core.params import CostParams, MechanismParams, PopulationParams, RunParams, ServiceParams, WorkforceParams
from ..core.state import ClinicianState, DyadState, PatientState
from ..core.streams import ReplicateStreams
from .metrics import CapacityTally, WeeklyTotals, weekly_summaries
from .system import CareSystem

ROUTING_LAYOUT = ("by_role", "role_count", "role_start", "role_members")
"""Clinician attributes that index within one care system (the same in every replicate): kept, not stacked."""


def _stack(parts: list[object], n_each: int, keep: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    # Every per-agent array of the parts (first dimension n_each), end to end.
    names = [
        name
        for name, value in vars(parts[0]).items()
        if isinstance(value, np.ndarray)
        and value.ndim >= 1
        and value.shape[0] == n_each
        and name not in keep
        and not name.startswith("_")  # caches, such as a DyadState's positions, are not state
    ]
    return {name: np.concatenate([getattr(part, name) for part in parts]) for name in names}


def _share_rows(part: object, stacked: dict[str, np.ndarray], rows: slice) -> None:
    # Point a part's per-agent arrays at its rows of the stack (views: the stack's updates reach them).
    for name, array in stacked.items():
        setattr(part, name, array[rows])


class ReplicateStack(CareSystem):
    """Replicates of one arm, stepped as one care system; each replicate's records kept apart.

    Args:
        service, run, population, workforce, mechanisms, costs: As for
            :class:`~sim.engine.system.CareSystem` (one arm). A closed cohort
            only: an open cohort's replicates have different numbers of patients.
        seeds: The replicates' seeds, in order.
        journeys: Record the weekly states of this many patients of the first
            replicate (all patients of every replicate with ``run.trajectories``).
    """

    def __init__(
        self,
        service: ServiceParams,
        *,
        run: RunParams,
        population: PopulationParams,
        workforce: WorkforceParams,
        mechanisms: MechanismParams,
        costs: CostParams,
        seeds: list[int],
        journeys: int = 0,
    ) -> None:
        if population.cohort != "closed":
            raise ValueError("only a closed cohort's replicates can be stacked (same patients in each)")
        common = dict(run=run, population=population, workforce=workforce, mechanisms=mechanisms, costs=costs)
        self.parts = [
            CareSystem(service, seed=seed, journeys=journeys if r == 0 else 0, **common) for r, seed in enumerate(seeds)
        ]
        first = self.parts[0]
        n, c_n = first.patients.n, first.clinicians.n
        for part in self.parts[1:]:
            for name in ROUTING_LAYOUT[1:]:
                if not np.array_equal(getattr(part.clinicians, name), getattr(first.clinicians, name)):
                    raise ValueError(f"replicates differ in their clinicians' {name}: cannot stack them")

        self.running = True
        self.service, self.run_params, self.population = first.service, first.run_params, first.population
        self.workforce, self.mechanisms, self.costs = first.workforce, first.mechanisms, first.costs
        self.cultural_groups = first.cultural_groups
        self.week = 0
        self.streams = ReplicateStreams([part.streams for part in self.parts], n)
        for r, part in enumerate(self.parts):
            part.patients.clinician_offset[:] = r * c_n

        # One set of arrays for all replicates; each part's arrays become views of its rows.
        self.patients = PatientState.__new__(PatientState)
        self._patient_arrays = _stack([part.patients for part in self.parts], n)
        vars(self.patients).update(vars(first.patients), **self._patient_arrays, n=n * len(self.parts))
        self.clinicians = ClinicianState.__new__(ClinicianState)
        self._clinician_arrays = _stack([part.clinicians for part in self.parts], c_n, keep=ROUTING_LAYOUT)
        vars(self.clinicians).update(vars(first.clinicians), **self._clinician_arrays, n=c_n * len(self.parts))
        self.dyads = DyadState(self.patients.n, run.dyad_slots)
        self._dyad_arrays = _stack([part.dyads for part in self.parts], n)
        vars(self.dyads).update(self._dyad_arrays)
        for r, part in enumerate(self.parts):
            _share_rows(part.patients, self._patient_arrays, slice(r * n, (r + 1) * n))
            _share_rows(part.clinicians, self._clinician_arrays, slice(r * c_n, (r + 1) * c_n))
        self._share_dyads()
        self.visit_cost = first.visit_cost
        self.seen = np.zeros(self.patients.n, bool)
        # The week's observations, one value per replicate (each replicate's week 0 is in its part).
        self.totals = WeeklyTotals(self.patients, blocks=len(self.parts))
        self.capacity = CapacityTally(self.patients, self.clinicians, blocks=len(self.parts))

    def _share_dyads(self) -> None:
        # Dyad views are made afresh when read: a DyadState caches positions computed from its own ``current``.
        n = self.parts[0].patients.n
        for r, part in enumerate(self.parts):
            part.dyads = DyadState(0, self.run_params.dyad_slots)  # empty, then pointed at the replicate's rows
            vars(part.dyads).update({name: array[r * n : (r + 1) * n] for name, array in self._dyad_arrays.items()})

    def _book(self, req: Requests, accepted: np.ndarray, enc: Encounters) -> None:
        n = self.parts[0].patients.n
        self.unmet_requests = np.bincount(req.patient[~accepted] // n, minlength=len(self.parts))
        self.capacity.book(req, accepted, enc, self.patients, self.week)

    def _record(self, alliance_now: np.ndarray) -> None:
        summaries = weekly_summaries(self, alliance_now, blocks=len(self.parts))
        self._share_dyads()
        for part, summary in zip(self.parts, summaries, strict=True):
            part.week = self.week
            part._keep(summary)
        self.summary = summaries[0]
