"""The live fingerprint score on synthetic fingers with known degradations.

The score is NIST NFIQ 2's forest on fast measures, so clean fingers are checked against NFIQ 2's
own score of the same image (nbis-python), not against a number of the score's own making."""

from __future__ import annotations

import numpy as np
import pytest

from quality.config import FingerprintConfig
from quality.fingerprint import assess_fingerprint
from quality.nfiq2 import nfiq2
from simulator.synth.fingerprint import FingerKnobs, FingerSpec, quantise_4bit, render_capture

SEEDS = (11, 12, 13)
THRESHOLD = FingerprintConfig().min_score
KNOBS = ("dryness", "smudge", "scars", "wear", "partial", "heavy", "light")


def _knobs(name: str, level: float) -> FingerKnobs:
    if name == "heavy":
        return FingerKnobs(pressure=float(level))
    if name == "light":
        return FingerKnobs(pressure=-float(level))
    return FingerKnobs(**{name: float(level)})


def _score(seed: int, knobs: FingerKnobs, attempt: int = 0) -> int:
    image = quantise_4bit(render_capture(FingerSpec.random(seed), attempt, knobs))
    return assess_fingerprint(image).score


@pytest.mark.parametrize("seed", SEEDS)
def test_clean_fingers_pass_and_agree_with_nfiq2_even_after_4bit_quantisation(seed: int) -> None:
    live: list[int] = []
    reference: list[int] = []
    for attempt in range(3):
        raw = render_capture(FingerSpec.random(seed), attempt)
        for image in (raw, quantise_4bit(raw)):
            result = assess_fingerprint(image)
            assert result.score >= THRESHOLD, result.measures
            assert result.reasons == []
            live.append(result.score)
            reference.append(nfiq2(image).score)
    # NFIQ 2 itself moves by up to ~10 between near-identical frames: compare the means.
    assert abs(np.mean(live) - np.mean(reference)) <= 10, (live, reference)


@pytest.mark.parametrize("knob", KNOBS)
def test_severe_degradation_falls_below_threshold(knob: str) -> None:
    for seed in SEEDS:
        clean = _score(seed, FingerKnobs())
        degraded = _score(seed, _knobs(knob, 1.0))
        assert clean >= THRESHOLD > degraded, (seed, clean, degraded)


@pytest.mark.parametrize(
    ("knobs", "code"),
    [
        (FingerKnobs(pressure=1.0), "FINGER_TOO_HEAVY"),
        (FingerKnobs(pressure=-1.0), "FINGER_TOO_LIGHT"),
        (FingerKnobs(dryness=0.9), "FINGER_DRY"),
        (FingerKnobs(partial=1.0), "FINGER_PARTIAL"),
    ],
)
def test_reasons_name_the_fault(knobs: FingerKnobs, code: str) -> None:
    image = quantise_4bit(render_capture(FingerSpec.random(SEEDS[0]), 0, knobs))
    result = assess_fingerprint(image)
    codes = [r.code for r in result.reasons]
    assert code in codes
    assert all(
        r.message.render("en")
        and r.message.render("id")
        and r.message.render("en") != r.message.render("id")
        for r in result.reasons
    )


def test_heavy_pressure_tells_the_resident_to_press_lightly() -> None:
    image = render_capture(FingerSpec.random(5), 0, FingerKnobs(pressure=1.0))
    found = {r.code: r for r in assess_fingerprint(image).reasons}
    assert "press more lightly" in found["FINGER_TOO_HEAVY"].message.render("en")
    assert "tekan lebih pelan" in found["FINGER_TOO_HEAVY"].message.render("id")


@pytest.mark.parametrize(
    "shape",
    [(288, 256), (288, 300), (500, 400), (750, 800), (1000, 1000)],
    ids=["r30x", "veridicom", "single-finger", "four-finger", "large"],
)
def test_any_platen_size_from_the_sensor_up(shape: tuple[int, int]) -> None:
    finger = render_capture(FingerSpec.random(3), 0)
    rows, cols = shape[0] - finger.shape[0], shape[1] - finger.shape[1]
    image = np.pad(
        finger, ((rows // 2, rows - rows // 2), (cols // 2, cols - cols // 2)), constant_values=238
    )
    reference = assess_fingerprint(finger)
    result = assess_fingerprint(image)
    assert abs(result.score - reference.score) <= 5, result.measures
    assert result.reasons == []
    assert result.measures["foreground_area"] == pytest.approx(
        reference.measures["foreground_area"], rel=0.1
    )
    assert 5.0 <= result.measures["ridge_period"] <= 15.0


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((288, 256), np.uint8),
        np.full((288, 256), 255, np.uint8),
        np.full((288, 256), 128, np.uint8),
    ],
    ids=["black", "white", "grey"],
)
def test_blank_images_score_zero(image: np.ndarray) -> None:
    result = assess_fingerprint(image)
    assert result.score == 0
    assert [r.code for r in result.reasons] == ["NO_FINGER"]


def test_noise_and_checks_are_not_fingerprints() -> None:
    noise = np.random.default_rng(0).integers(0, 256, (288, 256), dtype=np.uint8)
    checks = (np.indices((288, 256)).sum(0) % 2 * 255).astype(np.uint8)
    assert assess_fingerprint(noise).score < THRESHOLD
    assert assess_fingerprint(checks).score < THRESHOLD


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((1, 1), np.uint8),
        np.zeros((288, 256), np.float32),
        np.full((288, 256), np.nan),
        np.zeros((288, 256, 3), np.uint8),
        "not an image",
    ],
    ids=["1x1", "float32", "nan", "colour", "str"],
)
def test_bad_inputs_raise_value_error(image: object) -> None:
    with pytest.raises(ValueError):
        assess_fingerprint(image)  # type: ignore[arg-type]
