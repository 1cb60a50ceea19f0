"""A fake centre cannot make the kit purge, move or drop a record.

The fake centre is a real HTTP server on 127.0.0.1 that answers every question with the answer
that would hurt most (PRINT_READY_RECORD, "received"). It serves plain HTTP to a kit that allows
it (a simulated kit), so that it gets past the transport and only the receipts stand in its way;
the TLS pin is attacked separately below, with a centre of its own certificate.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from simulator.centre import CentreServer
from simulator.centre.samples import small_record
from uploader import receipts
from uploader.centre_client import CentreClient, CentreUnreachable
from uploader.centre_trust import CentreTrust, CentreTrustError
from uploader.keys import CentreKeys, StationKeys
from uploader.outbox import Outbox, RecordState
from uploader.package import seal
from uploader.service import PackagePurger
from uploader.tracker import StatusTracker

RECORD = "F-1"
# How the fake signs its answer: (receipt key, package hash, nonce) -> the key, package hash
# and nonce it signs (single and batch receipts alike), or None for no receipt at all
Forger = Callable[[Ed25519PrivateKey, str, str], tuple[Ed25519PrivateKey, str, str] | None]


def _unsigned(pinned, sha256, nonce):
    return None


def _other_key(pinned, sha256, nonce):
    return Ed25519PrivateKey.generate(), sha256, nonce


def _other_package(pinned, sha256, nonce):
    return pinned, "ab" * 32, nonce


def _replayed(pinned, sha256, nonce):
    return pinned, sha256, receipts.new_nonce()


def _genuine(pinned, sha256, nonce):
    return pinned, sha256, nonce


ANSWER = {"code": "OK", "status": "PRINT_READY_RECORD", "detail": "printed"}
ENTRY = {"http_status": 200, **ANSWER}


class FakeCentre:
    """Answers status questions (one record, or a batch) with PRINT_READY_RECORD and every
    upload with 201, signed as ``forge`` says; counts what it was asked."""

    def __init__(self, pinned: Ed25519PrivateKey, forge: Forger) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, body: dict) -> None:
                record_id = re.sub(r"^/v1/\w+/", "", self.path)
                sha256 = self.headers.get("X-Content-SHA256", "")
                forged = forge(pinned, sha256, self.headers.get(receipts.NONCE_HEADER, ""))
                if forged is not None:
                    key, sha256, nonce = forged
                    receipt = receipts.issue(key, record_id, sha256, status, body, nonce)
                    body = {**body, "receipt": receipt}
                self._json(status, body)

            def _json(self, status: int, body: dict) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:  # batch status
                fake.asked += 1
                asked = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                [item] = asked["records"]
                forged = forge(pinned, item["sha256"], self.headers.get(receipts.NONCE_HEADER, ""))
                body: dict = {}
                if forged is not None:
                    key, sha256, nonce = forged
                    entry = {**ENTRY, "record_id": item["record_id"], "sha256": sha256}
                    body["receipt"] = receipts.sign_batch(key, [entry], "", nonce)
                self._json(200, body)

            def do_GET(self) -> None:
                fake.asked += 1
                self._answer(200, {"record_id": RECORD, **ANSWER})

            def do_PATCH(self) -> None:
                fake.asked += 1
                self.rfile.read(int(self.headers["Content-Length"]))
                self._answer(201, {"code": "RECEIVED", "status": "RECEIVED_AT_CENTRAL"})

        self.asked = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="centre-fake")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeCentre:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def outbox(tmp_path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox")
    yield box
    box.close()


@pytest.fixture
def receipt_key() -> Ed25519PrivateKey:
    """The real centre's receipt key, which the kit pins (the fake does not hold it, except
    to replay a genuine receipt)."""
    return Ed25519PrivateKey.generate()


def _queued(outbox: Outbox, record_id: str = RECORD) -> str:
    centre_public = CentreKeys.generate().public_key
    sealed = seal(small_record(record_id, 1), StationKeys.generate(), centre_public)
    outbox.enqueue(sealed)
    return sealed.sha256


def _client(fake: FakeCentre, receipt_key: Ed25519PrivateKey) -> CentreClient:
    trust = CentreTrust(receipt_key.public_key(), allow_plain_http=True)
    return CentreClient(fake.url, trust=trust, timeout=5)


@pytest.mark.parametrize(
    "forge", [_unsigned, _other_key, _other_package, _replayed], ids=lambda f: f.__name__[1:]
)
def test_a_fake_print_ready_neither_moves_nor_purges_the_record(outbox, receipt_key, forge):
    _queued(outbox)
    outbox.mark_delivered(RECORD, "HTTP 201 RECEIVED")
    with FakeCentre(receipt_key, forge) as fake:
        tracker = StatusTracker(outbox, _client(fake, receipt_key), poll_interval=0.01)
        tracker.run_once()
        assert fake.asked == 1
    record = outbox.get(RECORD)
    assert record.state == RecordState.SENT_FOR_ENROLLMENT
    assert tracker.counters.poll_failures == 1 and tracker.counters.status_changes == 0
    assert PackagePurger(outbox, retention=0.0).run_once() == 0
    assert outbox.read_package(RECORD)  # the only copy is still on the kit


def test_the_centres_own_receipt_does_move_and_then_purge_the_record(outbox, receipt_key):
    _queued(outbox)
    outbox.mark_delivered(RECORD, "HTTP 201 RECEIVED")
    with FakeCentre(receipt_key, _genuine) as fake:
        StatusTracker(outbox, _client(fake, receipt_key), poll_interval=0.01).run_once()
    assert outbox.get(RECORD).state == RecordState.PRINT_READY_RECORD
    assert PackagePurger(outbox, retention=0.0).run_once() == 1


@pytest.mark.parametrize("forge", [_unsigned, _other_key, _other_package, _replayed])
def test_an_unsigned_receipt_of_an_upload_is_a_network_fault(outbox, receipt_key, forge):
    sha256 = _queued(outbox)
    with FakeCentre(receipt_key, forge) as fake:
        client = _client(fake, receipt_key)
        result = client.deliver(RECORD, outbox.read_package(RECORD), sha256)
    assert result.outcome.value == "transport_failed"
    assert outbox.get(RECORD).state == RecordState.SEALED


def test_a_centre_with_another_tls_key_gets_no_request_at_all(tmp_path, outbox):
    with (
        CentreServer(tmp_path / "genuine") as genuine,
        CentreServer(tmp_path / "impostor") as impostor,
    ):
        trust = genuine.trust
        client = CentreClient(impostor.url, trust=trust, timeout=5)
        sha256 = _queued(outbox)
        with pytest.raises(CentreUnreachable, match="not the pinned"):
            client.upload(RECORD, outbox.read_package(RECORD), sha256)
        with pytest.raises(CentreUnreachable, match="not the pinned"):
            client.status(RECORD, sha256)
        assert impostor.store.ingest_outcomes() == {}
        assert CentreClient(genuine.url, trust=trust).health()["status"] == "ok"


def test_plain_http_is_refused_unless_the_kit_is_simulated(receipt_key):
    strict = CentreTrust(receipt_key.public_key(), tls_pin=b"\0" * 32)
    with pytest.raises(CentreTrustError, match="plain http"):
        CentreClient("http://127.0.0.1:9", trust=strict)
    with pytest.raises(CentreTrustError, match="TLS pin"):
        CentreClient("https://127.0.0.1:9", trust=CentreTrust(receipt_key.public_key()))
