"""Register the model's parameter dataclasses as Hydra structured-config schemas.

``sim.core.params`` holds frozen dataclasses (the model must not change its own
parameters). Hydra merges configs into its schema in place, which a frozen
node refuses, so the schema registered here is a mutable mirror with the same
fields, types and defaults. After composition, :func:`to_config` builds the
frozen ``sim.core.params.Config`` and checks every value's range.
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf

from sim.core.params import Config, from_dict, validate

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"

_MIRRORS: dict[type, type] = {}


def mirror(cls: type) -> type:
    """A mutable dataclass with the fields, types and defaults of frozen ``cls``."""
    if cls in _MIRRORS:
        return _MIRRORS[cls]
    hints = typing.get_type_hints(cls)
    fields = []
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        args = typing.get_args(kind)
        if dataclasses.is_dataclass(kind):
            kind = mirror(kind)
        elif args and dataclasses.is_dataclass(args[-1]):
            kind = dict[str, mirror(args[-1])]
        if f.default is not dataclasses.MISSING:
            spec = dataclasses.field(default=f.default)
        else:
            spec = dataclasses.field(default_factory=lambda f=f, kind=kind: _convert(f.default_factory(), kind))
        fields.append((f.name, kind, spec))
    _MIRRORS[cls] = dataclasses.make_dataclass(cls.__name__, fields)
    return _MIRRORS[cls]


def _convert(value: Any, kind: Any) -> Any:
    if dataclasses.is_dataclass(value):
        hints = typing.get_type_hints(kind)
        return kind(**{f.name: _convert(getattr(value, f.name), hints[f.name]) for f in dataclasses.fields(value)})
    return value


def mix(low: float, high: float, weight: float) -> float:
    """``low`` + weight x (``high`` - ``low``): a point between two presets (the ``${mix:...}`` resolver)."""
    return float(low) + float(weight) * (float(high) - float(low))


def register() -> None:
    """Store the schema as ``base_config`` (used by ``conf/config.yaml``) and the ``mix`` resolvers."""
    ConfigStore.instance().store(name="base_config", node=mirror(Config))
    OmegaConf.register_new_resolver("mix", mix, replace=True)
    OmegaConf.register_new_resolver("mixint", lambda a, b, w: round(mix(a, b, w)), replace=True)


def to_config(cfg: DictConfig) -> Config:
    """The frozen, range-checked model config from a composed Hydra config.

    Raises:
        sim.core.params.ConfigError: naming the key, the bad value and what is allowed.
    """
    data = OmegaConf.to_container(cfg, resolve=True)
    data.pop("hydra", None)
    config = from_dict(Config, data)
    validate(config)
    return config


def compose_config(*overrides: str) -> Config:
    """Compose ``conf/config.yaml`` with command-line style overrides, as the main job does.

    Raises:
        hydra.errors.ConfigCompositionException: wrong types or unknown keys.
        sim.core.params.ConfigError: values out of range.
    """
    register()
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=list(overrides))
    return to_config(cfg)


def preset_names(group: str) -> list[str]:
    """Names of the presets in a config group folder (e.g. ``care_model``)."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))
