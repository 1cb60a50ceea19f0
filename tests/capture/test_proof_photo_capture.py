"""Proof photos taken through Capture, in-process against fake devices: which frame is kept,
where it waits for MarkException, the journal, and that nothing of it outlives the enrollment.

Assertions name reason codes and states; never sentences."""

from __future__ import annotations

import os
import threading

import cv2
import numpy as np
import pytest
from fake_devices import FakeKit, make_workflow, subject

from capture.engine import CaptureSettings, PreviewEvent, PromptEvent
from capture.errors import ErrorKind, WorkflowError
from capture.journal import EnrollmentJournal
from capture.proof_photo import frame_check
from capture.workflow import CaptureResultEvent
from domain.vocabulary import Position

INDEX = Position.RIGHT_INDEX
SHORT = CaptureSettings(timeout_s=2.0, preview_fps=0)


def scene(seed: int) -> np.ndarray:
    """A camera frame with detail: a hand, a face, a room."""
    rng = np.random.default_rng(seed)
    small = rng.integers(40, 220, (12, 16, 3), dtype=np.uint8)
    return cv2.resize(small, (320, 240), interpolation=cv2.INTER_LINEAR)


def proof_capture(workflow, kit: FakeKit, enrollment_id: str, *frames: np.ndarray) -> list:
    kit.face_camera.offer(*frames)
    return list(workflow.capture_proof(enrollment_id, INDEX, threading.Event(), settings=SHORT))


@pytest.mark.parametrize(
    ("frame", "picture"),
    [
        (scene(1), True),
        (np.zeros((240, 320, 3), np.uint8), False),  # a covered lens
        (np.full((240, 320, 3), 255, np.uint8), False),  # blown out
        (np.full((240, 320, 3), 128, np.uint8), False),  # no detail at all
        ((scene(2) * 0.04).astype(np.uint8), False),  # far too dark to show anything
    ],
)
def test_a_frame_counts_only_when_it_is_a_picture(frame, picture):
    assert (frame_check(frame).score > 0) is picture


def test_the_photo_is_the_frame_the_preview_ends_on_and_waits_for_the_exception():
    kit = FakeKit()
    workflow = make_workflow(kit)
    enrollment = workflow.start(subject(), "op-ani")  # no face photo needed first
    events = proof_capture(workflow, kit, enrollment.enrollment_id, scene(1), scene(2))
    assert isinstance(events[0], PromptEvent)
    assert events[0].instruction == "SHOW_FOR_PROOF_PHOTO"
    assert events[0].device_id == kit.face_camera.device_id
    assert sum(isinstance(e, PreviewEvent) for e in events) == 2
    result = events[-1]
    assert isinstance(result, CaptureResultEvent) and result.accepted
    assert np.array_equal(result.sample.image, scene(2))
    kept = cv2.imdecode(np.frombuffer(enrollment.proof_photos[INDEX], np.uint8), cv2.IMREAD_COLOR)
    assert float(np.abs(kept.astype(float) - scene(2)).mean()) < 3  # the JPEG of that frame
    assert INDEX not in enrollment.samples and INDEX in enrollment.missing()
    assert enrollment.attempts.get(INDEX, 0) == 0

    photo = enrollment.proof_photos[INDEX]
    workflow.mark_exception(
        enrollment.enrollment_id, INDEX, "amputated", "", "sup-budi", b"", proof_from_capture=True
    )
    assert enrollment.exceptions[INDEX].proof_photo == photo
    assert enrollment.proof_photos == {}


def test_a_preview_ending_on_a_black_frame_keeps_no_photo():
    kit = FakeKit()
    workflow = make_workflow(kit)
    enrollment = workflow.start(subject(), "op-ani")
    black = np.zeros((240, 320, 3), np.uint8)
    result = proof_capture(workflow, kit, enrollment.enrollment_id, scene(1), black)[-1]
    assert not result.accepted and result.reason == "PROOF_PHOTO_BLANK"
    assert enrollment.proof_photos == {}
    with pytest.raises(WorkflowError) as caught:
        workflow.mark_exception(
            enrollment.enrollment_id, INDEX, "amputated", "", "sup-budi", b"", True
        )
    assert caught.value.kind is ErrorKind.FAILED_PRECONDITION
    assert caught.value.reason == "PROOF_PHOTO_NOT_CAPTURED"
    assert INDEX not in enrollment.exceptions


def test_a_camera_that_gives_no_frame_is_nothing_presented():
    kit = FakeKit()
    workflow = make_workflow(kit)
    enrollment = workflow.start(subject(), "op-ani")
    result = proof_capture(workflow, kit, enrollment.enrollment_id)[-1]
    assert not result.accepted and result.reason == "NOTHING_PRESENTED"
    assert enrollment.proof_photos == {}


def test_a_pending_proof_photo_is_journaled_and_leaves_with_the_enrollment(tmp_path):
    kit = FakeKit()
    journal = EnrollmentJournal(tmp_path / "journal", os.urandom(32))
    workflow = make_workflow(kit, journal)
    enrollment = workflow.start(subject(), "op-ani")
    assert proof_capture(workflow, kit, enrollment.enrollment_id, scene(3))[-1].accepted
    photo = enrollment.proof_photos[INDEX]

    restored = make_workflow(kit, journal).get(enrollment.enrollment_id)
    assert restored.proof_photos == {INDEX: photo}
    folder = tmp_path / "journal" / enrollment.enrollment_id
    assert not any(photo[:64] in path.read_bytes() for path in folder.iterdir())  # encrypted

    workflow.cancel(enrollment.enrollment_id)
    assert enrollment.proof_photos == {} and not folder.exists()
