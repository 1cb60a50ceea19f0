"""The outbox: durable, never overwrites, ordered, observable, thread-safe."""

from __future__ import annotations

import hashlib
import threading

import pytest

from uploader.outbox import (
    Outbox,
    PackageMissing,
    RecordConflict,
    RecordState,
    UnknownRecord,
)
from uploader.package import SealedPackage


def package(record_id: str, payload: bytes = b"") -> SealedPackage:
    data = b"REKAMPKG" + record_id.encode() + (payload or b"x" * 100)
    return SealedPackage(record_id, data, hashlib.sha256(data).hexdigest(), len(data))


def test_enqueue_is_durable_across_reopen(tmp_path):
    outbox = Outbox(tmp_path)
    stored = [package(f"R{i}") for i in range(5)]
    for i, sealed in enumerate(stored):
        outbox.enqueue(sealed, category="adult", meta={"n": i}, now=1000.0 + i)
    outbox.mark_delivered("R1", now=2000.0)
    outbox.close()

    reopened = Outbox(tmp_path)
    try:
        records = reopened.list()
        assert [r.record_id for r in records] == ["R0", "R1", "R2", "R3", "R4"]
        assert records[3].meta == {"n": 3} and records[3].category == "adult"
        assert reopened.get("R1").state == RecordState.SENT_FOR_ENROLLMENT
        for sealed in stored:
            assert reopened.read_package(sealed.record_id) == sealed.data
        history = reopened.history("R1")
        assert [h.state for h in history] == [RecordState.SEALED, RecordState.SENT_FOR_ENROLLMENT]
        assert history[1].previous == RecordState.SEALED
        assert not list((tmp_path / "packages").glob(".*.tmp"))
    finally:
        reopened.close()


def test_same_id_same_content_is_idempotent_other_content_refused(tmp_path):
    with Outbox(tmp_path) as outbox:
        first = package("R1", b"original")
        outbox.enqueue(first)
        outbox.enqueue(first)
        with pytest.raises(RecordConflict):
            outbox.enqueue(package("R1", b"changed"))
        assert len(outbox.list()) == 1
        assert outbox.read_package("R1") == first.data
        assert len(outbox.history("R1")) == 1


def test_due_for_delivery_oldest_first_with_per_record_times(tmp_path):
    with Outbox(tmp_path) as outbox:
        for i in range(4):
            outbox.enqueue(package(f"R{i}"), now=100.0 + i)
        outbox.mark_attempt("R0", "HTTP 503", next_attempt_at=500.0, now=110.0)
        due = outbox.due_for_delivery(now=200.0)
        assert [r.record_id for r in due] == ["R1", "R2", "R3"]
        assert outbox.get("R0").attempts == 1 and outbox.get("R0").last_error == "HTTP 503"
        assert [r.record_id for r in outbox.due_for_delivery(now=600.0)] == [
            "R0", "R1", "R2", "R3"]
        outbox.mark_delivered("R1")
        outbox.mark_dead("R2", "HTTP 422 UNKNOWN_STATION")
        assert outbox.next_due_time() == 103.0
        assert outbox.get("R2").detail == "HTTP 422 UNKNOWN_STATION"
        counts = outbox.counts()
        assert counts[RecordState.SEALED] == 2 and counts[RecordState.DEAD_LETTER] == 1


def test_status_changes_reach_listeners_and_waiters(tmp_path):
    with Outbox(tmp_path) as outbox:
        seen = []
        outbox.add_listener(seen.append)
        outbox.enqueue(package("R1"))
        start = outbox.last_seq
        result: list = []
        waiter = threading.Thread(target=lambda: result.extend(outbox.wait_for_change(start, 5)))
        waiter.start()
        outbox.mark_delivered("R1")
        waiter.join(5)
        assert not waiter.is_alive()
        assert [c.state for c in result] == [RecordState.SENT_FOR_ENROLLMENT]
        outbox.set_status("R1", RecordState.RECEIVED_AT_CENTRAL, "verified")
        outbox.set_status("R1", RecordState.RECEIVED_AT_CENTRAL, "verified")  # no change
        assert [c.state for c in seen] == [
            RecordState.SEALED, RecordState.SENT_FOR_ENROLLMENT, RecordState.RECEIVED_AT_CENTRAL]
        assert outbox.wait_for_change(outbox.last_seq, 0.05) == []
        assert [c.state for c in outbox.changes_since(start)][-1] == (
            RecordState.RECEIVED_AT_CENTRAL)


def test_requeue_purge_and_damage(tmp_path):
    with Outbox(tmp_path) as outbox:
        outbox.enqueue(package("R1"))
        outbox.enqueue(package("R2"))
        outbox.set_status("R1", RecordState.ENROLL_FAILURE_AT_CENTRAL, "template error")
        again = outbox.requeue("R1", "resend")
        assert again.state == RecordState.SEALED and again.resends == 1

        outbox.set_status("R2", RecordState.PRINT_READY_RECORD, now=10.0)
        assert outbox.purge_packages(retention_seconds=5.0, now=12.0) == []
        assert outbox.purge_packages(retention_seconds=5.0, now=20.0) == ["R2"]
        assert outbox.get("R2").package_path is None
        assert not (tmp_path / "packages" / "R2.pkg").exists()
        with pytest.raises(PackageMissing):
            outbox.read_package("R2")

        (tmp_path / "packages" / "R1.pkg").write_bytes(b"bit rot")
        with pytest.raises(PackageMissing):
            outbox.read_package("R1")
        with pytest.raises(UnknownRecord):
            outbox.set_status("nope", RecordState.DEAD_LETTER)


def test_refuses_bad_ids_and_mismatched_hashes(tmp_path):
    with Outbox(tmp_path) as outbox:
        with pytest.raises(ValueError):
            outbox.enqueue(package("../escape"))
        good = package("R1")
        with pytest.raises(ValueError):
            outbox.enqueue(SealedPackage("R1", good.data + b"!", good.sha256, good.size))
        assert outbox.list() == []


def test_concurrent_enqueues_all_land(tmp_path):
    with Outbox(tmp_path) as outbox:
        def worker(t: int) -> None:
            for i in range(8):
                outbox.enqueue(package(f"T{t}-{i}"))

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        assert not any(t.is_alive() for t in threads)
        assert len(outbox.list()) == 32
        assert outbox.last_seq == 32
