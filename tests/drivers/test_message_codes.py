"""Every message code the drivers and the station's device code use is in the catalogue.

A code is written as ``msg("CODE", ...)``, as ``code="CODE"``, or assigned (alone or as the
values of a dict) to a name ending in ``code``/``codes``; this test finds them with ``ast``.
"""

from __future__ import annotations

import ast
from pathlib import Path

from domain.catalogue import problems
from domain.messages import catalogue

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    *sorted((ROOT / "drivers").glob("*.py")),
    ROOT / "station" / "devices.py",
    ROOT / "station" / "diagnostics.py",
    ROOT / "station" / "services" / "devices.py",
    ROOT / "station" / "commands" / "diag.py",
]


def _strings(node: ast.AST | None) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Dict):
        return [s for value in node.values for s in _strings(value)]
    return []


def _names_a_code(target: ast.AST) -> bool:
    name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")
    return name.lower().endswith(("code", "codes"))


def _targets(node: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return node.targets if isinstance(node, ast.Assign) else [node.target]


def message_codes(source: str) -> set[str]:
    """The message codes written in one module."""
    codes: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id == "msg" and node.args:
                codes.update(_strings(node.args[0]))
            codes.update(s for kw in node.keywords if kw.arg == "code" for s in _strings(kw.value))
        elif isinstance(node, ast.Assign | ast.AnnAssign) and any(
            map(_names_a_code, _targets(node))
        ):
            codes.update(_strings(node.value))
    return codes


def test_the_scan_finds_codes_in_each_form() -> None:
    source = (
        'A_CODE = "X1"\nB_CODES = {"k": "X2"}\nraise E("d", code="X3")\nm = msg("X4", n=1)\n'
        'reason = "NOT_A_CODE"\n'
    )
    assert message_codes(source) == {"X1", "X2", "X3", "X4"}


def test_every_code_is_in_the_devices_area_of_the_catalogue() -> None:
    found = {path.name: message_codes(path.read_text()) for path in SOURCES}
    assert found["r30x.py"] and found["diagnostics.py"] and found["devices.py"]
    areas = catalogue().areas
    missing = sorted(
        f"{name}: {code}"
        for name, codes in found.items()
        for code in codes
        if areas.get(code) != "devices"
    )
    assert missing == []


def test_the_devices_area_has_no_catalogue_problems() -> None:
    assert [p for p in problems() if "devices" in p] == []
