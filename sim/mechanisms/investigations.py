"""Investigations and what their normal results do to beliefs (M14).

M ids: M14 (the consequence of a test shared by every place that orders one).
Parameters: ``MechanismParams`` section "M14 investigations" (``repeat_test_uncertainty``,
``repeat_test_cap``).
Streams: none (the callers decide who is tested: ``investigation`` in
:mod:`sim.mechanisms.alliance`, ``emergency_test`` in :mod:`sim.mechanisms.engagement`).
State read: ``PatientState.investigations``, ``uncertainty``.
State written: ``PatientState.investigations``, ``cost``, ``uncertainty``.
"""

from __future__ import annotations

import numpy as np

from ..core.params import MechanismParams
from ..core.state import PatientState


def record_tests(p: PatientState, tested: np.ndarray, mech: MechanismParams, unit_cost: float) -> None:
    """Count and cost tests; each earlier test feeds the belief that something is missed (M14).

    Args:
        p: Patient state, updated in place.
        tested: Indices of the patients tested this week (each at most once).
        mech: Mechanism coefficients.
        unit_cost: Cost of one test.
    """
    prior = np.minimum(p.investigations[tested], mech.repeat_test_cap)
    p.investigations[tested] += 1
    p.cost[tested] += unit_cost
    share = np.minimum(mech.repeat_test_uncertainty * prior, 1.0)
    p.uncertainty[tested] += share * (1.0 - p.uncertainty[tested])
