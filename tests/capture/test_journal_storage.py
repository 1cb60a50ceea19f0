"""A full disk under the enrollment journal: a capture answers RESOURCE_EXHAUSTED and is not
kept, in memory or on disk; once there is room, the same capture is kept.

The journal lives on a real 16 MiB tmpfs filled up for real (the kernel answers ENOSPC)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from fake_devices import FakeKit, capture, make_workflow, subject, with_approved_face
from storage.disks import empty, fill, small_disk

from capture.errors import ErrorKind, WorkflowError
from capture.journal import EnrollmentJournal
from domain.vocabulary import Position

GOOD = 90
THUMB, INDEX = Position.RIGHT_THUMB, Position.RIGHT_INDEX


@pytest.fixture
def disk(tmp_path: Path):
    with small_disk(tmp_path / "disk") as mounted:
        yield mounted


def refused_capture(workflow, enrollment_id: str, position: Position) -> WorkflowError:
    with pytest.raises(WorkflowError) as refused:
        list(workflow.capture(enrollment_id, position, threading.Event()))
    return refused.value


def test_a_capture_the_disk_cannot_hold_is_refused_and_not_kept(disk: Path):
    key = os.urandom(32)
    kit = FakeKit()
    workflow = make_workflow(kit, EnrollmentJournal(disk / "journal", key))
    alarms: list[Exception | None] = []
    workflow.on_storage = alarms.append
    enrollment = workflow.start(subject(), "op-ani")
    with_approved_face(workflow, kit, enrollment)
    kit.present(THUMB, GOOD)
    assert capture(workflow, enrollment.enrollment_id, THUMB).accepted

    fill(disk)
    kit.present(INDEX, GOOD)
    error = refused_capture(workflow, enrollment.enrollment_id, INDEX)
    assert (error.kind, error.reason) == (ErrorKind.RESOURCE_EXHAUSTED, "STORAGE_FULL")
    assert error.message.code == "STORAGE_FULL"
    assert INDEX not in enrollment.samples and INDEX not in enrollment.candidates
    assert INDEX not in enrollment.attempts  # the attempt that was not saved does not count
    assert len(alarms) == 1 and alarms[0] is not None

    # What is in memory is what a restart finds on disk.
    restored = make_workflow(FakeKit(), EnrollmentJournal(disk / "journal", key))
    again = restored.get(enrollment.enrollment_id)
    assert set(again.samples) == set(enrollment.samples) == {Position.FACE, THUMB}

    empty(disk)
    kit.present(INDEX, GOOD)
    assert capture(workflow, enrollment.enrollment_id, INDEX).accepted
    assert INDEX in enrollment.samples and alarms[-1] is None


def test_an_enrollment_the_disk_cannot_hold_is_not_started(disk: Path):
    workflow = make_workflow(FakeKit(), EnrollmentJournal(disk / "journal", os.urandom(32)))
    fill(disk)
    with pytest.raises(WorkflowError) as refused:
        workflow.start(subject(), "op-ani")
    assert refused.value.kind is ErrorKind.RESOURCE_EXHAUSTED
    assert workflow.store.list() == []
