"""Clinician reflection and feedback (M16).

M ids: M16.
Parameters: ``MechanismParams.learning_per_week``, ``reflection_humility``; ``ServiceParams.feedback``;
clinicians' ``reflective_practice`` (``WorkforceParams``).
Streams: none.
State read: this week's encounters, patients' ``progress``, clinicians'
``reflective_practice``.
State written: clinicians' ``validation``, ``pacing_advice``, ``repair_skill``,
``cultural_humility``.

With routine outcome feedback, supervision and peer review switched on
(``ServiceParams.feedback``), each clinician sees which of this week's patients
are not on track (no perceived progress) and improves validation, pacing
advice, rupture repair and (by ``reflection_humility``) cultural humility, at
a rate set by their reflective practice and by how many of their patients are
struggling. Without feedback, skills stay where training left them.
"""

from __future__ import annotations

import numpy as np

from ..core.encounters import Encounters
from ..core.params import MechanismParams, ServiceParams
from ..core.state import ClinicianState, PatientState


def reflect(enc: Encounters, p: PatientState, c: ClinicianState, service: ServiceParams, mech: MechanismParams) -> None:
    """M16: skills drift upward with feedback on patients not on track."""
    if not service.feedback or not enc.patient.size:
        return
    seen = np.bincount(enc.clinician, minlength=c.n)
    off_track = np.bincount(enc.clinician, weights=p.progress[enc.patient] <= 0.0, minlength=c.n)
    share = np.divide(off_track, seen, out=np.zeros(c.n), where=seen > 0)
    rate = np.minimum(mech.learning_per_week * c.reflective_practice * share, 1.0)
    for skill in (c.validation, c.pacing_advice, c.repair_skill):
        skill += rate * (1.0 - skill)
    # Reflection on what went wrong also surfaces hidden biases (the article): cultural humility grows.
    c.cultural_humility += mech.reflection_humility * rate * (1.0 - c.cultural_humility)
