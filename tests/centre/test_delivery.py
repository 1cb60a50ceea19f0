"""The uploader against the real simulated centre on loopback."""

from __future__ import annotations

import random
import socket

import pytest
from centre_records import person_record, wait_until

from simulator.centre import CentreServer
from uploader.centre_client import CentreClient
from uploader.keys import load_centre_public_key
from uploader.outbox import Outbox, RecordState
from uploader.package import seal
from uploader.service import Uploader

FAST = dict(
    timeout=5.0,
    poll_interval=0.05,
    idle_interval=0.05,
    backoff_base=0.05,
    backoff_cap=0.3,
    rng=random.Random(3),
)


@pytest.fixture
def outbox(tmp_path):
    box = Outbox(tmp_path / "outbox")
    yield box
    box.close()


def provisioned(centre: CentreServer, station_keys) -> CentreClient:
    centre.provision("KIT-01", station_keys.public_pem())
    return CentreClient(centre.url, trust=centre.trust)


def state_of(outbox: Outbox, record_id: str) -> RecordState | None:
    record = outbox.get(record_id)
    return record.state if record else None


def test_delivered_received_print_ready_then_duplicate(tmp_path, outbox, station_keys):
    with CentreServer(tmp_path / "centre", decision_delay=0.4) as centre:
        provisioned(centre, station_keys)
        public = load_centre_public_key(centre.public_key_path)
        uploader = Uploader(outbox, centre.url, trust=centre.trust, **FAST)
        uploader.start()
        try:
            first = seal(person_record("E-1", 21, "3172000000000021", 1), station_keys, public)
            outbox.enqueue(first, category="adult")
            assert wait_until(lambda: state_of(outbox, "E-1") == RecordState.PRINT_READY_RECORD)
            states = [change.state for change in outbox.history("E-1")]
            assert states == [
                RecordState.SEALED,
                RecordState.SENT_FOR_ENROLLMENT,
                RecordState.RECEIVED_AT_CENTRAL,
                RecordState.PRINT_READY_RECORD,
            ]

            again = seal(person_record("E-2", 21, "3172000000000999", 2), station_keys, public)
            outbox.enqueue(again, category="adult")
            assert wait_until(lambda: state_of(outbox, "E-2") == RecordState.DUPLICATE_RECORD)
            assert "E-1" in outbox.get("E-2").detail
            counters = uploader.counters()
            assert counters["delivery_uploads_accepted"] == 2
            assert counters["records_print_ready_record"] == 1
        finally:
            uploader.stop()
        assert not uploader.delivery.running and not uploader.tracker.running


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_centre_down_then_up(tmp_path, outbox, station_keys):
    port = free_port()
    data_dir = tmp_path / "centre"
    with CentreServer(data_dir, port=port, decision_delay=0.05) as centre:
        provisioned(centre, station_keys)
        public = load_centre_public_key(centre.public_key_path)
        trust = centre.trust
    sealed = seal(person_record("D-1", 31, "3172000000000031", 1), station_keys, public)
    outbox.enqueue(sealed)
    uploader = Uploader(outbox, f"https://127.0.0.1:{port}", trust=trust, **FAST)
    uploader.start()
    try:
        assert wait_until(lambda: outbox.get("D-1").attempts >= 2)
        record = outbox.get("D-1")
        assert record.state == RecordState.SEALED and record.last_error.startswith("NETWORK")
        with CentreServer(data_dir, port=port, decision_delay=0.05):
            uploader.kick()
            assert wait_until(
                lambda: state_of(outbox, "D-1") == RecordState.PRINT_READY_RECORD
            )
        assert uploader.counters()["delivery_network_errors"] >= 2
    finally:
        uploader.stop()


def test_upload_the_centre_already_has_counts_as_delivered(centre, outbox, station_keys):
    client = provisioned(centre, station_keys)
    public = load_centre_public_key(centre.public_key_path)
    sealed = seal(person_record("U-1", 41, "3172000000000041", 1), station_keys, public)
    assert client.upload("U-1", sealed.data, sealed.sha256).status == 201
    outbox.enqueue(sealed)
    with Uploader(outbox, centre.url, trust=centre.trust, **FAST) as uploader:
        assert wait_until(lambda: state_of(outbox, "U-1") == RecordState.PRINT_READY_RECORD)
        assert uploader.counters()["delivery_already_at_centre"] == 1
        assert uploader.counters()["delivery_uploads_accepted"] == 0


