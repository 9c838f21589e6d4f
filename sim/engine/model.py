"""The care system as a Mesa model: the engine (:class:`~sim.engine.system.CareSystem`) with agents.

:class:`CareModel` adds to the engine what Mesa's tools and the dashboards use:
``Patient`` and ``Clinician`` agent objects over the rows of the state arrays,
Mesa's step and time keeping, and a ``DataCollector`` of the weekly aggregates.
The week itself, and its order, are :meth:`sim.engine.system.CareSystem.step`.
"""

from __future__ import annotations

import numpy as np
from mesa import DataCollector, Model

from ..core.params import CostParams, MechanismParams, PopulationParams, RunParams, ServiceParams, WorkforceParams
from ..core.state import IN_CARE
from .agents import Clinician, Patient
from .metrics import WEEKLY_COLUMNS
from .system import ON_TRACK_WEEK, CareSystem, initial_state

__all__ = ["ON_TRACK_WEEK", "CareModel", "WeeklyCollector", "initial_state"]


class WeeklyCollector(DataCollector):
    """Mesa's data collector for the weekly aggregates (``WEEKLY_COLUMNS``), storing each week's values as they are.

    Mesa deep-copies whatever a reporter returns, in case it is a mutable object
    that changes later; every weekly aggregate is a Python number, so the copy
    is not needed (copying 33 of them a week was about 6% of a run). The table
    (``get_model_vars_dataframe``) is the one Mesa builds.
    """

    def __init__(self) -> None:
        super().__init__(model_reporters={name: (lambda m, name=name: m.summary[name]) for name in WEEKLY_COLUMNS})

    def collect(self, model: CareModel) -> None:
        """Append this week's aggregates (``model.summary``)."""
        self._collection_steps.append(model.time)
        for name, values in self.model_vars.items():
            values.append(model.summary[name])


class CareModel(CareSystem, Model):
    """Patients and clinicians in one care system, under one care model, as a Mesa model.

    Args:
        service: The care model (coordinated, fragmented, stepped, or any mix).
        run: Horizon and dyad slots (``run.replicates`` and ``run.seed`` are not used here).
        population: Cohort size and type, case mix and patient traits.
        workforce: Clinicians by role.
        mechanisms: Coefficients of M1–M19.
        costs: Unit costs by event type.
        seed: Seed of this replicate; arms that share it share the cohort and
            every care-independent draw (common random numbers).
        agents: Create Mesa ``Patient``/``Clinician`` objects (turn off only for
            very large headless runs; the arrays are the state either way).
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
        agents: bool = True,
        audit: bool = False,
        journeys: int = 0,
    ) -> None:
        Model.__init__(self, rng=seed)  # Mesa's clock, random generators, agent registry and step wrapper
        CareSystem.__init__(
            self,
            service,
            run=run,
            population=population,
            workforce=workforce,
            mechanisms=mechanisms,
            costs=costs,
            seed=seed,
            audit=audit,
            journeys=journeys,
        )
        if agents:
            Patient.create_agents(self, self.patients.n, list(range(self.patients.n)))
            Clinician.create_agents(self, self.clinicians.n, list(range(self.clinicians.n)))
        self.datacollector = WeeklyCollector()
        self.datacollector.collect(self)

    def step(self) -> None:
        """Advance the care system by one week (:meth:`CareSystem.step`), count caseloads, collect the aggregates."""
        CareSystem.step(self)
        # Only the Clinician agents show caseloads, so the bare engine does not count them.
        leads = self.patients.lead[self.patients.status == IN_CARE].ravel()
        self.clinicians.caseload[:] = np.bincount(leads[leads >= 0], minlength=self.clinicians.n)
        self.datacollector.collect(self)
