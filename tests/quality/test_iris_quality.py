"""Iris quality and segmentation against synthetic eyes with known circles."""

from __future__ import annotations

import numpy as np
import pytest

from quality.config import IrisConfig
from quality.iris import assess_iris
from simulator.synth.iris import IrisKnobs, IrisSpec, render_both_eyes, render_eye

THRESHOLD = IrisConfig().min_score


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_segmentation_recovers_known_circles(seed: int) -> None:
    image, truth = render_eye(IrisSpec.random(seed))
    assert truth is not None
    m = assess_iris(image).measures
    assert m["iris_radius"] == pytest.approx(truth.iris_radius, rel=0.05)
    assert m["pupil_radius"] == pytest.approx(truth.pupil_radius, rel=0.05)
    assert abs(m["iris_x"] - truth.iris_centre[0]) < 0.05 * truth.iris_radius
    assert abs(m["iris_y"] - truth.iris_centre[1]) < 0.05 * truth.iris_radius
    assert abs(m["pupil_x"] - truth.pupil_centre[0]) < 0.05 * truth.pupil_radius
    assert abs(m["pupil_y"] - truth.pupil_centre[1]) < 0.05 * truth.pupil_radius


@pytest.mark.parametrize(
    "knobs",
    [
        IrisKnobs(scale=0.7),
        IrisKnobs(offset_x=80, offset_y=-30),
        IrisKnobs(pupil_scale=1.4),
        IrisKnobs(occlusion=0.4),
    ],
)
def test_segmentation_holds_under_pose_and_dilation(knobs: IrisKnobs) -> None:
    image, truth = render_eye(IrisSpec.random(7), knobs)
    assert truth is not None
    m = assess_iris(image).measures
    assert m["iris_radius"] == pytest.approx(truth.iris_radius, rel=0.05)
    assert m["pupil_radius"] == pytest.approx(truth.pupil_radius, rel=0.05)


def test_clean_eyes_pass_and_both_eye_frame_splits() -> None:
    frame = render_both_eyes(IrisSpec.random(1), IrisSpec.random(2))
    assert frame.shape == (480, 1280)
    for half in (frame[:, :640], frame[:, 640:]):
        result = assess_iris(half)
        assert result.score >= 80, result.measures
        assert result.reasons == []


@pytest.mark.parametrize(
    ("knobs", "code"),
    [
        (IrisKnobs(occlusion=0.75), "IRIS_OCCLUDED"),
        (IrisKnobs(reflections=1.0), "IRIS_REFLECTIONS"),
        (IrisKnobs(blur=5.0), "IRIS_BLURRED"),
        (IrisKnobs(scale=0.55), "IRIS_TOO_SMALL"),
        (IrisKnobs(offset_x=200), "IRIS_NOT_CENTRED"),
        (IrisKnobs(pupil_scale=0.45), "PUPIL_DILATION"),
        (IrisKnobs(closed=True), "EYE_NOT_FOUND"),
        (IrisKnobs(absent=True), "EYE_NOT_FOUND"),
    ],
)
def test_faults_give_reasons_and_fail(knobs: IrisKnobs, code: str) -> None:
    image, _ = render_eye(IrisSpec.random(3), knobs)
    result = assess_iris(image)
    assert code in [r.code for r in result.reasons]
    assert result.score < THRESHOLD


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((480, 640), np.uint8),
        np.full((480, 640), 255, np.uint8),
        np.random.default_rng(0).integers(0, 256, (480, 640), dtype=np.uint8),
    ],
    ids=["black", "white", "noise"],
)
def test_no_eye_scores_zero(image: np.ndarray) -> None:
    result = assess_iris(image)
    assert result.score == 0
    assert [r.code for r in result.reasons] == ["EYE_NOT_FOUND"]


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((1, 1), np.uint8),
        np.zeros((480, 640), np.float64),
        np.full((480, 640), np.nan),
        np.zeros((480, 640, 3), np.uint8),
        [[1, 2], [3, 4]],
    ],
    ids=["1x1", "float", "nan", "colour", "list"],
)
def test_bad_inputs_raise_value_error(image: object) -> None:
    with pytest.raises(ValueError):
        assess_iris(image)  # type: ignore[arg-type]
