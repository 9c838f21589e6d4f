"""A Dask cluster for the PSA's draws: SLURM batch jobs (dask-jobqueue), or the same on this machine.

``python -m experiments.psa --cluster slurm`` submits ``jobs`` batch jobs, each
running ``processes`` Dask workers, as conf/cluster/slurm.yaml (or
``--cluster-config FILE``) says; ``--cluster local`` starts the same number of
workers on this machine (a ``LocalCluster``), so the code path from the
cluster to the table is the one a SLURM run takes, and can be tested here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from experiments.cli import ROOT
from sim.analysis.targets import read_yaml
from sim.core.params import ConfigError

if TYPE_CHECKING:
    from distributed.deploy import Cluster

DEFAULT_CLUSTER = ROOT / "conf" / "cluster" / "slurm.yaml"
KINDS = ("local", "slurm")

_TEXT = (str, type(None))
_LINES = list
SETTINGS: dict[str, tuple[type, ...]] = {
    "queue": _TEXT,
    "account": _TEXT,
    "cores": (int,),
    "processes": (int,),
    "memory": (str,),
    "walltime": (str,),
    "jobs": (int,),
    "job_extra_directives": (_LINES,),
    "job_script_prologue": (_LINES,),
    "local_directory": _TEXT,
    "interface": _TEXT,
    "python": _TEXT,
}
"""Every key of a cluster file and the types it allows (all keys are required; null where shown)."""


def load_cluster_settings(path: Path) -> dict:
    """A cluster file (the format of conf/cluster/slurm.yaml), fully checked.

    Raises:
        ConfigError: a missing or unknown key, or a value of the wrong kind, named in one line.
    """
    data = read_yaml(path, "cluster settings")
    if not isinstance(data, dict):
        raise ConfigError(f"config error: {path}: expected a mapping of {', '.join(SETTINGS)}")
    unknown = sorted(set(data) - set(SETTINGS))
    missing = [k for k in SETTINGS if k not in data]
    if unknown or missing:
        key = unknown[0] if unknown else missing[0]
        raise ConfigError(
            f"config error: {path}: {key} is {'not a setting' if unknown else 'missing'}; "
            f"the settings are {', '.join(SETTINGS)}"
        )
    for key, kinds in SETTINGS.items():
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise ConfigError(f"config error: {path}: {key} = {value!r} is not allowed; expected {_kind(kinds)}")
        if kinds == (int,) and value < 1:
            raise ConfigError(f"config error: {path}: {key} = {value!r} is not allowed; expected a whole number >= 1")
        if kinds == (_LINES,) and not all(isinstance(line, str) for line in value):
            raise ConfigError(f"config error: {path}: {key} = {value!r} is not allowed; expected a list of strings")
    if data["processes"] > data["cores"]:
        raise ConfigError(
            f"config error: {path}: processes = {data['processes']} is not allowed; expected <= cores ({data['cores']})"
        )
    if not re.fullmatch(r"\d+(:\d\d){0,2}|\d+-\d+(:\d\d){0,2}", data["walltime"]):
        raise ConfigError(f"config error: {path}: walltime = {data['walltime']!r} is not allowed; expected HH:MM:SS")
    return data


def _kind(kinds: tuple[type, ...]) -> str:
    names = {str: "text", type(None): "null", int: "a whole number", list: "a list of strings"}
    return " or ".join(names[k] for k in kinds)


def make_cluster(kind: str, settings: dict) -> Cluster:
    """Start the cluster: ``slurm`` builds a ``SLURMCluster`` and submits ``jobs`` jobs; ``local`` a ``LocalCluster``.

    Both have ``jobs`` x ``processes`` single-threaded worker processes; each
    worker runs one draw at a time. Building a ``SLURMCluster`` submits
    nothing; :func:`slurm_cluster` leaves the scaling to the caller.
    """
    if kind == "local":
        from distributed import LocalCluster

        return LocalCluster(
            n_workers=settings["jobs"] * settings["processes"],
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            local_directory=settings["local_directory"],
        )
    cluster = slurm_cluster(settings)
    cluster.scale(jobs=settings["jobs"])
    return cluster


def slurm_cluster(settings: dict) -> Cluster:
    """A ``SLURMCluster`` as ``settings`` says, no job submitted yet (``cluster.job_script()`` shows the script)."""
    from dask_jobqueue import SLURMCluster

    options = {k: settings[k] for k in ("queue", "account", "cores", "processes", "memory", "walltime")}
    for key in ("local_directory", "interface", "python"):
        if settings[key] is not None:
            options[key] = settings[key]
    return SLURMCluster(
        **options,
        job_extra_directives=settings["job_extra_directives"],
        job_script_prologue=settings["job_script_prologue"],
    )
