"""Probes of one mechanism at a time, shared by the direction tests and the knock-out table.

A probe builds a fresh, unrun model, sets the state so that one driver is at a
chosen level, applies one mechanism function (an encounter, a week of
recovery, a dropout draw, ...) and returns the outcome that mechanism names.
Two probes that differ only in the driver's level use the same seed, so they
see the same random draws for the same patient (common random numbers): the
difference between them is the mechanism's effect, and with the mechanism's
coefficients at zero it is exactly zero.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.core.encounters import FOLLOWUP, Encounters
from sim.core.params import MechanismParams, PopulationParams, RunParams, ServiceParams
from sim.core.state import IN_CARE
from sim.engine.model import CareModel
from sim.mechanisms import alliance

N = 2000
"""Patients in a probe population: a share of them having an event in one week is then known to about 1 %."""

MECHANISM_NAMES = frozenset(f.name for f in dataclasses.fields(MechanismParams))


def probe_model(n: int = N, seed: int = 3, **changes: object) -> CareModel:
    """A fresh, unrun model of ``n`` patients; ``changes`` name mechanism or service parameters."""
    mech = {k: v for k, v in changes.items() if k in MECHANISM_NAMES}
    service = {k: v for k, v in changes.items() if k not in MECHANISM_NAMES}
    return CareModel(
        dataclasses.replace(ServiceParams(), **service),
        run=RunParams(weeks=10),
        population=PopulationParams(n_patients=n),
        mechanisms=dataclasses.replace(MechanismParams(), **mech),
        seed=seed,
        agents=False,
    )


def tiny_model(**changes: object) -> CareModel:
    """Five patients, for probes that follow named individuals."""
    return probe_model(5, **changes)


def seen_bond(model: CareModel) -> float:
    """Mean bond over every dyad that exists."""
    d = model.dyads
    return float(d.bond[d.clinician >= 0].mean())


def seen_mean(model: CareModel, values: np.ndarray) -> float:
    """Mean over patients who have had at least one encounter."""
    return float(values[model.patients.encounters > 0].mean())


def set_clinician(
    model: CareModel,
    clinician: int = 0,
    *,
    validation: float = 1.0,
    clarity: float = 0.5,
    warmth: float = 0.8,
    stance: float = 0.5,
) -> None:
    """Fix one clinician's traits; validation 1 always validates, 0 always dismisses."""
    c = model.clinicians
    c.validation[clinician], c.clarity[clinician], c.warmth[clinician] = validation, clarity, warmth
    c.biopsychosocial[clinician] = stance


def meet(model: CareModel, *, clinician: int = 0, kind: int = FOLLOWUP, week: int = 1) -> np.ndarray:
    """Every patient meets ``clinician`` once this week (M1–M6, M10, M12, M14); returns who was validated."""
    p, c = model.patients, model.clinicians
    everyone = np.arange(p.n)
    enc = Encounters(
        everyone,
        np.full(p.n, clinician, np.int64),
        np.full(p.n, c.role[clinician], np.int8),
        np.full(p.n, kind, np.int8),
    )
    return alliance.encounter(
        enc,
        p,
        c,
        model.dyads,
        week,
        model.service,
        model.mechanisms,
        model.streams,
        model.visit_cost,
        0.0,
    )


def met(model: CareModel, *, validation: float, clarity: float) -> None:
    """Every patient meets clinician 0 once, who validates (1) or dismisses (0) and explains with ``clarity``."""
    set_clinician(model, validation=validation, clarity=clarity, stance=validation)
    model.patients.stigma[:] = 0.0
    meet(model)


def force_encounters(model: CareModel, times: int) -> list[float]:
    """Patient 0 meets a warm, validating clinician 0 ``times`` times; returns the bond after each."""
    set_clinician(model, validation=1.0, clarity=1.0, warmth=0.8, stance=1.0)
    model.patients.stigma[0] = 0.0
    # A reference patient, so the first bond starts at bond_initial, below 1, whatever the draws.
    model.patients.attachment_security[0], model.patients.trust[0] = 0.5, 0.5
    enc = Encounters(np.array([0]), np.array([0]), np.array([model.clinicians.role[0]]), np.array([FOLLOWUP]))
    bonds = []
    for week in range(1, times + 1):
        alliance.encounter(
            enc,
            model.patients,
            model.clinicians,
            model.dyads,
            week,
            model.service,
            model.mechanisms,
            model.streams,
            model.visit_cost,
            0.0,
        )
        bonds.append(float(model.dyads.bond[0, model.dyads.current[0]]))
    return bonds


def with_dyad(
    model: CareModel, *, clinician: int = 1, bond: float = 0.5, goals: float = 0.5, tasks: float = 0.5
) -> None:
    """Give every patient a current dyad (slot 0) with ``clinician``, as if seen once before, and put them in care."""
    p, d = model.patients, model.dyads
    d.clinician[:, 0] = clinician
    d.bond[:, 0], d.goals[:, 0], d.tasks[:, 0] = bond, goals, tasks
    d.encounters[:, 0] = 1
    d.last_week[:, 0] = 0
    d.set_current(np.arange(p.n), np.zeros(p.n, np.int64))
    p.encounters[:] = 1
    p.status[:] = IN_CARE
