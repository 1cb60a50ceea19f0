"""A full disk under the outbox pauses delivery instead of looping, and loses nothing.

The outbox lives on a real 16 MiB tmpfs that is filled up for real, so SQLite's commit of
"delivered" fails the way it does in the field (SQLITE_FULL from the kernel's ENOSPC).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from storage.disks import empty, fill, small_disk

from uploader.delivery import DeliveryWorker
from uploader.outbox import Outbox, RecordState, StorageFailure
from uploader.package import SealedPackage
from uploader.retry import Backoff
from uploader.sink import DeliveryOutcome, DeliveryResult

LATER = 10_000.0  # seconds: a pass "after" any record's own retry time
PAUSE_OVER_S = 0.1  # longer than the test's storage backoff cap (0.05 s, on the monotonic clock)


def package(record_id: str) -> SealedPackage:
    data = b"REKAMPKG" + record_id.encode() + b"x" * 4000
    return SealedPackage(record_id, data, hashlib.sha256(data).hexdigest(), len(data))


class CountingCentre:
    """A receiver that accepts everything and counts each upload."""

    def __init__(self) -> None:
        self.uploads: list[str] = []

    def deliver(self, record_id: str, data: bytes, sha256: str) -> DeliveryResult:
        self.uploads.append(record_id)
        return DeliveryResult(DeliveryOutcome.DELIVERED, detail="accepted")


@pytest.fixture
def disk(tmp_path: Path):
    with small_disk(tmp_path / "disk") as mounted:
        yield mounted


def test_a_full_disk_pauses_delivery_and_never_uploads_twice(disk: Path):
    alarms: list[StorageFailure | None] = []
    outbox = Outbox(disk / "outbox", on_storage=alarms.append)
    outbox.enqueue(package("R1"))
    outbox.enqueue(package("R2"))
    centre = CountingCentre()
    worker = DeliveryWorker(outbox, centre, backoff=Backoff(base=0.01, cap=0.05))
    fill(disk)
    now = time.time()
    for _ in range(50):  # the loop of the field report: pass after pass
        worker.run_once(now=now)
    assert centre.uploads == ["R1"]  # uploaded once; R2 waits; nothing loops
    assert worker.unsaved == 1 and worker.counters.storage_failures >= 1
    assert isinstance(worker.storage_fault, StorageFailure) and worker.storage_fault.full
    assert alarms and alarms[0] is worker.storage_fault  # the outbox raised the alarm
    assert worker.next_wait() > 0  # paused with backoff
    assert outbox.get("R1").state is RecordState.SEALED  # nothing half-written

    time.sleep(PAUSE_OVER_S)
    for _ in range(5):  # still full: held, not re-uploaded
        time.sleep(PAUSE_OVER_S)
        worker.run_once(now=now + LATER)
    assert centre.uploads == ["R1"]

    empty(disk)
    time.sleep(PAUSE_OVER_S)
    worker.run_once(now=now + 2 * LATER)
    assert outbox.get("R1").state is RecordState.SENT_FOR_ENROLLMENT
    assert outbox.get("R2").state is RecordState.SENT_FOR_ENROLLMENT
    assert centre.uploads == ["R1", "R2"]  # R1 was never sent again
    assert worker.storage_fault is None and worker.unsaved == 0
    assert alarms[-1] is None
    outbox.close()


def test_a_record_that_does_not_fit_leaves_no_package_behind(disk: Path):
    outbox = Outbox(disk / "outbox")
    outbox.enqueue(package("R1"))
    fill(disk)
    with pytest.raises(StorageFailure) as refused:
        outbox.enqueue(package("R2"))
    assert refused.value.full
    assert outbox.get("R2") is None
    assert not (outbox.packages_dir / "R2.pkg").exists()
    assert not list(outbox.packages_dir.glob(".*.tmp"))
    empty(disk)
    assert outbox.enqueue(package("R2")).state is RecordState.SEALED
    outbox.close()
