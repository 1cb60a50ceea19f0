"""The simulated central registry: an HTTPS ingest and status API on loopback.

Endpoints (see ``uploader.centre_client`` and ``docs/centre-protocol.md``): station enrollment
with a one-time code and key rotation, package ingest with verification and deduplication
(whole-body PUT, or resumable HEAD/PATCH uploads that survive a link dying mid-record), record
status (one record, or many in one batch), the change feed of each station's records with a
long-poll, health. Every answer about a record carries a receipt signed with the centre's
receipt key (one batch receipt for an answer about many). USB bundles are imported with
:mod:`simulator.centre.bundle_import`. State lives in ``data_dir`` so the centre can be
stopped (or killed) and started again: ``keys/`` (its ML-KEM-768 + X25519 sealing key and
Ed25519 receipt key), ``tls/`` (its certificate), ``centre_public.pem``,
``centre_receipts.pub.pem`` and ``centre_tls.pin`` (for kits), ``packages/``, ``uploads/``
(partial resumable uploads), ``centre.sqlite`` and ``stations.sqlite`` (enrolled stations).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from domain.vocabulary import Position
from quality.matching import FingerprintMatcher, extract
from simulator.centre.abis import ENROLL_FAILURE, RECEIVED, Abis
from simulator.centre.bundle_import import BundleImporter
from simulator.centre.identity import CentreIdentity
from simulator.centre.stations import EnrollmentRefused, StationRegistry
from simulator.centre.store import CentreRecord, CentreStore
from uploader import receipts
from uploader.centre_trust import CentreTrust
from uploader.errors import PackageError, UnknownStation
from uploader.keys import CentreKeys
from uploader.package import MAX_PACKAGE_BYTES, read_header, valid_identifier
from uploader.untrusted import open_untrusted

log = logging.getLogger(__name__)

_RECORD_PATH = re.compile(r"^/v1/records/([^/]+)$")
_STATION_PATH = re.compile(r"^/v1/stations/([^/]+)/(enrollment|rotation)$")
_FEED_PATH = re.compile(r"^/v1/stations/([^/]+)/changes$")
_UPLOAD_PATH = re.compile(r"^/v1/uploads/([^/]+)$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_NONCE = re.compile(r"^[0-9a-f]{16,64}$")
MAX_KEY_BYTES = 16 * 1024
_READ_CHUNK = 1 << 16
MAX_STATUS_BODY = receipts.MAX_BATCH_ENTRIES * 256
MAX_FEED_WAIT = 30.0  # seconds a long-poll is held at most


@dataclass
class CentreFaults:
    """Faults the centre injects into its next requests (for tests and demos)."""

    upload_failures: int = 0  # answer the next N uploads with ``failure_status``
    failure_status: int = 503
    retry_after: float | None = None
    reset_uploads: int = 0  # drop the connection after half of the next N upload bodies
    precondition_failures: int = 0  # answer the next N resumable PATCHes 412 (offset check)
    storm_until: float = 0.0  # every upload answers ``storm_status`` until this time
    storm_status: int = 503
    slow_bytes_per_second: float | None = None  # read upload bodies no faster than this
    latency: float = 0.0  # seconds added to every request
    outcomes: dict[str, list[str]] = field(default_factory=dict)  # NIK -> forced statuses
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, name: str) -> bool:
        with self.lock:
            remaining = getattr(self, name)
            if remaining > 0:
                setattr(self, name, remaining - 1)
                return True
            return False

    def storm(self, seconds: float, status: int = 503) -> None:
        """A 5xx storm: every upload for ``seconds`` answers ``status``."""
        with self.lock:
            self.storm_until = time.time() + seconds
            self.storm_status = status

    def injected_failure(self) -> int | None:
        """The status to answer this upload with, if a storm or a counted failure is due."""
        if time.time() < self.storm_until:
            return self.storm_status
        if self.take("upload_failures"):
            return self.failure_status
        return None

    def force_outcome(self, nik: str, *statuses: str) -> None:
        """The next decisions for ``nik`` are ``statuses`` (e.g. ENROLL_FAILURE_AT_CENTRAL)."""
        with self.lock:
            self.outcomes.setdefault(nik, []).extend(statuses)

    def next_outcome(self, nik: str) -> str | None:
        with self.lock:
            queue = self.outcomes.get(nik)
            return queue.pop(0) if queue else None


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


class _CentreHTTPServer(ThreadingHTTPServer):
    """The HTTP server; a TLS handshake a client fails (a wrong pin, no client certificate)
    is that client's problem and is logged, not printed."""

    def handle_error(self, request: object, client_address: object) -> None:
        log.debug("connection from %s ended in error", client_address, exc_info=True)


