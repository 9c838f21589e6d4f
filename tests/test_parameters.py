"""Every coefficient is a declared parameter: a unit, a finite range and a source; no bare numbers in mechanism code."""

from __future__ import annotations

import ast
import dataclasses
import math
from pathlib import Path

import pytest
import yaml

from sim.core import params as P

ROOT = Path(__file__).resolve().parents[1]
GROUPS = (
    P.RunParams,
    P.PopulationParams,
    P.ClinicianGroupParams,
    P.WorkforceParams,
    P.ServiceParams,
    P.MechanismParams,
    P.CostParams,
    P.StaffParams,
    P.TeamParams,
    P.LocalServiceParams,
)


def _parameters() -> list[tuple[str, dataclasses.Field]]:
    return [(f"{g.__name__}.{f.name}", f) for g in GROUPS for f in dataclasses.fields(g)]


@pytest.mark.parametrize(("name", "spec"), _parameters(), ids=[n for n, _ in _parameters()])
def test_every_parameter_declares_unit_range_and_source(name, spec):
    meta = spec.metadata
    assert meta.get("unit"), f"{name}: no unit"
    source = meta.get("source", "")
    assert source.startswith(P.SOURCE_PREFIXES), f"{name}: source {source!r} is not literature/calibrated/judgement"
    if source != "calibrated":
        assert len(source.split(": ", 1)[1]) > 5, f"{name}: source gives no citation or reason"
    default = spec.default_factory() if spec.default is dataclasses.MISSING else spec.default
    if dataclasses.is_dataclass(default) or isinstance(default, bool) or "choices" in meta:
        return
    if isinstance(default, list):
        assert meta["unit"] == "targets", f"{name}: a list must be a targets block (checked by the calibration)"
        return
    if isinstance(default, str):
        assert meta["unit"] == "name", f"{name}: a free string must be a name checked by validate()"
        return
    lo, hi = meta.get("lo"), meta.get("hi")
    assert lo is not None and hi is not None, f"{name}: range not closed"
    assert math.isfinite(lo) and math.isfinite(hi) and lo < hi, f"{name}: range [{lo}, {hi}]"
    values = default.values() if isinstance(default, dict) else [default]
    assert all(lo <= v <= hi for v in values), f"{name}: default {default} outside [{lo}, {hi}]"


def test_an_absurd_value_is_rejected_by_its_upper_bound():
    mech = dataclasses.replace(P.MechanismParams(), dropout_alliance=1e6)
    with pytest.raises(P.ConfigError, match=r"mechanisms\.dropout_alliance = 1000000\.0"):
        P.validate(dataclasses.replace(P.Config(arms={"a": P.ServiceParams()}), mechanisms=mech))


def test_calibrated_parameters_are_the_ones_the_calibration_record_lists():
    documented = (ROOT / "docs" / "calibration.md").read_text()
    calibrated = [n for n, f in _parameters() if f.metadata.get("source") == "calibrated"]
    free = yaml.safe_load((ROOT / "conf" / "calibration" / "free.yaml").read_text())["parameters"]
    # The calibrated parameters are exactly the free ones of the fit (docs/calibration.md, the protocol).
    assert {f"mechanisms.{n.split('.')[1]}" for n in calibrated} == {p["name"] for p in free}
    for name in calibrated:
        assert f"`mechanisms.{name.split('.')[1]}`" in documented, name


# --- no bare numbers in mechanism code ---------------------------------------

# Mechanism modules; a module-level constant with an UPPER_CASE name (a scale's end, ln 2) is declared, not bare.
MECHANISMS = ("alliance", "engagement", "pathways", "learning", "investigations", "recovery")
# 0 and 1: the ends of every [0, 1] scale and "none"/"one"; 30.0: the top of the PHQ-15 scale.
# 2 only as a square or as alternation between two roles, 0.5 only as a midpoint or a mean (below).
STRUCTURAL = {0, 1, 30}


def _is_structural(node: ast.Constant, parent: ast.AST | None) -> bool:
    """0.5 as the midpoint of a [0, 1] scale (x - 0.5, 0.5 - x) or the mean of two (0.5 * (a + b));
    2 as a square (x ** 2) or an alternation (n % 2)."""
    if not isinstance(parent, ast.BinOp):
        return False
    if node.value == 2:
        return parent.right is node and isinstance(parent.op, ast.Pow | ast.Mod)
    if node.value != 0.5:
        return False
    if isinstance(parent.op, ast.Sub):
        return True
    other = parent.right if parent.left is node else parent.left
    return isinstance(parent.op, ast.Mult) and isinstance(other, ast.BinOp) and isinstance(other.op, ast.Add)


def _declared_constants(tree: ast.AST) -> set[int]:
    """Nodes inside module-level assignments to UPPER_CASE names (``PHQ15_MAX = 30.0  # why``)."""
    body = tree.body if isinstance(tree, ast.Module) else []
    declared = set()
    for node in body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        if targets and all(isinstance(t, ast.Name) and t.id.isupper() for t in targets):
            declared |= {id(sub) for sub in ast.walk(node)}
    return declared


def _bare_numbers(
    tree: ast.AST, allowed: set[float], skip: set[int] = frozenset(), kinds: tuple[type, ...] = (int, float)
) -> list[tuple[int, float]]:
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    skip = set(skip) | _declared_constants(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in skip or not isinstance(node, ast.Constant):
            continue
        value = node.value
        if isinstance(value, bool) or not isinstance(value, kinds) or value in allowed:
            continue
        if _is_structural(node, parents.get(id(node))):
            continue
        found.append((node.lineno, value))
    return found


@pytest.mark.parametrize("module", MECHANISMS)
def test_mechanism_code_has_no_bare_coefficients(module):
    tree = ast.parse((ROOT / "sim" / "mechanisms" / f"{module}.py").read_text())
    assert _bare_numbers(tree, STRUCTURAL) == []


def test_initial_state_has_no_bare_coefficients():
    # 3.0: alliance is the mean of its three components (Bordin); 1000.0: head counts are per 1,000
    # patients; 1e-3 and 1e-9 keep Beta means and exponential scales off zero (numerical guards).
    # Whole numbers here are codes and counts (statuses, roles, the six initial-state draws).
    tree = ast.parse((ROOT / "sim" / "core" / "state.py").read_text())
    assert _bare_numbers(tree, STRUCTURAL | {3.0, 1000.0, 1e-3, 1e-9}, kinds=(float,)) == []


def test_reference_model_has_no_bare_coefficients_outside_recovery():
    tree = ast.parse((ROOT / "sim" / "reference.py").read_text())
    recovery = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "self_manage")
    skip = {id(n) for n in ast.walk(recovery)}
    assert _bare_numbers(tree, STRUCTURAL | {3.0}, skip) == []


def test_the_scan_catches_a_bare_coefficient():
    code = "y = x - 0.3\nz = 0.5 + w\nq = min(n, 5)\nr = step < 2\ns = n ** 2 + k % 2 - 0.5"
    assert _bare_numbers(ast.parse(code), STRUCTURAL) == [(1, 0.3), (2, 0.5), (3, 5), (4, 2)]
