"""Every operator sentence of capture/, drivers/, quality/, station/ and uploader/ comes from the
message catalogue: each code the code names has a sentence, and no sentence is written inline."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from capture.engine import INSTRUCTION_BY_MODALITY
from domain.messages import catalogue, languages
from quality.base import Reason
from quality.reasons import codes

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("capture", "drivers", "quality", "station", "uploader")
GENERATED = ROOT / "station" / "v1"
MODULES = sorted(
    path
    for package in PACKAGES
    for path in (ROOT / package).rglob("*.py")
    if GENERATED not in path.parents
)
# Calls whose argument at this index is a catalogue code.
CODE_ARGUMENT = {"msg": 0, "Message": 0, "prompt": 1}
# Words that mark a Bahasa Indonesia sentence.
INDONESIAN = {"tidak", "penduduk", "perangkat", "perekaman", "rekaman", "sudah", "belum", "untuk"}


def _name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _literal(call: ast.Call, index: int) -> str | None:
    if len(call.args) > index:
        argument = call.args[index]
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            return argument.value
    return None


def named_codes(tree: ast.AST) -> list[str]:
    """The catalogue codes a module names literally: msg("CODE"), Message("CODE"),
    prompt(position, "CODE"), and quality reasons reason("CODE") (sentence QUALITY_CODE)."""
    found: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node)
        if name in CODE_ARGUMENT and (code := _literal(node, CODE_ARGUMENT[name])):
            found.append(code)
        elif name == "reason" and (code := _literal(node, 0)):
            found.append(Reason(code).message_code)
    return found


def _docstrings(tree: ast.AST) -> set[int]:
    nodes = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, nodes)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def inline_sentences(tree: ast.AST) -> list[str]:
    """What a module still writes itself: OperatorText, or a Bahasa Indonesia sentence."""
    found: list[str] = []
    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name == "OperatorText" for a in node.names):
            found.append(f"line {node.lineno}: imports OperatorText")
        elif isinstance(node, ast.Name | ast.Attribute) and "OperatorText" in (
            getattr(node, "id", ""),
            getattr(node, "attr", ""),
        ):
            found.append(f"line {node.lineno}: uses OperatorText")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            words = set(node.value.lower().replace(",", " ").replace(".", " ").split())
            if id(node) not in docstrings and len(words & INDONESIAN) >= 2:
                found.append(f"line {node.lineno}: {node.value!r}")
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_code_a_module_names_has_a_sentence(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    known = catalogue().areas
    assert [code for code in named_codes(tree) if code not in known] == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_writes_its_own_sentences(path: Path) -> None:
    assert inline_sentences(ast.parse(path.read_text(encoding="utf-8"))) == []


def test_every_quality_reason_and_prompt_is_worded_in_every_language() -> None:
    wanted = [Reason(code).message_code for code in codes()]
    wanted += [*INSTRUCTION_BY_MODALITY.values(), "LIFT_FINGER", "HOLD_STILL"]
    sentences = catalogue().sentences
    for language in languages():
        assert [code for code in wanted if code not in sentences[language]] == [], language


def test_the_scan_finds_codes_and_inline_sentences() -> None:
    source = (
        "from drivers.errors import OperatorText\n"
        "a = msg('NO_SUCH_CODE', x=1)\n"
        "b = reason('NO_FINGER')\n"
        "c = prompt(p, 'HOLD_STILL')\n"
        "d = OperatorText('x', 'Perangkat tidak ditemukan.')\n"
    )
    tree = ast.parse(source)
    assert named_codes(tree) == ["NO_SUCH_CODE", "QUALITY_NO_FINGER", "HOLD_STILL"]
    assert len(inline_sentences(tree)) == 3  # the import, the name, the Indonesian sentence
