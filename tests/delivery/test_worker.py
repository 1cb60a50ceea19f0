"""The delivery worker's slots and timers: one stuck record never blocks the rest."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest
from delivery_helpers import wait_until

from simulator.faultproxy import FaultPlan, FaultProxy
from uploader.delivery import DeliveryWorker
from uploader.outbox import DiskSpaceLow, Outbox, RecordState
from uploader.service import Uploader


def test_a_blackholed_upload_holds_one_slot_while_the_rest_are_delivered(centre, sealer, outbox):
    with FaultProxy("127.0.0.1", centre.port, FaultPlan(blackhole=1.0), seed=1) as proxy:
        uploader = Uploader(
            outbox,
            proxy.url,
            trust=centre.trust,
            timeout=20.0,  # the stuck upload waits this long for an answer
            max_concurrent_uploads=3,
            poll_interval=0.05,
            idle_interval=0.05,
            backoff_base=0.05,
            backoff_cap=0.3,
            rng=random.Random(2),
        )
        with uploader:
            outbox.enqueue(sealer("STUCK", 1))
            assert wait_until(lambda: proxy.counters.blackhole == 1)
            proxy.set_plan(FaultPlan())  # the link recovers for every later connection
            others = [f"OK-{i}" for i in range(5)]
            for index, record_id in enumerate(others):
                outbox.enqueue(sealer(record_id, 10 + index))
            assert wait_until(
                lambda: all(outbox.get(r).state != RecordState.SEALED for r in others)
            )
            assert outbox.get("STUCK").state == RecordState.SEALED  # still in its slot
            assert uploader.delivery.in_flight == 1
            uploader.stop(timeout=5)  # cancelling ends the stuck transfer promptly
        assert not uploader.delivery.running


def test_inline_run_once_delivers_oldest_first(centre, sealer, outbox):
    for i in range(3):
        outbox.enqueue(sealer(f"IN-{i}", 40 + i))
    uploader = Uploader(outbox, centre.url, trust=centre.trust)
    worker = DeliveryWorker(outbox, uploader.client, max_concurrent=2)
    assert worker.run_once() == 3
    delivered = [r.record_id for r in outbox.list([RecordState.SENT_FOR_ENROLLMENT])]
    assert delivered == ["IN-0", "IN-1", "IN-2"]
    with pytest.raises(ValueError):
        DeliveryWorker(outbox, uploader.client, max_concurrent=0)


def test_outbox_refuses_new_records_below_the_free_space_floor(sealer, outbox):
    outbox.min_free_bytes = outbox.free_bytes() + 2**40
    with pytest.raises(DiskSpaceLow) as low:
        outbox.enqueue(sealer("FULL-1", 50))
    assert low.value.floor_bytes == outbox.min_free_bytes
    assert outbox.get("FULL-1") is None
    assert not list(outbox.packages_dir.iterdir())
    outbox.min_free_bytes = 0
    assert outbox.enqueue(sealer("FULL-1", 50)).state == RecordState.SEALED


def test_reopening_the_outbox_never_deletes_a_live_writers_temporary(tmp_path):
    dead_pid = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_pid.wait(10)
    packages = tmp_path / "outbox" / "packages"
    packages.mkdir(parents=True)
    stale = packages / f".A.pkg.{dead_pid.pid}.1.tmp"
    live = packages / f".B.pkg.{os.getppid()}.1.tmp"  # a running process (this one's parent)
    stale.write_bytes(b"half a package")
    live.write_bytes(b"being written")
    with Outbox(tmp_path / "outbox"):
        pass
    assert not stale.exists() and live.exists()
