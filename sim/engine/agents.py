"""Mesa agents: each Patient and Clinician reads and writes its row of the state arrays.

The weekly step updates whole arrays at once (:mod:`sim.engine.system`); these agents
give teachers, dashboards and Mesa's own tools ordinary agent objects to look
at and to change, e.g. ``model.agents_by_type[Patient]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mesa

from ..core.params import CONDITIONS, ROLES, STATUSES

if TYPE_CHECKING:
    from .model import CareModel


def _column(table: str, name: str, kind: type = float) -> Any:
    """A property reading and writing this agent's row of ``model.<table>.<name>``."""

    def get(self: Any) -> Any:
        return kind(getattr(getattr(self.model, table), name)[self.row])

    def set_(self: Any, value: Any) -> None:
        getattr(getattr(self.model, table), name)[self.row] = value

    return property(get, set_, doc=f"This agent's ``{table}.{name}``.")


class Patient(mesa.Agent):
    """A person with a functional somatic condition (see docs/model.md, Agents and their state)."""

    model: CareModel

    def __init__(self, model: CareModel, row: int) -> None:
        super().__init__(model)
        self.row = row

    symptoms = _column("patients", "symptoms")  # PHQ-15, 0–30
    function = _column("patients", "function")  # 0–100
    trust = _column("patients", "trust")
    adherence = _column("patients", "adherence")
    self_efficacy = _column("patients", "self_efficacy")
    expectation = _column("patients", "expectation")
    distress = _column("patients", "distress")
    uncertainty = _column("patients", "uncertainty")
    activity = _column("patients", "activity")
    avoidance = _column("patients", "avoidance")  # fear-avoidance (M19), 0–1
    stigma = _column("patients", "stigma")
    health_literacy = _column("patients", "health_literacy")

    @property
    def condition(self) -> str:
        """Condition label."""
        return CONDITIONS[self.model.patients.condition[self.row]]

    @property
    def status(self) -> str:
        """Engagement status: not_presented, waiting, in_care, discharged or disengaged."""
        return STATUSES[self.model.patients.status[self.row]]

    @property
    def alliance(self) -> float:
        """Alliance (0–1) with the clinician of the latest encounter."""
        d = self.model.dyads
        slot = d.current[self.row]
        return float(d.alliance_at(self.row, slot)) if slot >= 0 else 0.0

    def dyads(self) -> list[dict[str, float]]:
        """This patient's alliance with every clinician seen (bond, goals, tasks)."""
        d = self.model.dyads
        return [
            {
                "clinician_id": int(d.clinician[self.row, s]),
                "bond": float(d.bond[self.row, s]),
                "goals": float(d.goals[self.row, s]),
                "tasks": float(d.tasks[self.row, s]),
                "encounters": int(d.encounters[self.row, s]),
                "rupture_open": bool(d.rupture_week[self.row, s] >= 0),
            }
            for s in range(d.clinician.shape[1])
            if d.clinician[self.row, s] >= 0
        ]


class Clinician(mesa.Agent):
    """A member of the care team (see docs/model.md, Agents and their state)."""

    model: CareModel

    def __init__(self, model: CareModel, row: int) -> None:
        super().__init__(model)
        self.row = row

    warmth = _column("clinicians", "warmth")
    validation = _column("clinicians", "validation")
    clarity = _column("clinicians", "clarity")
    cultural_humility = _column("clinicians", "cultural_humility")
    biopsychosocial = _column("clinicians", "biopsychosocial")
    reflective_practice = _column("clinicians", "reflective_practice")
    pacing_advice = _column("clinicians", "pacing_advice")
    repair_skill = _column("clinicians", "repair_skill")
    capacity = _column("clinicians", "capacity", int)
    caseload = _column("clinicians", "caseload", int)

    @property
    def role(self) -> str:
        """Role: gp, specialist, psychologist, physiotherapist or coordinator."""
        return ROLES[self.model.clinicians.role[self.row]]
