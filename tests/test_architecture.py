"""The layers run one way (docs/architecture.md): import-linter checks the contracts in pyproject.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def test_import_contracts_are_kept():
    # Exit code 0: every contract kept (layers, no Hydra in sim, mechanism groups independent).
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_every_part_of_the_package_has_a_layer():
    layers = next(c for c in CONTRACTS if c["type"] == "layers")["layers"]
    named = {name.strip() for layer in layers for name in layer.split("|")}
    parts = {f"sim.{d.name}" for d in (ROOT / "sim").iterdir() if (d / "__init__.py").is_file()}
    parts |= {f"sim.{f.stem}" for f in (ROOT / "sim").glob("*.py") if f.stem != "__init__"}
    assert parts <= named, f"not in any layer: {sorted(parts - named)}"


def test_every_mechanism_group_is_independent_of_the_others():
    independent = next(c for c in CONTRACTS if c["type"] == "independence")["modules"]
    groups = {f"sim.mechanisms.{f.stem}" for f in (ROOT / "sim" / "mechanisms").glob("*.py")}
    # investigations holds M14's shared test consequence, used by two groups.
    assert groups - set(independent) == {"sim.mechanisms.__init__", "sim.mechanisms.investigations"}
