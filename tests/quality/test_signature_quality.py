"""Signature quality on synthetic pen traces."""

from __future__ import annotations

import math

import pytest

from drivers.base import PenPoint
from quality.config import SignatureConfig
from quality.signature import assess_signature
from simulator.synth.signature import SignatureKnobs, make_signature, to_pen_reports

PAD = (10000, 4000)
THRESHOLD = SignatureConfig().min_score


def _assess(knobs: SignatureKnobs, seed: int = 0):
    return assess_signature(to_pen_reports(make_signature(seed, knobs), *PAD), *PAD)


@pytest.mark.parametrize("seed", range(5))
def test_normal_signatures_pass(seed: int) -> None:
    result = _assess(SignatureKnobs(), seed)
    assert result.score >= 90
    assert result.reasons == []
    assert result.measures["strokes"] >= 2


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("blank", "SIGNATURE_BLANK"),
        ("single_line", "SIGNATURE_SINGLE_STROKE"),
        ("too_short", "SIGNATURE_TOO_SHORT"),
        ("too_short", "SIGNATURE_TOO_FEW_POINTS"),
    ],
)
def test_faulty_signatures_give_reasons(kind: str, code: str) -> None:
    result = _assess(SignatureKnobs(kind=kind))
    assert code in [r.code for r in result.reasons]
    assert result.score < THRESHOLD


def test_tiny_signature_is_too_small() -> None:
    result = _assess(SignatureKnobs(size=0.12))
    assert "SIGNATURE_TOO_SMALL" in [r.code for r in result.reasons]


def test_points_outside_the_pad_are_reported() -> None:
    reports = to_pen_reports(make_signature(1), *PAD)
    shifted = [(t, x + 3000, y, p, touch) for t, x, y, p, touch in reports]
    result = assess_signature(shifted, *PAD)
    assert "SIGNATURE_OUT_OF_PAD" in [r.code for r in result.reasons]
    assert result.measures["outside_fraction"] > 0


def test_pen_points_from_the_driver_are_accepted() -> None:
    reports = to_pen_reports(make_signature(2), *PAD)
    points = [PenPoint(t, x, y, p, touch) for t, x, y, p, touch in reports]
    assert assess_signature(points, *PAD).score == _assess(SignatureKnobs(), 2).score


@pytest.mark.parametrize(
    ("points", "size"),
    [([(0, 1, 2)], PAD), ([(0, math.nan, 1, 1, True)], PAD), ([], (0, 100)), (["abcde"], PAD)],
)
def test_bad_inputs_raise_value_error(points: list, size: tuple[int, int]) -> None:
    with pytest.raises(ValueError):
        assess_signature(points, *size)
