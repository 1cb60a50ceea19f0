"""The centre sink's answers in the delivery worker's terms, against the simulated centre: each
HTTP answer of the ingest API maps to one DeliveryResult."""

from __future__ import annotations

import hashlib
import socket

import pytest
from centre_records import person_record

from uploader.centre_client import CentreClient
from uploader.package import seal
from uploader.sink import DeliveryOutcome


@pytest.fixture
def client(centre, station_keys):
    centre.provision("KIT-01", station_keys.public_pem())
    return CentreClient(centre.url, trust=centre.trust, timeout=10)


def sealed(record_id, index, station_keys, centre_public, station_id="KIT-01"):
    record = person_record(record_id, index, f"31710000000001{index:02d}", 1, station_id=station_id)
    return seal(record, station_keys, centre_public)


def test_new_then_held_then_conflicting_bytes(client, station_keys, centre_public):
    first = sealed("C-1", 1, station_keys, centre_public)
    other = sealed("C-1", 2, station_keys, centre_public)

    delivered = client.deliver("C-1", first.data, first.sha256)
    assert delivered.outcome is DeliveryOutcome.DELIVERED
    assert delivered.detail == "HTTP 201 RECEIVED"
    held = client.deliver("C-1", first.data, first.sha256)
    assert held.outcome is DeliveryOutcome.ALREADY_HELD
    assert held.detail == "HTTP 200 ALREADY_RECEIVED"
    conflict = client.deliver("C-1", other.data, other.sha256)
    assert conflict.outcome is DeliveryOutcome.REJECTED
    assert conflict.reason == "RECORD_CONFLICT" and conflict.detail.startswith("HTTP 409")


def test_a_foreign_station_is_rejected_and_damage_is_retried(client, station_keys, centre_public):
    foreign = sealed("C-2", 3, station_keys, centre_public, station_id="KIT-XX")
    refused = client.deliver("C-2", foreign.data, foreign.sha256)
    assert refused.outcome is DeliveryOutcome.REJECTED
    assert refused.reason == "UNKNOWN_STATION" and "422" in refused.detail

    package = sealed("C-3", 4, station_keys, centre_public)
    damaged = bytearray(package.data)
    damaged[len(damaged) // 2] ^= 0xFF
    answer = client.deliver("C-3", bytes(damaged), package.sha256)
    assert answer.outcome is DeliveryOutcome.RETRY_LATER
    assert answer.reason == "CONTENT_HASH_MISMATCH" and not answer.receiver_busy
    assert hashlib.sha256(bytes(damaged)).hexdigest() != package.sha256


@pytest.mark.parametrize("status", [429, 503])
def test_a_busy_centre_asks_the_link_to_rest(centre, client, station_keys, centre_public, status):
    centre.faults.upload_failures = 1
    centre.faults.failure_status = status
    centre.faults.retry_after = 7
    package = sealed("C-4", 5, station_keys, centre_public)
    answer = client.deliver("C-4", package.data, package.sha256)
    assert answer.outcome is DeliveryOutcome.RETRY_LATER
    assert answer.receiver_busy and answer.retry_after == 7.0
    assert str(status) in answer.detail
    assert client.deliver("C-4", package.data, package.sha256).outcome is DeliveryOutcome.DELIVERED


def test_a_server_error_retries_only_the_record(centre, client, station_keys, centre_public):
    centre.faults.upload_failures = 1
    centre.faults.failure_status = 500
    package = sealed("C-5", 6, station_keys, centre_public)
    answer = client.deliver("C-5", package.data, package.sha256)
    assert answer.outcome is DeliveryOutcome.RETRY_LATER and not answer.receiver_busy


def test_an_unreachable_centre_is_a_transport_failure(centre, station_keys, centre_public):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        client = CentreClient(f"https://127.0.0.1:{port}", trust=centre.trust, timeout=2)
        package = sealed("C-6", 7, station_keys, centre_public)
        answer = client.deliver("C-6", package.data, package.sha256)
    assert answer.outcome is DeliveryOutcome.TRANSPORT_FAILED
    assert "/v1/uploads/C-6" in answer.detail