class CentreServer:
    """``CentreServer(data_dir).start()`` serves on ``url`` until ``stop()``.

    HTTPS with the centre's self-signed certificate unless ``tls=False`` (plain HTTP, which
    only a simulated kit accepts); with ``client_ca`` (PEM), a client must present a
    certificate that CA signed (mutual TLS). ``trust`` is what a kit pins for this centre.
    ``feed=False`` serves no change feed (a centre that offers batch status only).
    """

    def __init__(
        self,
        data_dir: str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        decision_delay: float = 0.3,
        matcher: FingerprintMatcher | None = None,
        tls: bool = True,
        client_ca: str | Path | None = None,
        feed: bool = True,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.feed = feed
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.port = port
        self.decision_delay = decision_delay
        self.keys = CentreKeys.load_or_create(
            self.data_dir / "keys", public_path=self.data_dir / "centre_public.pem"
        )
        self.identity = CentreIdentity.load_or_create(self.data_dir)
        self.tls = tls
        self.client_ca = Path(client_ca) if client_ca else None
        self.stations = StationRegistry(self.data_dir / "stations.sqlite")
        self.faults = CentreFaults()
        self.matcher = matcher or FingerprintMatcher()
        self.store: CentreStore | None = None
        self.abis: Abis | None = None
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ingest_lock = threading.Lock()
        self.uploads_dir = self.data_dir / "uploads"
        self.uploads_dir.mkdir(exist_ok=True)
        self._upload_locks: dict[str, threading.Lock] = {}
        self._upload_locks_guard = threading.Lock()

    @property
    def public_key_path(self) -> Path:
        assert self.keys.public_key_path is not None
        return self.keys.public_key_path

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("centre is not running")
        host, port = self._httpd.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    @property
    def trust(self) -> CentreTrust:
        """What a kit pins for this centre: its TLS key (when it serves HTTPS) and its
        receipt key."""
        return CentreTrust(
            self.identity.receipt_key.public_key(),
            self.identity.tls_pin if self.tls else None,
            allow_plain_http=not self.tls,
        )

    def serve_options(self, url: str | None = None) -> list[str]:
        """The ``rekam serve`` options that point a kit at this centre: its URL (or ``url``,
        a proxy standing between), its public key, its receipt key and its TLS pin."""
        options = [
            "--centre-url",
            url or self.url,
            "--centre-key",
            str(self.public_key_path),
            "--centre-receipt-key",
            str(self.identity.receipt_public_path),
        ]
        return options + (["--centre-tls-pin", self.identity.pin_text] if self.tls else [])

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.identity.cert_path, self.identity.key_path)
        context.num_tickets = 0  # every request is a new connection; nothing resumes a session
        if self.client_ca is not None:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(cafile=str(self.client_ca))
        return context

    def open(self) -> CentreServer:
        """Open the centre's records and gallery without serving (the administrator's
        ``import``); records received this way are decided once the centre runs."""
        if self.store is None:
            self.store = CentreStore(self.data_dir)
            self.abis = Abis(
                self.store,
                self.matcher,
                forced_outcome=self.faults.next_outcome,
                templates_of=self._templates_of,
            )
        return self

    def start(self) -> CentreServer:
        self.open()
        assert self.abis is not None
        handler = type("CentreHandler", (_Handler,), {"centre": self})
        self._httpd = _CentreHTTPServer((self.host, self.port), handler)
        if self.tls:  # the handshake runs in the request's thread, on its first read
            self._httpd.socket = self._ssl_context().wrap_socket(
                self._httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        self._httpd.daemon_threads = False
        self._httpd.block_on_close = True
        self.port = self._httpd.server_address[1]
        self.abis.start()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="centre-http"
        )
        self._thread.start()
        log.info("centre listening on %s", self.url)
        return self

    def stop(self) -> None:
        if self.store is not None:
            self.store.release_waiters()  # long-polls answer now, so the server can shut down
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)
        if self.abis is not None:
            self.abis.stop()
        if self.store is not None:
            self.store.close()
        self._httpd = self._thread = self.abis = self.store = None

    def close(self) -> None:
        """Stop, and close the station register (the object cannot be started again)."""
        self.stop()
        self.stations.close()

    def __enter__(self) -> CentreServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- operations used by the handler -------------------------------------------------------

    # -- stations: the administrator's acts and the kit's requests -----------------------------

    def provision(self, station_id: str, pem: bytes) -> tuple[int, dict]:
        """An administrator enrolls a station's public key out of band (from its key file)."""
        try:
            key_id = self.stations.register(station_id, pem)
        except EnrollmentRefused as exc:
            return 400, {"code": exc.code, "message": exc.message}
        return 201, {"code": "PROVISIONED", "station_id": station_id, "key_id": key_id}

    def issue_enrollment_code(self, station_id: str) -> str:
        """A one-time code the kit ``station_id`` enrolls its key with."""
        return self.stations.issue_code(station_id)

    def revoke(self, station_id: str) -> int:
        """Refuse the station's keys for packages sealed from now on."""
        return self.stations.revoke(station_id)

    def station_request(self, station_id: str, action: str, body: bytes) -> tuple[int, dict]:
        """A kit's ``enrollment`` (with a one-time code) or key ``rotation`` (with a proof)."""
        try:
            request = json.loads(body)
            pem = str(request["public_key"]).encode("ascii")
            if action == "enrollment":
                key_id = self.stations.enroll(station_id, str(request["code"]), pem)
            else:
                proof = base64.b64decode(str(request["proof"]), validate=True)
                key_id = self.stations.rotate(station_id, pem, proof)
        except EnrollmentRefused as exc:
            status = 400 if exc.code in ("BAD_KEY", "BAD_ID") else 403
            log.warning("station %s %s refused: %s", station_id, action, exc.code)
            return status, {"code": exc.code, "message": exc.message}
        except (ValueError, KeyError, TypeError, RecursionError, binascii.Error) as exc:
            return 400, {"code": "BAD_REQUEST", "message": f"unreadable {action}: {exc}"}
        log.info("station %s %s: key %s", station_id, action, key_id)
        return 201, {"code": "ENROLLED", "station_id": station_id, "key_id": key_id}

    def _trusted_for(self, body: bytes) -> dict[str, object]:
        """The one key that may have signed this package (by its claimed station and key id,
        checked against enrollment, rotation and revocation); raises a PackageError."""
        header = read_header(body)
        try:
            return {header.station_id: self.stations.key_for(header)}
        except EnrollmentRefused as exc:
            raise UnknownStation(exc.message) from exc

    def _templates_of(self, record_id: str) -> dict[str, bytes]:
        """ISO/IEC 19794-2 minutiae records of a stored record's prints that can be matched."""
        assert self.store is not None
        body = self.store.package_path(record_id).read_bytes()
        header = read_header(body)
        held = self.stations.lookup(header.station_id, header.station_key_id)
        assert held is not None  # the package was verified against it when it was received
        opened = open_untrusted(body, self.keys.private_key, {header.station_id: held.public_key})
        templates = {}
        for position, image in opened.fingerprints.items():
            template = extract(image, Position(position).finger_code)
            if template.usable:
                templates[position] = template.to_bytes()
        return templates

    def ingest(
        self, record_id: str, body: bytes, claimed_sha256: str, via: str = "http"
    ) -> tuple[int, dict]:
        """Verify and store one package; every answer is written to the ingest log."""
        assert self.store is not None
        status, answer = self._ingest(record_id, body, claimed_sha256, via)
        if status != 201:  # a new record's entry is written with the record itself
            self.store.log_ingest(
                record_id, hashlib.sha256(body).hexdigest(), str(answer.get("code", status)), via
            )
        return status, answer

    def _ingest(
        self, record_id: str, body: bytes, claimed_sha256: str, via: str
    ) -> tuple[int, dict]:
        assert self.store is not None and self.abis is not None
        digest = hashlib.sha256(body).hexdigest()
        if not claimed_sha256:
            return 400, {"code": "MISSING_HASH", "message": "X-Content-SHA256 is required"}
        if claimed_sha256.lower() != digest:
            return 400, {
                "code": "CONTENT_HASH_MISMATCH",
                "message": "body does not match X-Content-SHA256 (damaged in transit?)",
            }
        existing = self._existing_answer(record_id, digest)
        if existing is not None:
            return existing
        try:
            opened = open_untrusted(body, self.keys.private_key, self._trusted_for(body))
        except PackageError as exc:
            return 422, {"code": exc.reason, "message": exc.detail}
        if opened.record_id != record_id:
            return 400, {
                "code": "RECORD_ID_MISMATCH",
                "message": f"package is record {opened.record_id}, URL says {record_id}",
            }
        now = time.time()
        record = CentreRecord(
            record_id=record_id,
            sha256=digest,
            size=len(body),
            station_id=opened.station_id,
            nik=str(opened.manifest.get("subject", {}).get("nik", "")),
            status=RECEIVED,
            detail="received and verified",
            received_at=now,
            updated_at=now,
            decide_at=now + self.decision_delay,
        )
        with self._ingest_lock:
            existing = self._existing_answer(record_id, digest)
            if existing is not None:
                return existing
            # Minutiae are extracted by the ABIS thread, not while the kit waits for the answer.
            self.store.add_record(record, body, {}, via)
        self.abis.notify()
        return 201, {"code": "RECEIVED", "record_id": record_id, "status": RECEIVED}

    def _existing_answer(self, record_id: str, digest: str) -> tuple[int, dict] | None:
        assert self.store is not None and self.abis is not None
        existing = self.store.get(record_id)
        if existing is None:
            return None
        if existing.sha256 != digest:
            return 409, {
                "code": "RECORD_CONFLICT",
                "message": f"record {record_id} was already received with other content",
            }
        if existing.status == ENROLL_FAILURE:
            self.store.set_status(
                record_id, RECEIVED, "resubmitted", time.time() + self.decision_delay
            )
            self.abis.notify()
            return 200, {"code": "RESUBMITTED", "record_id": record_id, "status": RECEIVED}
        return 200, {"code": "ALREADY_RECEIVED", "record_id": record_id, "status": existing.status}

    # -- resumable uploads ---------------------------------------------------------------------

    def partial_path(self, record_id: str, sha256: str) -> Path:
        return self.uploads_dir / f"{record_id}.{sha256}.part"

    def upload_lock(self, record_id: str) -> threading.Lock:
        with self._upload_locks_guard:
            return self._upload_locks.setdefault(record_id, threading.Lock())

    def upload_offset(self, record_id: str, sha256: str) -> int | None:
        """Bytes already held of this upload; None when the whole record is already here."""
        assert self.store is not None
        existing = self.store.get(record_id)
        if existing is not None and existing.sha256 == sha256:
            return None
        try:
            return self.partial_path(record_id, sha256).stat().st_size
        except FileNotFoundError:
            return 0

    def known_answer(self, record_id: str, sha256: str) -> tuple[int, dict] | None:
        """The answer for a record the centre already holds (logged), or None."""
        assert self.store is not None
        with self._ingest_lock:
            answer = self._existing_answer(record_id, sha256)
        if answer is not None:
            self.store.log_ingest(record_id, sha256, str(answer[1]["code"]), "resumable")
        return answer

    def finish_upload(self, record_id: str, sha256: str) -> tuple[int, dict]:
        """The partial upload is complete: ingest it and forget the partial file."""
        path = self.partial_path(record_id, sha256)
        body = path.read_bytes()
        try:
            return self.ingest(record_id, body, sha256, via="resumable")
        finally:
            path.unlink(missing_ok=True)

    # -- USB bundles ---------------------------------------------------------------------------

    def import_bundle(self, path: str | Path) -> dict[str, int]:
        """Import a USB bundle (see :mod:`simulator.centre.bundle_import`) and write its
        receipt onto the drive; returns how many records got each ingest code (RECEIVED,
        ALREADY_RECEIVED, DAMAGED_IN_BUNDLE, rejections ...). Raises
        :class:`uploader.bundle.BundleError` for a bundle that is unsigned, tampered or foreign.
        """
        result = BundleImporter(self).run(path)
        log.info("imported bundle %s: %s", result.bundle.path.name, result.counts())
        return result.counts()

    def bundle_key(self, station_id: str, station_key_id: bytes) -> object | None:
        """The key that may sign a bundle: the station's, unless revoked or past cut-over."""
        held = self.stations.lookup(station_id, station_key_id)
        if held is None or held.refusal(time.time(), time.time()) is not None:
            return None
        return held.public_key

    def import_from_store(self, s3: Any, bucket: str, prefix: str = "") -> dict[str, int]:
        """Ingest every ``<prefix><record_id>.pkg`` object of an S3 bucket (the landing zone
        kits deliver into); objects already ingested answer ALREADY_RECEIVED, so running it
        again is harmless. ``s3`` is a boto3 S3 client."""
        counts: dict[str, int] = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                key = str(item["Key"])
                record_id = key[len(prefix) : -len(".pkg")]
                if not key.endswith(".pkg") or not valid_identifier(record_id):
                    continue
                stored = s3.get_object(Bucket=bucket, Key=key)
                data = stored["Body"].read()
                claimed = stored.get("Metadata", {}).get("sha256", "")
                _status, answer = self.ingest(record_id, data, claimed, via="s3")
                code = str(answer.get("code", ""))
                counts[code] = counts.get(code, 0) + 1
        return counts

    def status(self, record_id: str) -> tuple[int, dict, str | None]:
        """The record's status, and the hash of the package it is about (None: unknown)."""
        assert self.store is not None
        record = self.store.get(record_id)
        if record is None:
            return 404, {"code": "NOT_FOUND", "message": f"record {record_id} is unknown"}, None
        return 200, {
            "record_id": record.record_id,
            "status": record.status,
            "detail": record.detail,
            "updated_at": _iso(record.updated_at),
            **self._duplicate_fields(record.record_id),
        }, record.sha256

    def _duplicate_fields(self, record_id: str) -> dict[str, str]:
        """The receipt fields naming the earlier record a duplicate matched (empty if none)."""
        assert self.store is not None
        duplicate_of, nik = self.store.duplicate_of(record_id)
        return {"duplicate_of": duplicate_of, "duplicate_of_nik": nik}

    def batch_status(self, asked: list[tuple[str, str]]) -> tuple[list[dict], str]:
        """Receipt entries for the (record id, package hash) pairs ``asked``, and the feed cursor
        read before them (changes after it reach the kit through the feed)."""
        assert self.store is not None
        cursor = str(self.store.last_change()) if self.feed else ""
        held = self.store.records([record_id for record_id, _sha256 in asked])
        entries = []
        for record_id, sha256 in asked:
            record = held.get(record_id)
            if record is None:
                entries.append(_entry(record_id, sha256, 404, "NOT_FOUND", "", "unknown record"))
            else:
                entry = _entry(record_id, record.sha256, 200, "", record.status, record.detail)
                entries.append({**entry, **self._duplicate_fields(record_id)})
        return entries, cursor

    def changes(self, station_id: str, since: int, wait: float) -> tuple[list[dict], str]:
        """Receipt entries for the station's changes after ``since`` (waiting up to ``wait``
        seconds for the first), and the cursor after them."""
        assert self.store is not None
        found = self.store.wait_for_changes(
            station_id, since, receipts.MAX_BATCH_ENTRIES, min(wait, MAX_FEED_WAIT)
        )
        entries = [
            {
                **_entry(c.record_id, c.sha256, 200, "", c.status, c.detail),
                **self._duplicate_fields(c.record_id),
            }
            for c in found
        ]
        return entries, str(found[-1].seq if found else since)

    def health(self) -> tuple[int, dict]:
        assert self.store is not None and self.abis is not None
        return 200, {
            "status": "ok",
            "records": self.store.count(),
            "gallery": self.abis.gallery_size,
            "centre_key_id": self.keys.key_id.hex(),
            "stations": self.stations.count(),
        }


