"""What stands between a kit and its centre cannot decide anything for the centre, nor hold a
slot for long: real loopback servers redirect to a portal, answer HTML or JSON of another
shape, or trickle their answer a byte at a time."""

from __future__ import annotations

import time

import pytest
from centre_records import wait_until
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hostile_peer import HostilePeer

from simulator.centre.samples import small_record
from uploader.centre_client import CentreClient, CentreUnreachable
from uploader.centre_trust import CentreTrust
from uploader.delivery import DeliveryWorker
from uploader.keys import CentreKeys, StationKeys
from uploader.outbox import Outbox, RecordState
from uploader.package import seal
from uploader.retry import Backoff
from uploader.tracker import StatusTracker

QUEUED = 5


@pytest.fixture
def outbox(tmp_path):
    box = Outbox(tmp_path / "outbox")
    yield box
    box.close()


def _client(url: str, timeout: float = 5.0) -> CentreClient:
    trust = CentreTrust(Ed25519PrivateKey.generate().public_key(), allow_plain_http=True)
    return CentreClient(url, trust=trust, timeout=timeout, transfer_timeout=timeout)


def _queue(outbox: Outbox, count: int) -> list[str]:
    station, centre = StationKeys.generate(), CentreKeys.generate().public_key
    ids = []
    for index in range(count):
        sealed = seal(small_record(f"H-{index}", index), station, centre)
        outbox.enqueue(sealed)
        ids.append(sealed.record_id)
    return ids


@pytest.mark.parametrize("mode", ["redirect", "html", "other_json"])
def test_a_portal_or_proxy_answer_never_decides_an_upload(outbox, mode):
    ids = _queue(outbox, QUEUED)
    with HostilePeer(mode) as peer:
        # a record tried once is not due again within the test (its next try: 30..60 s on)
        worker = DeliveryWorker(outbox, _client(peer.url), backoff=Backoff(base=60.0, floor=30.0))
        for _ in range(QUEUED):  # each pass tries the oldest record not tried yet, once
            worker.link.succeeded()
            worker.run_once(now=time.time())
    assert peer.requests >= QUEUED
    assert {outbox.get(r).state for r in ids} == {RecordState.SEALED}
    assert worker.counters.dead_letters == 0 and worker.counters.uploads_accepted == 0
    assert worker.counters.network_errors == QUEUED
    assert [outbox.get(r).attempts for r in ids] == [1] * QUEUED
    assert all(outbox.get(r).last_error.startswith("NETWORK") for r in ids)


@pytest.mark.parametrize("mode", ["redirect", "html", "other_json"])
def test_a_portal_or_proxy_answer_never_moves_a_record_at_the_centre(outbox, mode):
    ids = _queue(outbox, 2)
    for record_id in ids:
        outbox.mark_delivered(record_id, "HTTP 201 RECEIVED")
    with HostilePeer(mode) as peer:
        tracker = StatusTracker(outbox, _client(peer.url), station_id="KIT-01")
        tracker.run_once()
        with pytest.raises(CentreUnreachable, match=r"not the centre|no receipt"):
            tracker.client.status_batch([(ids[0], outbox.get(ids[0]).sha256)])
    assert {outbox.get(r).state for r in ids} == {RecordState.SENT_FOR_ENROLLMENT}
    assert tracker.counters.status_changes == 0 and tracker.counters.poll_failures == 2
    assert tracker.link.failures == 1  # a fault of the link, not of the records


def test_a_trickling_status_answer_ends_at_its_deadline(outbox):
    with HostilePeer("trickle") as peer:
        client = _client(peer.url, timeout=1.0)
        with pytest.raises(CentreUnreachable, match="deadline"):
            client.status_batch([("H-0", "ab" * 32)])
        assert wait_until(lambda: peer.abandoned == 1)


def test_trickling_upload_answers_give_both_slots_back(outbox):
    ids = _queue(outbox, 2)
    with HostilePeer("trickle") as peer:
        worker = DeliveryWorker(outbox, _client(peer.url, timeout=1.0), max_concurrent=2)
        worker.start()
        try:
            assert wait_until(lambda: worker.counters.network_errors >= 2)
            assert wait_until(lambda: worker.in_flight == 0)
            assert wait_until(lambda: peer.abandoned >= 2)
        finally:
            worker.stop()
    assert {outbox.get(r).state for r in ids} == {RecordState.SEALED}
    assert all("deadline" in outbox.get(r).last_error for r in ids)