def test_rejected_package_is_dead_lettered_and_does_not_block(centre, outbox, station_keys):
    provisioned(centre, station_keys)
    public = load_centre_public_key(centre.public_key_path)
    stranger = seal(
        person_record("X-1", 51, "3172000000000051", 1, station_id="KIT-UNKNOWN"),
        station_keys,
        public,
    )
    good = seal(person_record("X-2", 52, "3172000000000052", 1), station_keys, public)
    outbox.enqueue(stranger)
    outbox.enqueue(good)
    with Uploader(outbox, centre.url, trust=centre.trust, **FAST) as uploader:
        assert wait_until(lambda: state_of(outbox, "X-2") == RecordState.PRINT_READY_RECORD)
        dead = outbox.get("X-1")
        assert dead.state == RecordState.DEAD_LETTER
        assert "422" in dead.detail and "UNKNOWN_STATION" in dead.detail
        assert uploader.counters()["delivery_dead_letters"] == 1

        centre.provision("KIT-UNKNOWN", station_keys.public_pem())
        uploader.retry("X-1")
        assert wait_until(lambda: state_of(outbox, "X-1") == RecordState.PRINT_READY_RECORD)


def test_server_errors_and_resets_are_retried(centre, outbox, station_keys):
    provisioned(centre, station_keys)
    public = load_centre_public_key(centre.public_key_path)
    centre.faults.upload_failures = 2
    centre.faults.failure_status = 503
    centre.faults.reset_uploads = 1
    sealed = seal(person_record("F-1", 61, "3172000000000061", 1), station_keys, public)
    outbox.enqueue(sealed)
    with Uploader(outbox, centre.url, trust=centre.trust, **FAST) as uploader:
        assert wait_until(lambda: state_of(outbox, "F-1") == RecordState.PRINT_READY_RECORD)
        counters = uploader.counters()
        assert counters["delivery_network_errors"] >= 1
        assert counters["delivery_retryable_failures"] >= 2
        assert outbox.get("F-1").attempts >= 4


def test_too_many_requests_honours_retry_after(centre, outbox, station_keys):
    provisioned(centre, station_keys)
    public = load_centre_public_key(centre.public_key_path)
    centre.faults.upload_failures = 1
    centre.faults.failure_status = 429
    centre.faults.retry_after = 2
    sealed = seal(person_record("T-1", 71, "3172000000000071", 1), station_keys, public)
    outbox.enqueue(sealed)
    with Uploader(outbox, centre.url, trust=centre.trust, **FAST):
        assert wait_until(lambda: outbox.get("T-1").attempts >= 1)
        record = outbox.get("T-1")
        assert record.state == RecordState.SEALED and "429" in record.last_error
        assert record.next_attempt_at - record.updated_at >= 1.99
        assert wait_until(lambda: state_of(outbox, "T-1") == RecordState.PRINT_READY_RECORD)


def test_enroll_failure_is_resent_automatically(centre, outbox, station_keys):
    provisioned(centre, station_keys)
    public = load_centre_public_key(centre.public_key_path)
    centre.faults.force_outcome("3172000000000081", "ENROLL_FAILURE_AT_CENTRAL")
    sealed = seal(person_record("G-1", 81, "3172000000000081", 1), station_keys, public)
    outbox.enqueue(sealed)
    with Uploader(outbox, centre.url, trust=centre.trust, **FAST) as uploader:
        assert wait_until(lambda: state_of(outbox, "G-1") == RecordState.PRINT_READY_RECORD)
        states = [change.state for change in outbox.history("G-1")]
        assert RecordState.ENROLL_FAILURE_AT_CENTRAL in states
        assert states.count(RecordState.SENT_FOR_ENROLLMENT) == 2
        assert outbox.get("G-1").resends == 1
        assert uploader.counters()["tracker_resends"] == 1


def test_bandwidth_cap_and_restart_of_the_uploader(centre, outbox, station_keys):
    provisioned(centre, station_keys)
    public = load_centre_public_key(centre.public_key_path)
    first = seal(person_record("B-1", 91, "3172000000000091", 1), station_keys, public)
    second = seal(person_record("B-2", 92, "3172000000000092", 1), station_keys, public)
    uploader = Uploader(
        outbox, centre.url, trust=centre.trust, max_bytes_per_second=400_000, **FAST
    )
    uploader.start()
    try:
        outbox.enqueue(first)
        assert wait_until(lambda: state_of(outbox, "B-1") == RecordState.PRINT_READY_RECORD)
        assert uploader.counters()["delivery_bytes_sent"] == first.size
    finally:
        uploader.stop()
    outbox.enqueue(second)  # queued while the uploader is stopped
    assert state_of(outbox, "B-2") == RecordState.SEALED
    uploader.start()
    try:
        assert wait_until(lambda: state_of(outbox, "B-2") == RecordState.PRINT_READY_RECORD)
        assert uploader.counters()["delivery_bytes_sent"] == first.size + second.size
    finally:
        uploader.stop()
