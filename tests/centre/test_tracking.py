"""Status tracking against the real simulated centre on loopback: many records per request,
the change feed with its long-poll, a wake that reads only the records due.

Requests are counted by the seeded fault proxy standing between kit and centre (every request
is a connection of its own), not by the tracker's own counters.
"""

from __future__ import annotations

import threading
import time

import pytest
from centre_records import wait_until

from simulator.centre import CentreServer
from simulator.centre.samples import small_record
from simulator.centre.store import CentreStore
from simulator.faultproxy import FaultProxy
from uploader.centre_client import CentreClient
from uploader.keys import load_centre_public_key
from uploader.outbox import Outbox, RecordState
from uploader.package import seal
from uploader.tracker import StatusTracker

STATION = "KIT-01"
RECORDS = 12


@pytest.fixture
def outbox(tmp_path):
    box = Outbox(tmp_path / "outbox")
    yield box
    box.close()


def _delivered(centre: CentreServer, outbox: Outbox, station_keys, count: int) -> list[str]:
    """``count`` records sealed, uploaded to ``centre`` and SENT_FOR_ENROLLMENT in ``outbox``."""
    centre.provision(STATION, station_keys.public_pem())
    public = load_centre_public_key(centre.public_key_path)
    client = CentreClient(centre.url, trust=centre.trust)
    ids = []
    for index in range(count):
        sealed = seal(small_record(f"T-{index:03d}", index, STATION), station_keys, public)
        outbox.enqueue(sealed)
        assert client.upload(sealed.record_id, sealed.data, sealed.sha256).accepted
        outbox.mark_delivered(sealed.record_id, "HTTP 201 RECEIVED")
        ids.append(sealed.record_id)
    return ids


def _tracker(outbox: Outbox, url: str, centre: CentreServer, **options) -> StatusTracker:
    client = CentreClient(url, trust=centre.trust, timeout=5.0)
    return StatusTracker(outbox, client, **options)


def test_one_request_asks_about_every_record_due(tmp_path, outbox, station_keys):
    with CentreServer(tmp_path / "centre", decision_delay=3600.0) as centre:
        ids = _delivered(centre, outbox, station_keys, RECORDS)
        with FaultProxy("127.0.0.1", centre.port, seed=1) as proxy:
            tracker = _tracker(outbox, proxy.url, centre, poll_interval=60.0)
            assert tracker.run_once() == RECORDS
            assert proxy.counters.connections == 1
            assert tracker.run_once() == 0  # nothing is due again before its interval
            assert proxy.counters.connections == 1
    states = {outbox.get(r).state for r in ids}
    assert states == {RecordState.RECEIVED_AT_CENTRAL}
    assert tracker.counters.status_changes == RECORDS and tracker.counters.poll_failures == 0


def test_a_wake_reads_only_the_due_records_through_the_schedule_index(outbox):
    statements: list[str] = []
    outbox._db.set_trace_callback(statements.append)
    outbox.due_for_tracking(0.0, 500)
    outbox.next_poll_time()
    outbox._db.set_trace_callback(None)
    selects = [s for s in statements if s.startswith("SELECT")]
    assert len(selects) == 2
    for select in selects:
        plan = [row[-1] for row in outbox._db.execute("EXPLAIN QUERY PLAN " + select)]
        assert any("USING INDEX records_tracking" in step for step in plan), plan
        assert not any("SCAN" in step or "TEMP B-TREE" in step for step in plan), plan


def test_records_long_at_the_centre_are_asked_about_less_often(tmp_path, outbox, station_keys):
    with CentreServer(tmp_path / "centre", decision_delay=3600.0) as centre:
        fresh, old = _delivered(centre, outbox, station_keys, 2)
        outbox._db.execute(  # delivered eight hours ago
            "UPDATE records SET delivered_at = ? WHERE record_id = ?", (time.time() - 8 * 3600, old)
        )
        clock = [1000.0]
        tracker = _tracker(
            outbox, centre.url, centre, poll_interval=30.0, max_poll_interval=600.0,
            clock=lambda: clock[0],
        )
        assert tracker.run_once() == 2
        due_soon = {r.record_id for r in outbox.due_for_tracking(clock[0] + 31.0, 10)}
        due_later = {r.record_id for r in outbox.due_for_tracking(clock[0] + 601.0, 10)}
    assert due_soon == {fresh}
    assert due_later == {fresh, old}


def test_the_feed_brings_a_decision_without_a_poll(tmp_path, outbox, station_keys):
    with CentreServer(tmp_path / "centre", decision_delay=3600.0) as centre:
        ids = _delivered(centre, outbox, station_keys, 3)
        tracker = _tracker(
            outbox, centre.url, centre, station_id=STATION, poll_interval=3600.0, feed_wait=20.0
        )
        tracker.start()
        try:
            assert wait_until(lambda: tracker.following_feed)
            assert wait_until(
                lambda: outbox.get(ids[0]).state == RecordState.RECEIVED_AT_CENTRAL
            )
            polls = tracker.counters.polls
            centre.abis.decide(ids[1])  # the centre decides while the kit's long-poll waits
            assert wait_until(lambda: outbox.get(ids[1]).state == RecordState.PRINT_READY_RECORD)
            assert tracker.counters.polls == polls  # no batch poll: the feed brought it
            assert tracker.counters.feed_changes >= 1
        finally:
            tracker.client.abort_in_flight()
            tracker.stop()
    assert outbox.get(ids[2]).state == RecordState.RECEIVED_AT_CENTRAL


def test_a_centre_without_a_feed_is_asked_in_batches(tmp_path, outbox, station_keys):
    with CentreServer(tmp_path / "centre", decision_delay=3600.0, feed=False) as centre:
        ids = _delivered(centre, outbox, station_keys, 2)
        tracker = _tracker(outbox, centre.url, centre, station_id=STATION, poll_interval=60.0)
        assert tracker.run_once() == 2
        assert not tracker.following_feed
    assert {outbox.get(r).state for r in ids} == {RecordState.RECEIVED_AT_CENTRAL}


def test_a_stopping_centre_releases_the_long_polls_it_holds(tmp_path):
    store = CentreStore(tmp_path)
    answers: list[list] = []
    waiter = threading.Thread(
        target=lambda: answers.append(store.wait_for_changes(STATION, 0, 10, timeout=60.0)),
        name="centre-test-long-poll",
    )
    waiter.start()
    assert wait_until(lambda: waiter.is_alive())
    store.close()
    waiter.join(10.0)
    assert not waiter.is_alive() and answers == [[]]
