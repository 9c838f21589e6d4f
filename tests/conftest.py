"""Shared helpers: compose the real Hydra config, shrink it, and run small models."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.schema import compose_config, register
from sim.core.params import (
    Config,
    MechanismParams,
    PopulationParams,
    RunParams,
    ServiceParams,
    WorkforceParams,
)
from sim.engine.model import CareModel

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"

register()
__all__ = ["CONF", "ROOT", "compose_config", "main_job", "simulate"]


def main_job(*args: str) -> subprocess.CompletedProcess:
    """``python -m experiments.run`` with these arguments, from the repo root, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "experiments.run", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def simulate(
    service: ServiceParams | None = None,
    *,
    weeks: int = 52,
    n: int = 400,
    seed: int = 11,
    mech: dict | None = None,
    population: dict | None = None,
    workforce: WorkforceParams | None = None,
    **service_changes: object,
) -> CareModel:
    """Run one small arm to its horizon; keyword arguments change the service."""
    service = dataclasses.replace(service or ServiceParams(), **service_changes)
    model = CareModel(
        service,
        run=RunParams(weeks=weeks),
        population=dataclasses.replace(PopulationParams(n_patients=n), **(population or {})),
        workforce=workforce or WorkforceParams(),
        mechanisms=dataclasses.replace(MechanismParams(), **(mech or {})),
        seed=seed,
        agents=False,
    )
    model.run_model()
    return model


@pytest.fixture(scope="session")
def small_config() -> Config:
    """The default experiment, shrunk: 2 replicates of 120 patients over 30 weeks."""
    return compose_config("population=small", "population.n_patients=120", "run.replicates=2", "run.weeks=30")
