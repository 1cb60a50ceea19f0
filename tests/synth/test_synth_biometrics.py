"""Synthetic biometrics: determinism, shapes, ground truth and capture-to-capture identity."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from simulator.synth.face import BACKGROUNDS_BGR, FaceKnobs, face_truth, render_face
from simulator.synth.fingerprint import (
    SENSOR_HEIGHT,
    SENSOR_WIDTH,
    FingerKnobs,
    FingerSpec,
    capture_pose,
    finger_master,
    quantise_4bit,
    render_capture,
)
from simulator.synth.iris import IrisKnobs, IrisSpec, eye_truth, render_both_eyes, render_eye
from simulator.synth.signature import (
    SAMPLE_RATE_HZ,
    SignatureKnobs,
    make_signature,
    to_pen_reports,
)


def _undo_pose(image: np.ndarray, spec: FingerSpec, attempt: int) -> np.ndarray:
    pose = capture_pose(spec, attempt)
    centre = (SENSOR_WIDTH / 2, SENSOR_HEIGHT / 2)
    m = cv2.getRotationMatrix2D(centre, pose.angle, 1.0)
    m[0, 2] += pose.dx
    m[1, 2] += pose.dy
    return cv2.warpAffine(image, cv2.invertAffineTransform(m), (SENSOR_WIDTH, SENSOR_HEIGHT))


def _centre_correlation(a: np.ndarray, b: np.ndarray) -> float:
    a_c = a[84:204, 68:188].astype(np.float64).ravel()
    b_c = b[84:204, 68:188].astype(np.float64).ravel()
    return float(np.corrcoef(a_c, b_c)[0, 1])


def test_fingerprint_is_deterministic_and_sensor_sized() -> None:
    spec = FingerSpec.random(42)
    first = render_capture(spec, 3, FingerKnobs(dryness=0.3))
    again = render_capture(FingerSpec.random(42), 3, FingerKnobs(dryness=0.3))
    assert first.shape == (SENSOR_HEIGHT, SENSOR_WIDTH) and first.dtype == np.uint8
    assert np.array_equal(first, again)
    assert not np.array_equal(first, render_capture(spec, 4, FingerKnobs(dryness=0.3)))
    assert finger_master(spec) is finger_master(FingerSpec.random(42))


def test_fingerprint_quantisation_has_16_levels() -> None:
    levels = np.unique(quantise_4bit(render_capture(FingerSpec.random(1), 0)))
    assert len(levels) <= 16 and set(levels.tolist()) <= {17 * i for i in range(16)}


def test_attempts_stay_the_same_finger() -> None:
    spec, other = FingerSpec.random(5), FingerSpec.random(6)
    reference = render_capture(spec, 0)
    for attempt in range(1, 6):
        pose = capture_pose(spec, attempt)
        assert abs(pose.dx) <= 20 and abs(pose.dy) <= 20 and abs(pose.angle) <= 5
        same = _centre_correlation(
            reference, _undo_pose(render_capture(spec, attempt), spec, attempt)
        )
        different = _centre_correlation(
            reference, _undo_pose(render_capture(other, attempt), other, attempt)
        )
        assert same > 0.6 > abs(different), (attempt, same, different)


def test_different_seeds_give_different_fingers() -> None:
    a, b = render_capture(FingerSpec.random(1), 0), render_capture(FingerSpec.random(2), 0)
    assert abs(_centre_correlation(a, b)) < 0.4


def test_pressure_changes_darkness_monotonically() -> None:
    spec = FingerSpec.random(9)
    means = [
        float(render_capture(spec, 0, FingerKnobs(pressure=p)).mean())
        for p in (-1.0, -0.5, 0.0, 0.5, 1.0)
    ]
    assert means == sorted(means, reverse=True)


def test_eye_truth_matches_the_rendered_pupil() -> None:
    spec = IrisSpec.random(3)
    image, truth = render_eye(spec)
    assert image.shape == (480, 640) and image.dtype == np.uint8
    assert truth == eye_truth(spec)
    px, py = (round(v) for v in truth.pupil_centre)
    r = int(truth.pupil_radius)
    assert image[py + r // 2, px] < 40  # inside the pupil (below the reflections)
    assert image[py, px + int(truth.pupil_radius + 0.5 * (truth.iris_radius - r))] > 40
    assert np.array_equal(image, render_eye(IrisSpec.random(3))[0])


def test_both_eyes_frame_and_absent_eye() -> None:
    frame = render_both_eyes(IrisSpec.random(1), None)
    assert frame.shape == (480, 1280)
    right_half, left_half = frame[:, :640], frame[:, 640:]
    assert right_half.min() < 30  # a pupil
    assert left_half.min() > 60  # no pupil: an empty socket
    assert eye_truth(IrisSpec.random(1), IrisKnobs(absent=True)) is None


def test_face_frame_backdrop_and_truth() -> None:
    for colour in ("red", "blue"):
        frame = render_face(640, 480, FaceKnobs(background=colour, noise=0))
        assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
        corner = frame[5:40, 5:40].reshape(-1, 3).mean(axis=0)
        assert np.abs(corner - np.array(BACKGROUNDS_BGR[colour])).max() < 30
    truth = face_truth(640, 480, FaceKnobs(scale=1.0))
    assert 60 < truth.inter_eye_px < 100
    assert truth.face_centre[0] == pytest.approx(320, abs=1)
    darker = render_face(640, 480, FaceKnobs(darkness=0.5))
    assert darker.mean() < render_face(640, 480, FaceKnobs()).mean() * 0.6


def test_signature_strokes_in_unit_square_at_pad_rate() -> None:
    strokes = make_signature(3)
    assert len(strokes) >= 2
    for stroke in strokes:
        for x, y, p in stroke:
            assert 0 <= x <= 1 and 0 <= y <= 1 and 0 < p <= 1
    reports = to_pen_reports(strokes, 1000, 1000)
    gaps = np.diff([r[0] for r in reports])
    assert np.median(gaps) == pytest.approx(1000 / SAMPLE_RATE_HZ, abs=1)
    assert any(not r[4] for r in reports)  # pen lifts
    assert make_signature(3) == strokes and make_signature(4) != strokes
    assert make_signature(3, SignatureKnobs(kind="blank")) == []
    assert len(make_signature(3, SignatureKnobs(kind="single_line"))) == 1


def test_wrong_colour_turns_the_backdrop_hue_step_by_step() -> None:
    from simulator.synth.face import backdrop_bgr

    def hue(knobs: FaceKnobs) -> int:
        pixel = np.uint8([[backdrop_bgr(knobs)]])
        return int(cv2.cvtColor(pixel, cv2.COLOR_BGR2HSV)[0, 0, 0])

    red_to_blue = [hue(FaceKnobs(wrong_colour=v)) for v in np.linspace(0, 1, 6)]
    assert red_to_blue == sorted(red_to_blue, reverse=True) and len(set(red_to_blue)) == 6
    assert red_to_blue[-1] == hue(FaceKnobs(background="blue"))
    blue_to_red = [hue(FaceKnobs(background="blue", wrong_colour=v)) for v in (0, 0.5, 1)]
    assert blue_to_red[0] < blue_to_red[1] < 180 and blue_to_red[2] == hue(FaceKnobs())


def test_second_face_grows_with_its_knob() -> None:
    plain = render_face(640, 480, FaceKnobs(noise=0)).astype(int)
    changed = [
        int((np.abs(render_face(640, 480, FaceKnobs(second_face=v, noise=0)) - plain) > 30).sum())
        for v in (0.0, 0.4, 0.8)
    ]
    assert changed[0] == 0 < changed[1] < changed[2]


def test_iris_reflections_and_scars_grow_with_their_knobs() -> None:
    spec = IrisSpec.random(4)
    truth = eye_truth(spec)
    assert truth is not None
    cx, cy = (int(v) for v in truth.iris_centre)
    ring = np.zeros((480, 640), bool)
    cv2.circle(ring.view(np.uint8), (cx, cy), int(truth.iris_radius), 1, -1)
    bright = [
        int((render_eye(spec, IrisKnobs(reflections=v))[0][ring] > 230).sum())
        for v in (0.0, 0.5, 1.0)
    ]
    assert bright[0] < bright[1] < bright[2]
    finger = FingerSpec.random(8)
    scarred = render_capture(finger, 0, FingerKnobs(scars=0.6))
    assert np.array_equal(scarred, render_capture(finger, 0, FingerKnobs(scars=0.6)))
    assert not np.array_equal(scarred, render_capture(finger, 0))
