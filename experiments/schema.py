"""Register the model's parameter dataclasses as Hydra structured-config schemas.

``sim.core.params`` holds frozen dataclasses (the model must not change its own
parameters). Hydra merges configs into its schema in place, which a frozen
node refuses, so the schema registered here is a mutable mirror with the same
fields, types and defaults. After composition, :func:`to_config` builds the
frozen ``sim.core.params.Config`` and checks every value's range.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from sim.core.params import (
    Config,
    ConfigError,
    PopulationParams,
    ServiceParams,
    WorkforceParams,
    dataclass_of,
    from_dict,
    validate,
)
from sim.core.service import workforce_for

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"

_MIRRORS: dict[type, type] = {}


def mirror(cls: type) -> type:
    """A mutable dataclass with the fields and defaults of frozen ``cls``.

    Leaf values are typed ``Any`` here: OmegaConf would otherwise convert or
    refuse them with its own multi-line messages (and turn ``stepping=2`` into
    ``true``); :func:`sim.core.params.validate` checks every type and range and
    names the key. Shares default to ``None`` (filled with the dataclass
    default by :func:`to_config`) so that a preset or an override gives the
    whole mapping instead of merging its names with the defaults.
    """
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
            kind = dict[str, mirror(args[-1])] | None
        else:
            kind = Any
        if "shares" in f.metadata:
            spec = dataclasses.field(default=None)
        elif f.default is not dataclasses.MISSING:
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


@functools.cache
def register() -> None:
    """Store the schema as ``base_config`` (used by ``conf/config.yaml``) and the ``mix`` resolvers.

    Once per process: building the schema node takes about 0.05 s, and every compose asks for it.
    """
    ConfigStore.instance().store(name="base_config", node=mirror(Config))
    OmegaConf.register_new_resolver("mix", mix, replace=True)
    OmegaConf.register_new_resolver("mixint", lambda a, b, w: round(mix(a, b, w)), replace=True)


def to_config(cfg: DictConfig) -> Config:
    """The frozen, range-checked model config from a composed Hydra config.

    Raises:
        sim.core.params.ConfigError: naming the key, the bad value and what is allowed.
    """
    cfg = cfg.copy()
    with open_dict(cfg):
        cfg.pop("hydra", None)
    try:
        data = OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as err:
        raise ConfigError(one_line(err)) from err
    _fill_unset(Config, data)
    config = from_dict(Config, data)
    validate(config)
    if config.service is not None:
        config = workforce_for(config)  # head counts and sessions -> clinicians per 1,000 and slots
        validate(config)
    return config


def _fill_unset(cls: type, data: dict[str, Any]) -> None:
    # Shares left unset (None in the schema) take the dataclass default; no arms is an empty mapping.
    # Whole numbers given for real-valued fields become floats, as OmegaConf's typed nodes made them
    # (so config.yaml and the config hash do not depend on whether a user typed 6 or 6.0).
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        value, hint = data.get(f.name), hints[f.name]
        if "shares" in f.metadata and value is None:
            data.pop(f.name, None)
        elif f.name == "arms" and cls is Config:
            data[f.name] = {} if value is None else value
            for service in data[f.name].values() if isinstance(data[f.name], dict) else ():
                if isinstance(service, dict):
                    _fill_unset(ServiceParams, service)
        elif dataclass_of(hint) is not None and isinstance(value, dict):
            _fill_unset(dataclass_of(hint), value)
        elif hint is float and _whole(value):
            data[f.name] = float(value)
        elif hint == dict[str, float] and isinstance(value, dict):
            data[f.name] = {k: float(v) if _whole(v) else v for k, v in value.items()}


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


REPLACED = {
    "arms",
    *(f.name for c in (PopulationParams, WorkforceParams) for f in dataclasses.fields(c) if "shares" in f.metadata),
}
"""Keys whose mapping an override replaces whole (``key={...}``), instead of merging with what is there."""


def replace_mappings(overrides: list[str]) -> list[str]:
    """Rewrite ``key={...}`` for shares and ``arms`` as "clear, then add", so the new mapping replaces the old.

    Hydra merges a mapping given on the command line into the one already
    there, so ``population.cultural_group_shares={a:0.7,b:0.3}`` would keep
    ``majority`` and ``minority`` too, and ``arms={}`` would change nothing
    (and so be accepted silently). A non-empty ``arms={...}`` still adds to the
    experiment's arms: remove one with ``~arms.<name>``.
    """
    out = []
    for text in overrides:
        key, sep, value = text.partition("=")
        name = key.split(".")[-1]
        # Arms: only the empty mapping (refused later); OmegaConf cannot merge arms into a cleared typed node.
        mapping = value.strip() in ("{}", "{ }") if name == "arms" else value.lstrip().startswith("{")
        if sep and name in REPLACED and mapping and key[:1] not in "+~":
            out += [f"{key}=null", f"++{key}={value}"]
        else:
            out.append(text)
    return out


def check_keys(overrides: list[str]) -> None:
    """Refuse an override whose key the schema does not have, naming it and the keys allowed.

    Hydra would refuse it too, but over several lines; this gives the one
    line every other config error gives. Config groups (``population=small``)
    and ``hydra.*`` settings are left to Hydra.

    Raises:
        ConfigError: for a syntax error or an unknown key.
    """
    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except HydraException as err:
        raise ConfigError(one_line(err)) from err
    # Presets may also come from folders added with --config-dir (hydra.searchpath).
    dirs = [CONF_DIR]
    for override in parsed:
        if override.key_or_group == "hydra.searchpath" and not override.is_sweep_override():
            dirs += [Path(str(p).removeprefix("file://")) for p in override.value() or []]
    described = any(o.key_or_group == "service" and not o.is_delete() for o in parsed)
    for override in parsed:
        key = override.key_or_group
        if override.package is not None or "/" in key or key.split(".")[0] == "hydra":
            continue
        if key.startswith("service.") and not described:
            # Without a described service there is nothing to change (the staff are the workforce ratios).
            names = ", ".join(sorted({n for d in dirs for n in preset_names("service", d)}))
            value = override.get_value_element_as_str() if not override.is_sweep_override() else None
            _unknown(key, value, f"a service description to change: add service=<name> (one of {names})")
        value = override.get_value_element_as_str() if not override.is_sweep_override() else None
        if "." not in key and (CONF_DIR / key).is_dir():
            names = sorted({n for d in dirs for n in preset_names(key, d)})
            if value is not None and not override.is_delete() and value not in names:
                _unknown(key, value, f"one of {', '.join(names)}")
            continue
        parts, cls, i = key.split("."), Config, 0
        while i < len(parts):
            names = sorted(f.name for f in dataclasses.fields(cls))
            if parts[i] not in names:
                _unknown(".".join(parts[: i + 1]), value, f"a key of {cls.__name__}: {', '.join(names)}")
            hint = typing.get_type_hints(cls)[parts[i]]
            if parts[i] == "arms" and cls is Config:
                cls, i = ServiceParams, i + 2  # arms.<any name>.<a ServiceParams key>
            elif dataclass_of(hint) is not None:
                cls, i = dataclass_of(hint), i + 1
            else:
                break  # a leaf or a mapping: its value is checked after composition
        else:
            # The key names a whole group (``run``, ``arms.coordinated``): only a mapping can replace it.
            if value is not None and not override.is_delete() and not value.startswith("{"):
                what = "arm names to care models" if key == "arms" else f"{cls.__name__} keys"
                _unknown(key, value, f"a mapping of {what}, e.g. {key}={{...}}")


def _unknown(key: str, value: str | None, allowed: str) -> None:
    shown = "(a sweep)" if value is None else value
    raise ConfigError(f"config error: {key} = {shown} is not allowed; expected {allowed}")


def one_line(err: BaseException) -> str:
    """A Hydra, OmegaConf or YAML error as one ``config error:`` line (file and line for YAML)."""
    seen = err
    while seen is not None:
        if isinstance(seen, yaml.MarkedYAMLError) and seen.problem_mark is not None:
            mark = seen.problem_mark
            problem = seen.problem or seen.context or "not valid YAML"
            return f"config error: {mark.name}: line {mark.line + 1}: {problem}; expected plain YAML (no tags)"
        seen = seen.__cause__ or seen.__context__
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    text = lines[0] if lines else type(err).__name__
    if len(lines) > 1 and "full_key" not in lines[1]:
        text = f"{text} {lines[1]}"
    return text if text.startswith("config error:") else f"config error: {text}"


def compose_config(*overrides: str) -> Config:
    """Compose ``conf/config.yaml`` with command-line style overrides, as the main job does.

    Raises:
        sim.core.params.ConfigError: any bad override or value, in one line.
    """
    return to_config(compose_raw(list(overrides)))


def compose_raw(overrides: list[str], hydra_config: bool = False) -> DictConfig:
    """The composed Hydra config (unchecked), with unknown keys and broken files as one-line errors.

    Raises:
        sim.core.params.ConfigError: for an unknown key, a missing preset or a file that is not plain YAML.
    """
    return next(compose_jobs([overrides], hydra_config))


def compose_jobs(jobs: list[list[str]], hydra_config: bool = False) -> Iterator[DictConfig]:
    """Compose a sweep's jobs (override lists of the same keys), each as :func:`compose_raw` would.

    Composing with Hydra takes about 0.1 s a job. When the jobs differ only in
    plain values (``run.seed=0,1,...``; no presets, ``+``/``~`` or mappings),
    the first job is composed and each job's differing values are then set on
    it the way Hydra sets a command-line value (``OmegaConf.update`` with
    merge); otherwise every job is composed in full. The config yielded is
    reused between jobs: read it before asking for the next.

    Raises:
        sim.core.params.ConfigError: for an unknown key, a missing preset or a file that is not plain YAML.
    """
    register()
    for job in jobs:
        check_keys(job)
    same_keys = all(len(job) == len(jobs[0]) for job in jobs)
    differ = [i for i in range(len(jobs[0])) if len({job[i] for job in jobs}) > 1] if same_keys else []
    plain = same_keys and all(_plain_value(job[i]) for job in jobs for i in differ)
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            if not plain:
                for job in jobs:
                    yield compose("config", overrides=replace_mappings(job), return_hydra_config=hydra_config)
                return
            cfg = compose("config", overrides=replace_mappings(jobs[0]), return_hydra_config=hydra_config)
            parser = OverridesParser.create()
            for job in jobs:
                for override in parser.parse_overrides([job[i] for i in differ]):
                    OmegaConf.update(cfg, override.key_or_group, override.value(), merge=True)
                yield cfg
    except (HydraException, OmegaConfBaseException, yaml.YAMLError, AttributeError, TypeError, ValueError) as err:
        # OmegaConf re-raises some merge failures as plain AttributeError/TypeError with the key in the text.
        raise ConfigError(one_line(err)) from err
    finally:
        GlobalHydra.instance().clear()


def _plain_value(override: str) -> bool:
    # key=value for a model key: no preset, no add/delete prefix, no mapping (which replace_mappings rewrites).
    key, _, value = override.partition("=")
    return (
        key[:1] not in "+~"
        and "/" not in key
        and "@" not in key
        and not key.startswith("hydra")
        and not ("." not in key and (CONF_DIR / key).is_dir())
        and not value.lstrip().startswith(("{", "["))
    )


def preset_names(group: str, conf_dir: Path = CONF_DIR) -> list[str]:
    """Names of the presets in a config group folder (e.g. ``care_model``)."""
    return sorted(p.stem for p in (conf_dir / group).glob("*.yaml"))