def _entry(
    record_id: str, sha256: str, http_status: int, code: str, status: str, detail: str
) -> dict[str, object]:
    return {
        "record_id": record_id,
        "sha256": sha256,
        "http_status": http_status,
        "code": code,
        "status": status,
        "detail": detail,
    }


def _asked_records(body: bytes) -> list[tuple[str, str]] | None:
    """The (record id, package hash) pairs of a batch status request, or None if malformed."""
    try:
        items = json.loads(body)["records"]
        asked = [(str(item["record_id"]), str(item["sha256"]).lower()) for item in items]
    except (ValueError, KeyError, TypeError, RecursionError):
        return None
    if not 0 < len(asked) <= receipts.MAX_BATCH_ENTRIES:
        return None
    if not all(valid_identifier(r) and _SHA256.match(h) for r, h in asked):
        return None
    return asked


class _Handler(BaseHTTPRequestHandler):
    centre: CentreServer
    protocol_version = "HTTP/1.1"
    server_version = "RekamCentreSim/1"
    timeout = 15
    # An answer is written as headers then body (and TLS adds its own small records): with
    # Nagle's algorithm the second write waits for the client's delayed ACK, 40 ms a request.
    disable_nagle_algorithm = True

    # (record id, package hash) the answer being written is about: it is signed for them
    _about: tuple[str, str] | None = None

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _answer_about(self, record_id: str, sha256: str) -> None:
        """Sign every answer to this request as a receipt about ``record_id``/``sha256``."""
        self._about = (record_id, sha256)

    def _receipt(self, status: int, body: dict) -> dict:
        if self._about is None:
            return body
        record_id, sha256 = self._about
        key = self.centre.identity.receipt_key
        nonce = self._nonce()
        body = receipts.for_kit(body, self._fields_header())
        return {**body, "receipt": receipts.issue(key, record_id, sha256, status, body, nonce)}

    def _fields_header(self) -> str:
        """The optional receipt fields the asking kit reads (see ``uploader.receipts``)."""
        return self.headers.get(receipts.FIELDS_HEADER, "")

    def _nonce(self) -> str:
        nonce = self.headers.get(receipts.NONCE_HEADER, "").lower()
        return nonce if _NONCE.match(nonce) else ""

    def _send_batch(self, entries: list[dict], cursor: str) -> None:
        """A 200 answer about many records: one batch receipt covers every entry."""
        key = self.centre.identity.receipt_key
        entries = [receipts.for_kit(entry, self._fields_header()) for entry in entries]
        self._send(200, {"receipt": receipts.sign_batch(key, entries, cursor, self._nonce())})

    def _send(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(self._receipt(status, body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        try:
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the client (or a cut link) went away before the answer
            self.close_connection = True

    def _path(self) -> str:
        return urlsplit(self.path).path

    def _read_body(self, limit: int) -> bytes | None:
        """The request body, or None after answering an error (or losing the client)."""
        length_header = self.headers.get("Content-Length")
        if length_header is None or not length_header.isdigit():
            self._send(411, {"code": "LENGTH_REQUIRED", "message": "Content-Length required"})
            return None
        length = int(length_header)
        if length > limit:
            self.close_connection = True
            self._send(413, {"code": "TOO_LARGE", "message": f"body over {limit} bytes"})
            return None
        chunks, remaining = [], length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 16))
            if not chunk:
                self.close_connection = True
                return None
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _latency(self) -> None:
        if self.centre.faults.latency > 0:
            time.sleep(self.centre.faults.latency)

    def _receive_into(self, path: Path, length: int, limit: int | None = None) -> int:
        """Append up to ``length`` body bytes (at most ``limit``) to ``path``, paced by the
        slow-link fault; returns how many arrived before the client stopped sending."""
        rate = self.centre.faults.slow_bytes_per_second
        wanted = length if limit is None else min(length, limit)
        received = 0
        started = time.monotonic()
        with open(path, "ab") as handle:
            while received < wanted:
                try:
                    chunk = self.rfile.read(min(wanted - received, _READ_CHUNK))
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                handle.write(chunk)
                handle.flush()
                received += len(chunk)
                if rate:
                    ahead = received / rate - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)
        return received

    def _drain(self, length: int) -> None:
        """Read and drop a body we answer without keeping, so the client sees the answer."""
        remaining = length
        while remaining > 0:
            try:
                chunk = self.rfile.read(min(remaining, _READ_CHUNK))
            except OSError:
                chunk = b""
            if not chunk:
                self.close_connection = True
                return
            remaining -= len(chunk)

    def _upload_headers(self) -> tuple[str, int, int] | None:
        """(sha256, offset, total) of a resumable PATCH, or None after answering 400."""
        sha256 = self.headers.get("X-Content-SHA256", "").lower()
        offset = self.headers.get("Upload-Offset", "")
        total = self.headers.get("Upload-Length", "")
        length = self.headers.get("Content-Length", "")
        if not (_SHA256.match(sha256) and offset.isdigit() and total.isdigit()):
            self.close_connection = True
            self._send(400, {"code": "BAD_UPLOAD", "message": "need sha256, offset and length"})
            return None
        if not length.isdigit() or int(offset) + int(length) > int(total):
            self.close_connection = True
            self._send(400, {"code": "BAD_UPLOAD", "message": "body runs past Upload-Length"})
            return None
        if int(total) > MAX_PACKAGE_BYTES:
            self.close_connection = True
            self._send(413, {"code": "TOO_LARGE", "message": "package too large"})
            return None
        return sha256, int(offset), int(total)

    def handle_one_request(self) -> None:
        self._about = None
        super().handle_one_request()

    def do_HEAD(self) -> None:
        self._latency()
        match = _UPLOAD_PATH.match(self._path())
        sha256 = self.headers.get("X-Content-SHA256", "").lower()
        if not match or not valid_identifier(unquote(match.group(1))) or not _SHA256.match(sha256):
            self._send(404, {"code": "NOT_FOUND", "message": "no such upload"})
            return
        offset = self.centre.upload_offset(unquote(match.group(1)), sha256)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        if offset is None:
            self.send_header("X-Record-Complete", "1")
        else:
            self.send_header("Upload-Offset", str(offset))
        self.end_headers()

    def do_PATCH(self) -> None:
        self._latency()
        match = _UPLOAD_PATH.match(self._path())
        record_id = unquote(match.group(1)) if match else ""
        if not match or not valid_identifier(record_id):
            self.close_connection = True
            self._send(404, {"code": "NOT_FOUND", "message": f"no route {self._path()}"})
            return
        self._answer_about(record_id, self.headers.get("X-Content-SHA256", "").lower())
        fields = self._upload_headers()
        if fields is None:
            return
        sha256, offset, total = fields
        lock = self.centre.upload_lock(record_id)
        if not lock.acquire(timeout=5):
            self.close_connection = True
            self._send(423, {"code": "UPLOAD_BUSY", "message": "another upload is running"})
            return
        try:
            self._patch_record(record_id, sha256, offset, total)
        finally:
            lock.release()

    def _patch_record(self, record_id: str, sha256: str, offset: int, total: int) -> None:
        centre, faults = self.centre, self.centre.faults
        length = int(self.headers["Content-Length"])
        known = centre.known_answer(record_id, sha256)
        if known is not None:  # the centre holds this record already (these bytes or others)
            self._drain(length)
            self._send(*known)
            return
        held = centre.upload_offset(record_id, sha256) or 0
        failure = faults.injected_failure()
        if failure is not None:
            self._drain(length)
            self._fault_answer(failure)
            return
        if held != offset or faults.take("precondition_failures"):
            self._drain(length)
            self._send(
                412,
                {"code": "OFFSET_MISMATCH", "message": f"the centre holds {held} bytes"},
                {"Upload-Offset": str(held)},
            )
            return
        partial = centre.partial_path(record_id, sha256)
        limit = length // 2 if faults.take("reset_uploads") else None
        received = self._receive_into(partial, length, limit)
        if received < length:
            self.close_connection = True
            if limit is not None:
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if offset + received < total:
            headers = {"Upload-Offset": str(offset + received)}
            self._send(308, {"code": "PARTIAL", "offset": offset + received}, headers)
            return
        self._send(*centre.finish_upload(record_id, sha256))

    def _fault_answer(self, status_code: int) -> None:
        headers = {}
        if self.centre.faults.retry_after is not None:
            headers["Retry-After"] = str(int(self.centre.faults.retry_after))
        status = HTTPStatus(status_code)
        self._send(status, {"code": status.name, "message": "injected fault"}, headers)

    def do_GET(self) -> None:
        self._latency()
        path = self._path()
        if path == "/v1/health":
            self._send(*self.centre.health())
            return
        feed = _FEED_PATH.match(path)
        if feed:
            self._feed(unquote(feed.group(1)))
            return
        match = _RECORD_PATH.match(path)
        if match:
            record_id = unquote(match.group(1))
            status, body, held = self.centre.status(record_id)
            self._answer_about(record_id, held or self.headers.get("X-Content-SHA256", "").lower())
            self._send(status, body)
            return
        self._send(404, {"code": "NOT_FOUND", "message": f"no route {path}"})

    def _feed(self, station_id: str) -> None:
        """``GET /v1/stations/{id}/changes?since=N&wait=S``: the long-poll on the change feed."""
        query = parse_qs(urlsplit(self.path).query)
        since = query.get("since", ["0"])[0]
        try:
            wait = float(query.get("wait", ["0"])[0])
        except ValueError:
            wait = -1.0
        if not self.centre.feed:
            self._send(404, {"code": "NO_FEED", "message": "this centre keeps no change feed"})
        elif not (valid_identifier(station_id) and since.isdigit() and len(since) <= 18):
            self._send(400, {"code": "BAD_REQUEST", "message": "need a station id and since=N"})
        elif not 0.0 <= wait <= MAX_FEED_WAIT:
            self._send(400, {"code": "BAD_REQUEST", "message": f"wait must be 0..{MAX_FEED_WAIT}"})
        else:
            self._send_batch(*self.centre.changes(station_id, int(since), wait))

    def do_POST(self) -> None:
        self._latency()
        if self._path() == "/v1/status":
            body = self._read_body(MAX_STATUS_BODY)
            asked = _asked_records(body) if body is not None else None
            if asked is not None:
                self._send_batch(*self.centre.batch_status(asked))
            elif body is not None:
                self._send(400, {"code": "BAD_REQUEST", "message": "need 1..500 records"})
            return
        match = _STATION_PATH.match(self._path())
        if not match:
            self._send(404, {"code": "NOT_FOUND", "message": f"no route {self._path()}"})
            return
        station_id = unquote(match.group(1))
        if not valid_identifier(station_id):
            self.close_connection = True
            self._send(400, {"code": "BAD_ID", "message": f"invalid identifier {station_id!r}"})
            return
        body = self._read_body(MAX_KEY_BYTES)
        if body is not None:
            self._send(*self.centre.station_request(station_id, match.group(2), body))

    def do_PUT(self) -> None:
        self._latency()
        path = self._path()
        record = _RECORD_PATH.match(path)
        if not record:
            self.close_connection = True
            self._send(404, {"code": "NOT_FOUND", "message": f"no route {path}"})
            return
        record_id = unquote(record.group(1))
        if not valid_identifier(record_id):
            self.close_connection = True
            self._send(400, {"code": "BAD_ID", "message": f"invalid identifier {record_id!r}"})
            return
        self._answer_about(record_id, self.headers.get("X-Content-SHA256", "").lower())
        self._put_record(record_id)

    def _put_record(self, record_id: str) -> None:
        faults = self.centre.faults
        if faults.take("reset_uploads"):
            length = int(self.headers.get("Content-Length", "0") or 0)
            self.rfile.read(length // 2)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        body = self._read_body(MAX_PACKAGE_BYTES)
        if body is None:
            return
        failure = faults.injected_failure()
        if failure is not None:
            self._fault_answer(failure)
            return
        self._send(*self.centre.ingest(record_id, body, self.headers.get("X-Content-SHA256", "")))
