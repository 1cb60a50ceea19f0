"""Face-photo quality against the composed astronaut portrait."""

from __future__ import annotations

import numpy as np
import pytest

from quality.config import FaceConfig
from quality.face import assess_face, expected_background
from simulator.synth.face import FaceKnobs, face_truth, render_face

THRESHOLD = FaceConfig().min_score


def _assess(knobs: FaceKnobs, birth_year: int | None = 1987, seed: int = 0):
    return assess_face(render_face(640, 480, knobs, seed=seed), birth_year)


def test_background_colour_follows_birth_year_parity() -> None:
    assert expected_background(1987) == "red"
    assert expected_background(1990) == "blue"
    assert expected_background(None) is None


@pytest.mark.parametrize(("colour", "year"), [("red", 1987), ("blue", 2008)])
def test_clean_portrait_passes(colour: str, year: int) -> None:
    result = _assess(FaceKnobs(background=colour), year)
    assert result.score >= 85, result.measures
    assert result.reasons == []
    truth = face_truth(640, 480, FaceKnobs(background=colour))
    assert result.measures["inter_eye_px"] == pytest.approx(truth.inter_eye_px, rel=0.15)


@pytest.mark.parametrize(
    ("knobs", "year", "code"),
    [
        (FaceKnobs(background="blue"), 1987, "WRONG_BACKGROUND_COLOUR"),
        (FaceKnobs(background="grey"), 1990, "WRONG_BACKGROUND_COLOUR"),
        (FaceKnobs(second_face=1.0), 1987, "MULTIPLE_FACES"),
        (FaceKnobs(second_face=0.6), 1987, "MULTIPLE_FACES"),
        (FaceKnobs(wrong_colour=1.0), 1987, "WRONG_BACKGROUND_COLOUR"),
        (FaceKnobs(scale=2.8), 1987, "FACE_TOO_LARGE"),
        (FaceKnobs(offset_y=0.3), 1987, "FACE_NOT_CENTRED"),
        (FaceKnobs(offset_x=0.22), 1987, "FACE_NOT_CENTRED"),
        (FaceKnobs(scale=0.6), 1987, "FACE_TOO_SMALL"),
        (FaceKnobs(blur=4.0), 1987, "FACE_BLURRED"),
        (FaceKnobs(darkness=0.75), 1987, "FACE_TOO_DARK"),
        (FaceKnobs(roll_degrees=16), 1987, "FACE_TILTED"),
    ],
)
def test_each_fault_gives_its_reason(knobs: FaceKnobs, year: int, code: str) -> None:
    result = _assess(knobs, year)
    assert code in [r.code for r in result.reasons], result.reasons
    assert result.score < THRESHOLD


def test_wrong_colour_sentence_names_the_right_colour() -> None:
    result = _assess(FaceKnobs(background="blue"), 1987)
    found = {r.code: r for r in result.reasons}["WRONG_BACKGROUND_COLOUR"]
    assert found.message.render("en") == "Wrong background colour for birth year 1987: use red."
    assert "merah" in found.message.render("id")


def test_no_face_scores_zero() -> None:
    backdrop = np.zeros((480, 640, 3), np.uint8)
    backdrop[:] = (38, 32, 196)
    result = assess_face(backdrop, 1987)
    assert result.score == 0
    assert [r.code for r in result.reasons] == ["NO_FACE"]


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((1, 1, 3), np.uint8),
        np.zeros((480, 640), np.uint8),
        np.zeros((480, 640, 3), np.float32),
        np.full((480, 640, 3), np.nan),
        None,
    ],
    ids=["1x1", "grey", "float32", "nan", "none"],
)
def test_bad_inputs_raise_value_error(image: object) -> None:
    with pytest.raises(ValueError):
        assess_face(image, 1987)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0, 255])
def test_flat_frames_score_zero(value: int) -> None:
    assert assess_face(np.full((480, 640, 3), value, np.uint8), 1990).score == 0
