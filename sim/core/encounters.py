"""Requests for care and the encounters they become: the records passed between mechanisms.

A week's care is a list of requests (who asks for which role, and why) that
capacity turns into encounters (who sees whom). The pathway mechanisms make
both; the encounter, learning and engine modules read the encounters.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

# Request kinds, in booking priority: booked appointments first, then new
# patients, then on-demand contacts.
SPECIALIST_VISIT, FOLLOWUP, INTAKE, ON_DEMAND = range(4)


class Requests(NamedTuple):
    """Requests for an encounter this week, at most one per patient."""

    patient: np.ndarray  # patient index
    role: np.ndarray  # clinician role asked for
    kind: np.ndarray  # SPECIALIST_VISIT, FOLLOWUP, INTAKE or ON_DEMAND


class Encounters(NamedTuple):
    """Encounters that take place this week, one per patient at most."""

    patient: np.ndarray  # patient index
    clinician: np.ndarray  # clinician index
    role: np.ndarray  # the clinician's role
    kind: np.ndarray  # the request kind it answers
