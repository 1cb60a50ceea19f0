"""Kits are enrolled at the centre, not self-declared: attacks on station keys now fail.

Each test plays someone who reaches the centre's port (or holds an old key) and checks that the
genuine kit's records still flow and the attacker's are refused.
"""

from __future__ import annotations

import http.client
import json
import ssl
from datetime import UTC, datetime, timedelta

import pytest

from simulator.centre import main
from simulator.centre.samples import small_record
from uploader.centre_client import CentreClient, CentreError, rotation_message
from uploader.keys import StationKeys
from uploader.package import seal

STATION = "KIT-01"


def _sealed(record_id: str, index: int, keys: StationKeys, centre_public, **kwargs):
    return seal(small_record(record_id, index, STATION), keys, centre_public, **kwargs)


def _raw(centre, method: str, path: str, body: bytes) -> tuple[int, dict]:
    """A request from someone who reaches the port but holds nothing the centre issued."""
    conn = http.client.HTTPSConnection(
        "127.0.0.1", centre.port, timeout=10, context=ssl._create_unverified_context()
    )
    try:
        conn.request(method, path, body=body, headers={"Content-Length": str(len(body))})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


@pytest.fixture
def enrolled(centre, station_keys):
    """KIT-01 enrolled the way a kit is: a one-time code from the centre's administrator."""
    client = CentreClient(centre.url, trust=centre.trust)
    code = centre.issue_enrollment_code(STATION)
    answer = client.enroll(STATION, code, station_keys.public_pem())
    assert answer["code"] == "ENROLLED"
    return client


def test_an_unauthenticated_key_upload_cannot_replace_the_kits_key(
    centre, enrolled, station_keys, centre_public
):
    thief = StationKeys.generate()
    # The old last-writer-wins provisioning route is gone ...
    status, _ = _raw(centre, "PUT", f"/v1/stations/{STATION}", thief.public_pem())
    assert status == 404
    # ... and enrollment without a code the administrator issued is refused.
    forged = json.dumps({"code": "0000-0000-0000-0000", "public_key": thief.public_pem().decode()})
    status, answer = _raw(centre, "POST", f"/v1/stations/{STATION}/enrollment", forged.encode())
    assert status == 403 and answer["code"] == "BAD_CODE"
    # The thief's packages claiming the station are refused; the genuine kit's still flow.
    fake = _sealed("E-1", 1, thief, centre_public)
    refused = enrolled.upload("E-1", fake.data, fake.sha256)
    assert refused.status == 422 and refused.code == "UNKNOWN_STATION"
    genuine = _sealed("E-2", 2, station_keys, centre_public)
    assert enrolled.upload("E-2", genuine.data, genuine.sha256).status == 201


def test_an_enrollment_code_is_used_once_and_only_for_its_station(centre, station_keys):
    client = CentreClient(centre.url, trust=centre.trust)
    code = centre.issue_enrollment_code(STATION)
    with pytest.raises(CentreError) as wrong_station:
        client.enroll("KIT-02", code, station_keys.public_pem())
    assert wrong_station.value.code == "BAD_CODE"
    client.enroll(STATION, code, station_keys.public_pem())
    with pytest.raises(CentreError) as replayed:
        client.enroll(STATION, code, StationKeys.generate().public_pem())
    assert replayed.value.code == "CODE_USED"
    assert [k.key_id for k in centre.stations.keys(STATION)] == [station_keys.key_id.hex()]


def test_rotation_needs_the_current_key_and_keeps_the_old_one_until_cut_over(
    centre, enrolled, station_keys, centre_public
):
    thief = StationKeys.generate()
    with pytest.raises(CentreError) as forged:
        enrolled.rotate_key(STATION, thief, thief.public_pem())
    assert forged.value.code == "BAD_PROOF"
    new = StationKeys.generate()
    enrolled.rotate_key(STATION, station_keys, new.public_pem())
    # Records sealed with the old key, still in the outbox, are accepted until the cut-over.
    old = _sealed("E-3", 3, station_keys, centre_public)
    assert enrolled.upload("E-3", old.data, old.sha256).status == 201
    fresh = _sealed("E-4", 4, new, centre_public)
    assert enrolled.upload("E-4", fresh.data, fresh.sha256).status == 201
    # The replaced key can no longer hand the station over to anyone.
    with pytest.raises(CentreError) as stale:
        enrolled.rotate_key(STATION, station_keys, thief.public_pem())
    assert stale.value.code == "BAD_PROOF"


def test_after_the_cut_over_the_old_key_is_refused(centre, enrolled, station_keys, centre_public):
    new = StationKeys.generate()
    proof = station_keys.sign(rotation_message(STATION, new.public_pem()))
    centre.stations.rotate(STATION, new.public_pem(), proof, cutover_s=-1.0)
    late = _sealed("E-5", 5, station_keys, centre_public)
    refused = enrolled.upload("E-5", late.data, late.sha256)
    assert refused.status == 422 and refused.code == "UNKNOWN_STATION"
    assert "cut-over passed" in refused.message


def test_revocation_by_the_admin_command_refuses_packages_sealed_after_it(
    centre, enrolled, station_keys, centre_public, capsys
):
    before = _sealed(
        "E-6", 6, station_keys, centre_public, sealed_at=datetime.now(UTC) - timedelta(hours=1)
    )
    assert main(["revoke", STATION, "--data-dir", str(centre.data_dir)]) == 0
    assert "1 key(s) revoked" in capsys.readouterr().out
    after = _sealed("E-7", 7, station_keys, centre_public)
    refused = enrolled.upload("E-7", after.data, after.sha256)
    assert refused.status == 422 and refused.code == "UNKNOWN_STATION"
    assert "revoked" in refused.message
    # A record sealed before the kit was reported stolen still arrives (e.g. on a flash disk).
    assert enrolled.upload("E-6", before.data, before.sha256).status == 201


def test_the_admin_command_issues_codes_a_kit_enrolls_with(centre, station_keys, capsys):
    assert main(["enroll-code", "KIT-09", "--data-dir", str(centre.data_dir)]) == 0
    code = capsys.readouterr().out.strip()
    client = CentreClient(centre.url, trust=centre.trust)
    answer = client.enroll("KIT-09", code, station_keys.public_pem())
    assert answer["key_id"] == station_keys.key_id.hex()
    assert main(["trust", "--data-dir", str(centre.data_dir)]) == 0
    assert centre.identity.pin_text in capsys.readouterr().out
