"""Face checks for what real photos bring: glasses, groups, dim backdrops, graded scores."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from quality.config import FaceConfig
from quality.face import assess_face
from simulator.synth.face import FaceKnobs, face_truth, render_face, render_group_standing_back

THRESHOLD = FaceConfig().min_score


def _codes(result) -> list[str]:
    return [r.code for r in result.reasons]


def _with_glasses(knobs: FaceKnobs) -> np.ndarray:
    """The portrait wearing dark-rimmed glasses: an oval rim round each eye and a bridge."""
    frame = render_face(640, 480, knobs)
    truth = face_truth(640, 480, knobs)
    rx, ry = round(0.4 * truth.inter_eye_px), round(0.3 * truth.inter_eye_px)
    dark = (30, 30, 30)
    for eye in (truth.right_eye, truth.left_eye):
        cv2.ellipse(frame, (round(eye[0]), round(eye[1])), (rx, ry), 0, 0, 360, dark, 3)
    bridge_y = round((truth.right_eye[1] + truth.left_eye[1]) / 2)
    start = (round(truth.right_eye[0]) + rx, bridge_y)
    cv2.line(frame, start, (round(truth.left_eye[0]) - rx, bridge_y), dark, 3)
    return frame


@pytest.mark.parametrize("scale", [1.0, 1.4])
def test_eyes_are_found_behind_glasses(scale: float) -> None:
    knobs = FaceKnobs(scale=scale)
    result = assess_face(_with_glasses(knobs), 1987)
    assert result.measures.get("eyes_found") == 1.0, result.reasons
    assert "EYES_NOT_VISIBLE" not in _codes(result)
    truth = face_truth(640, 480, knobs)
    assert result.measures["inter_eye_px"] == pytest.approx(truth.inter_eye_px, rel=0.1)


def test_group_of_small_faces_is_multiple_faces_not_no_face() -> None:
    # Three people standing back from the camera: each head well under a tenth of the frame.
    frame = render_group_standing_back()
    result = assess_face(frame, 1987)
    assert "NO_FACE" not in _codes(result)
    assert "MULTIPLE_FACES" in _codes(result)
    assert result.measures["faces"] >= 2


@pytest.mark.parametrize("year", [1987, 1990])
def test_dark_brown_backdrop_is_neither_red_nor_blue(year: int) -> None:
    result = assess_face(render_face(640, 480, FaceKnobs(background="brown")), year)
    assert "WRONG_BACKGROUND_COLOUR" in _codes(result)
    assert result.measures["background_is_red"] == 0.0
    assert result.measures["background_is_blue"] == 0.0
    assert result.score < THRESHOLD


@pytest.mark.parametrize(("colour", "year"), [("red", 1987), ("blue", 1990)])
@pytest.mark.parametrize("darkness", [0.0, 0.15, 0.25])
def test_red_and_blue_backdrops_pass_in_dimmer_light(colour: str, year: int, darkness: float):
    result = assess_face(
        render_face(640, 480, FaceKnobs(background=colour, darkness=darkness)), year
    )
    assert "WRONG_BACKGROUND_COLOUR" not in _codes(result), result.measures
    assert result.measures[f"background_is_{colour}"] == 1.0


def test_score_stays_graded_when_a_rule_fails() -> None:
    blank = assess_face(np.full((480, 640, 3), (196, 112, 28), np.uint8), 1987)
    wrong_backdrop = assess_face(render_face(640, 480, FaceKnobs(background="blue")), 1987)
    many_faults = assess_face(
        render_face(640, 480, FaceKnobs(background="blue", blur=4.0, offset_x=0.2)), 1987
    )
    assert blank.score == 0
    assert _codes(wrong_backdrop) == ["WRONG_BACKGROUND_COLOUR"]
    assert THRESHOLD > wrong_backdrop.score > many_faults.score > blank.score


def test_any_reason_keeps_the_score_below_the_pass_mark() -> None:
    # A mild fault whose sub-score alone would leave the product above the pass mark.
    config = FaceConfig(failed_rule_floor=0.9)
    result = assess_face(render_face(640, 480, FaceKnobs(background="blue")), 1987, config)
    assert "WRONG_BACKGROUND_COLOUR" in _codes(result)
    assert result.score == config.min_score - 1


@pytest.mark.parametrize("covered", ["right", "left"])
def test_an_eye_under_a_dressing_is_not_made_up(covered: str) -> None:
    # A skin-coloured dressing over one eye: the other eye's mirror image must not stand in.
    knobs = FaceKnobs(scale=1.3)
    frame = render_face(640, 480, knobs)
    truth = face_truth(640, 480, knobs)
    eye = truth.right_eye if covered == "right" else truth.left_eye
    cx, cy = round(eye[0]), round(eye[1] + 0.45 * truth.inter_eye_px)
    skin = frame[cy - 5 : cy + 5, cx - 5 : cx + 5].reshape(-1, 3).mean(axis=0)
    axes = (round(0.35 * truth.inter_eye_px), round(0.25 * truth.inter_eye_px))
    centre = (round(eye[0]), round(eye[1]))
    cv2.ellipse(frame, centre, axes, 0, 0, 360, tuple(float(c) for c in skin), -1)
    frame = cv2.GaussianBlur(frame, (0, 0), 1.0)
    result = assess_face(frame, 1987)
    assert result.measures.get("eyes_found", 0.0) == 0.0
    assert {"EYES_NOT_VISIBLE", "NO_FACE"} & set(_codes(result))
    assert result.score < THRESHOLD
