"""The record a duplicate matched travels in the centre's signed answers, to kits that read it:
a kit that predates the optional receipt fields (it names none in X-Rekam-Receipt-Fields) gets
answers without them, which its strict receipt parser still verifies."""

from __future__ import annotations

import base64
import http.client
import json
import ssl

from centre_records import person_record, wait_until

from uploader.centre_client import CentreClient
from uploader.package import seal
from uploader.receipts import NONCE_HEADER, new_nonce

# The payload fields of a receipt before optional fields existed (docs/centre-protocol.md).
V1_FIELDS = {
    "format", "version", "record_id", "sha256", "http_status", "code", "status", "detail",
    "issued_at", "nonce",
}  # fmt: skip


def duplicate_pair(centre, station_keys, centre_public, client):
    first = seal(person_record("D-A", 17, "3171000000000017", 1), station_keys, centre_public)
    again = seal(person_record("D-B", 17, "3171000000000099", 2), station_keys, centre_public)
    assert client.upload("D-A", first.data, first.sha256).status == 201
    assert wait_until(lambda: client.status("D-A", first.sha256).status == "PRINT_READY_RECORD")
    assert client.upload("D-B", again.data, again.sha256).status == 201
    assert wait_until(lambda: client.status("D-B", again.sha256).status == "DUPLICATE_RECORD")
    return first, again


def test_a_kit_that_reads_the_fields_gets_the_match_in_every_answer(
    centre, station_keys, centre_public
):
    centre.provision("KIT-01", station_keys.public_pem())
    client = CentreClient(centre.url, trust=centre.trust, timeout=10)
    first, again = duplicate_pair(centre, station_keys, centre_public, client)
    single = client.status("D-B", again.sha256)
    assert (single.duplicate_of, single.duplicate_of_nik) == ("D-A", "3171000000000017")
    batch = client.status_batch([("D-A", first.sha256), ("D-B", again.sha256)]).statuses
    assert (batch["D-B"].duplicate_of, batch["D-B"].duplicate_of_nik) == ("D-A", "3171000000000017")
    assert (batch["D-A"].duplicate_of, batch["D-A"].duplicate_of_nik) == ("", "")
    feed = client.status_feed("KIT-01", "0", 0).changes
    decided = [c for c in feed if c.record_id == "D-B" and c.status == "DUPLICATE_RECORD"]
    assert decided and decided[-1].duplicate_of == "D-A"


def test_a_kit_that_predates_the_fields_gets_answers_it_can_verify(
    centre, station_keys, centre_public
):
    centre.provision("KIT-01", station_keys.public_pem())
    client = CentreClient(centre.url, trust=centre.trust, timeout=10)
    _, again = duplicate_pair(centre, station_keys, centre_public, client)
    conn = http.client.HTTPSConnection(
        "127.0.0.1", centre.port, timeout=5, context=ssl._create_unverified_context()
    )
    try:  # the request an older kit sends: no X-Rekam-Receipt-Fields
        headers = {"X-Content-SHA256": again.sha256, NONCE_HEADER: new_nonce()}
        conn.request("GET", "/v1/records/D-B", headers=headers)
        body = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    payload = json.loads(base64.b64decode(body["receipt"]["payload"]))
    assert payload["status"] == "DUPLICATE_RECORD"
    assert set(payload) == V1_FIELDS
    assert "duplicate_of" not in body
