"""The simulated centre's HTTP API, spoken to with the real client over loopback."""

from __future__ import annotations

import hashlib
import http.client
import json
import ssl

import pytest
from centre_records import person_record, wait_until

from simulator.centre import CentreServer
from uploader.centre_client import CentreClient, CentreError
from uploader.keys import load_centre_public_key
from uploader.package import seal


@pytest.fixture
def client(centre, station_keys):
    centre.provision("KIT-01", station_keys.public_pem())
    return CentreClient(centre.url, trust=centre.trust, timeout=10)


def test_ingest_status_and_decision(centre, client, station_keys, centre_public):
    sealed = seal(person_record("R-1", 1, "3171000000000001", 1), station_keys, centre_public)
    assert client.status("R-1", sealed.sha256) is None
    first = client.upload("R-1", sealed.data, sealed.sha256)
    assert first.status == 201 and first.code == "RECEIVED"
    again = client.upload("R-1", sealed.data, sealed.sha256)
    assert again.status == 200 and again.accepted and again.code == "ALREADY_RECEIVED"
    assert wait_until(lambda: client.status("R-1", sealed.sha256).status == "PRINT_READY_RECORD")
    status = client.status("R-1", sealed.sha256)
    assert status.record_id == "R-1" and status.updated_at
    assert client.health()["gallery"] == 1


def test_same_person_under_another_nik_is_duplicate(centre, client, station_keys, centre_public):
    first = seal(person_record("R-A", 7, "3171000000000007", 1), station_keys, centre_public)
    second = seal(person_record("R-B", 7, "3171000000000099", 2), station_keys, centre_public)
    stranger = seal(person_record("R-C", 8, "3171000000000008", 3), station_keys, centre_public)
    assert client.upload("R-A", first.data, first.sha256).status == 201
    assert wait_until(lambda: client.status("R-A", first.sha256).status == "PRINT_READY_RECORD")
    assert client.upload("R-B", second.data, second.sha256).status == 201
    assert client.upload("R-C", stranger.data, stranger.sha256).status == 201
    assert wait_until(lambda: client.status("R-B", second.sha256).status == "DUPLICATE_RECORD")
    detail = client.status("R-B", second.sha256).detail
    assert "R-A" in detail and "3171000000000007" in detail
    assert wait_until(lambda: client.status("R-C", stranger.sha256).status == "PRINT_READY_RECORD")


def test_rejections(centre, client, station_keys, centre_public):
    sealed = seal(person_record("R-2", 2, "3171000000000002", 1), station_keys, centre_public)
    other = seal(person_record("R-2", 3, "3171000000000003", 1), station_keys, centre_public)
    assert client.upload("R-2", sealed.data, "0" * 64).code == "CONTENT_HASH_MISMATCH"
    assert client.upload("R-2", sealed.data, sealed.sha256).status == 201
    conflict = client.upload("R-2", other.data, other.sha256)
    assert conflict.status == 409 and conflict.permanent

    mismatch = client.upload("R-9", other.data, other.sha256)
    assert mismatch.status == 400 and mismatch.code == "RECORD_ID_MISMATCH"

    damaged = bytearray(other.data)
    damaged[len(damaged) // 2] ^= 0xFF
    bad = client.upload("R-3", bytes(damaged), other.sha256)
    assert bad.status == 400  # the hash header no longer matches: damaged in transit
    digest = hashlib.sha256(bytes(damaged)).hexdigest()
    bad = client.upload("R-2", bytes(damaged), digest)
    assert bad.status == 409  # id already taken by other content

    unknown = seal(person_record("R-4", 4, "3171000000000004", 1, station_id="KIT-XX"),
                   station_keys, centre_public)
    refused = client.upload("R-4", unknown.data, unknown.sha256)
    assert refused.status == 422 and refused.code == "UNKNOWN_STATION" and refused.permanent
    assert client.status("R-4", unknown.sha256) is None


def test_bad_requests_get_json_errors(centre, client):
    code = centre.issue_enrollment_code("KIT-02")
    with pytest.raises(CentreError):
        client.enroll("KIT-02", code, b"not a pem")
    conn = http.client.HTTPSConnection(
        "127.0.0.1", centre.port, timeout=5, context=ssl._create_unverified_context()
    )
    try:
        conn.request("GET", "/v1/nothing")
        response = conn.getresponse()
        assert response.status == 404 and json.loads(response.read())["code"] == "NOT_FOUND"
        conn.request("PUT", "/v1/records/..bad", body=b"x")
        response = conn.getresponse()
        assert response.status == 400 and json.loads(response.read())["code"] == "BAD_ID"
    finally:
        conn.close()


def test_restart_keeps_keys_records_and_gallery(tmp_path, station_keys):
    data_dir = tmp_path / "centre-state"
    with CentreServer(data_dir, decision_delay=0.05) as centre:
        public = load_centre_public_key(centre.public_key_path)
        client = CentreClient(centre.url, trust=centre.trust)
        centre.provision("KIT-01", station_keys.public_pem())
        sealed = seal(person_record("R-5", 5, "3171000000000005", 1), station_keys, public)
        assert client.upload("R-5", sealed.data, sealed.sha256).status == 201
        ready = "PRINT_READY_RECORD"
        assert wait_until(lambda: client.status("R-5", sealed.sha256).status == ready)
        key_id = client.health()["centre_key_id"]
    with CentreServer(data_dir, decision_delay=0.05) as centre:
        client = CentreClient(centre.url, trust=centre.trust)
        assert client.health()["centre_key_id"] == key_id
        assert client.status("R-5", sealed.sha256).status == "PRINT_READY_RECORD"
        assert client.upload("R-5", sealed.data, sealed.sha256).status == 200
        again = seal(person_record("R-6", 5, "3171000000000006", 2), station_keys, public)
        assert client.upload("R-6", again.data, again.sha256).status == 201
        assert wait_until(lambda: client.status("R-6", again.sha256).status == "DUPLICATE_RECORD")
