"""The kit's same-finger check with the real matcher (MINDTCT + Bozorth3) on synthetic prints."""

from __future__ import annotations

from capture.duplicates import SameFingerCheck
from capture.engine import CaptureSettings
from capture.enrollment import EnrollmentStore
from capture.workflow import EnrollmentWorkflow
from quality.matching import BOZORTH3_THRESHOLD
from simulator.synth import FingerSpec, quantise_4bit, render_capture


def _print(seed: int, attempt: int):
    return quantise_4bit(render_capture(FingerSpec.random(seed), attempt))


def test_the_same_finger_again_is_found_and_other_fingers_are_not():
    check = SameFingerCheck()
    kept = {"right_thumb": _print(1, 1), "right_index": _print(2, 1), "right_middle": _print(3, 1)}
    match = check.find(_print(2, 2), kept)
    assert match is not None and match.position == "right_index"
    assert match.score >= BOZORTH3_THRESHOLD
    assert check.find(_print(4, 1), kept) is None
    assert check.find(_print(4, 1), {}) is None


def test_the_threshold_comes_from_the_capture_settings():
    def workflow(settings: CaptureSettings) -> EnrollmentWorkflow:
        return EnrollmentWorkflow(EnrollmentStore(), lambda m: None, lambda p: None, None, settings)

    assert workflow(CaptureSettings()).same_finger.threshold == BOZORTH3_THRESHOLD == 40
    strict = workflow(CaptureSettings(same_finger_score=10_000)).same_finger
    assert strict.threshold == 10_000
    assert strict.find(_print(2, 2), {"right_index": _print(2, 1)}) is None
