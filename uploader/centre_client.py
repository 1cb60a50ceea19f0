"""HTTP client for the central registry's ingest and status API (stdlib http.client).

The centre is reached over TLS with its key pinned, and every answer that decides something
about a record carries a receipt signed by the centre (``uploader.centre_trust``,
``uploader.receipts``; the protocol is in ``docs/centre-protocol.md``). An answer that should
carry a receipt and does not, or whose receipt does not verify, is a network fault: the record
stays where it was.

API (JSON bodies, errors as ``{"code", "message"}``; requests about a record send
``X-Rekam-Nonce`` and the answer's receipt echoes it):

- ``POST /v1/stations/{station_id}/enrollment``  ``{"code", "public_key"}``: register the
  station's public key with a one-time enrollment code a centre administrator issued
- ``POST /v1/stations/{station_id}/rotation``  ``{"public_key", "proof"}``: a new key, proven by
  a signature of the current key over :func:`rotation_message`
- ``PUT /v1/records/{record_id}``    body: the package, header ``X-Content-SHA256``;
  201 new, 200 identical copy already held, 409 same id with other content, 400/422 rejected
- ``HEAD /v1/uploads/{record_id}``   header ``X-Content-SHA256`` -> ``Upload-Offset`` (bytes
  the centre holds of this upload) or ``X-Record-Complete: 1``
- ``PATCH /v1/uploads/{record_id}``  headers ``X-Content-SHA256``, ``Upload-Offset``,
  ``Upload-Length``; body: the package from that offset. The resumable path: bytes that reach
  the centre before a link dies are kept; 412 (with the centre's ``Upload-Offset``) when the
  offset is not the one the centre holds; 308 with ``Upload-Offset`` when the body ended before
  ``Upload-Length``; the last byte answers like the PUT
- ``GET /v1/records/{record_id}``    header ``X-Content-SHA256`` (the kit's package) ->
  ``{"record_id","status","detail","updated_at","receipt"}``; 404 (with a receipt)
- ``POST /v1/status``  ``{"records": [{"record_id", "sha256"}, ...]}`` (1..500) -> one batch
  receipt with an entry per record and the centre's change-feed cursor ("" without a feed)
- ``GET /v1/stations/{station_id}/changes?since=CURSOR&wait=S``  the station's status changes
  after the cursor, held open up to ``S`` seconds until one happens (a long-poll) -> one batch
  receipt with the changes and the cursor after them
- ``GET /v1/health``

Every answer is checked before it can change anything: its status code must be one the request
expects, its content type ``application/json`` and its body the protocol's JSON object; a
redirect, an HTML page or a body of another shape (a captive portal, a proxy's error page) is a
network fault. Every request has a deadline as a whole (connect, send and the full answer):
``timeout`` for questions, ``transfer_timeout`` for an upload, the long-poll's wait plus
``timeout`` for the feed; a peer that trickles its answer holds a request no longer than that.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import http.client
import json
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, urlencode, urlsplit

from uploader.centre_trust import CentreTrust, PinnedHTTPSConnection
from uploader.receipts import (
    FIELDS_HEADER,
    MAX_BATCH_ENTRIES,
    NONCE_HEADER,
    OPTIONAL_FIELDS,
    BatchReceipt,
    Receipt,
    ReceiptInvalid,
    new_nonce,
    verify_batch,
    verify_receipt,
)
from uploader.sink import DeliveryResult, SinkContext
from uploader.throttle import RateLimiter

RETRYABLE_STATUSES = frozenset({308, 408, 412, 423, 425, 429, 500, 502, 503, 504})
# Rejections that say "the bytes were damaged on the way", not "the record is bad".
RETRYABLE_CODES = frozenset({"CONTENT_HASH_MISMATCH", "INCOMPLETE_BODY"})
_CHUNK = 64 * 1024
_MAX_OFFSET_RESYNCS = 3
_ROTATION_CONTEXT = b"rekam key rotation v1\x00"
MAX_ANSWER_BYTES = 1 << 20  # the largest answer read (a full batch receipt is about 300 KB)
STATUS_BATCH = MAX_BATCH_ENTRIES  # records asked about in one batch status request


class Signer(Protocol):
    """A station key that signs (``uploader.keys.StationKeys`` or a TPM-held key)."""

    def sign(self, data: bytes) -> bytes: ...


def rotation_message(station_id: str, new_public_pem: bytes) -> bytes:
    """What a station's current key signs to hand over to ``new_public_pem``."""
    return _ROTATION_CONTEXT + station_id.encode("ascii") + b"\x00" + new_public_pem


class CentreUnreachable(Exception):
    """The centre could not be reached or did not answer in time (retry later)."""


class CentreError(Exception):
    """The centre answered a request with an unexpected error."""

    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None):
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.status in RETRYABLE_STATUSES or self.code in RETRYABLE_CODES


@dataclass(frozen=True)
class UploadResult:
    """What the centre said about one upload."""

    status: int
    code: str
    message: str
    retry_after: float | None = None
    offset: int | None = None  # what the centre holds of a resumable upload (412, partial)
    receipt: Receipt | None = None  # the centre's signed word on a decided answer
    unsigned: bool = False  # a decision-shaped answer without a valid receipt (a network fault)

    @property
    def accepted(self) -> bool:
        """201 (new) or 200 (the centre already holds these exact bytes)."""
        return self.status in (200, 201, 202)

    @property
    def retryable(self) -> bool:
        return self.status in RETRYABLE_STATUSES or self.code in RETRYABLE_CODES

    @property
    def permanent(self) -> bool:
        """A rejection that no retry will fix: the record goes to the dead-letter list."""
        return not self.accepted and not self.retryable and not self.unsigned

    def as_delivery(self) -> DeliveryResult:
        """This answer in the delivery worker's terms: 200 is a copy the centre already holds;
        429 and 503 ask the whole link to rest; an answer without a valid receipt is a network
        fault, whatever it claims."""
        if self.unsigned:
            return DeliveryResult.transport_failed(f"HTTP {self.status}: {self.message}")
        if self.accepted:
            summary = f"HTTP {self.status} {self.code}".strip()
            if self.status == 200:
                return DeliveryResult.already_held(summary)
            return DeliveryResult.delivered(summary)
        detail = f"HTTP {self.status} {self.code}: {self.message}".strip()
        reason = self.code or f"HTTP_{self.status}"
        if self.retryable:
            return DeliveryResult.retry_later(
                reason,
                detail,
                retry_after=self.retry_after,
                receiver_busy=self.status in (429, 503),
            )
        return DeliveryResult.rejected(reason, detail)


def _decided(
    result: UploadResult,
    payload: bytes,
    trust: CentreTrust,
    record_id: str,
    sha256: str,
    nonce: str,
) -> UploadResult:
    """``result`` as the centre's signed receipt states it; unsigned when it cannot be trusted.
    Answers that only ask for another try (5xx, 429, 308, 412 ...) decide nothing and need none.
    """
    if result.retryable:
        return result
    try:
        receipt = verify_receipt(_json(payload), trust.receipt_key, record_id, sha256, nonce)
    except ReceiptInvalid as exc:
        return UploadResult(result.status, "UNSIGNED_ANSWER", str(exc), unsigned=True)
    return UploadResult(
        receipt.http_status,
        receipt.code,
        receipt.detail,
        result.retry_after,
        result.offset,
        receipt=receipt,
    )


def _json(payload: bytes) -> object:
    try:
        return json.loads(payload or b"{}")
    except (ValueError, RecursionError):
        return None


@dataclass(frozen=True)
class CentreSinkSettings:
    """``[sinks.centre]`` takes no keys: the centre sink uses ``[centre] url`` and the
    ``[uploader]`` caps and timeouts."""


# Every status question names the optional receipt fields this kit reads.
READS_FIELDS = {FIELDS_HEADER: ",".join(OPTIONAL_FIELDS)}


@dataclass(frozen=True)
class CentreStatus:
    """The centre's view of one record (``sha256``: the package it is about)."""

    record_id: str
    status: str
    detail: str
    updated_at: str
    sha256: str = ""
    # With DUPLICATE_RECORD: the earlier record the centre matched, and that record's NIK.
    duplicate_of: str = ""
    duplicate_of_nik: str = ""


@dataclass(frozen=True)
class StatusBatch:
    """The centre's verified answer about many records.

    ``statuses`` maps each record asked about to its status, or to None when the centre does
    not know it; a record the answer says nothing valid about (another package) is absent.
    ``cursor`` is where the change feed stood before the answer ("" : the centre keeps none).
    """

    statuses: dict[str, CentreStatus | None]
    cursor: str


@dataclass(frozen=True)
class StatusFeed:
    """Verified changes from the centre's feed (oldest first) and the cursor after them."""

    changes: list[CentreStatus]
    cursor: str


def _as_status(entry: Receipt) -> CentreStatus:
    return CentreStatus(
        entry.record_id,
        entry.status,
        entry.detail,
        entry.issued_at,
        entry.sha256,
        entry.duplicate_of,
        entry.duplicate_of_nik,
    )


def _content_type(headers: dict[str, str]) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


def _validated(what: str, status: int, headers: dict[str, str], payload: bytes) -> dict:
    """The JSON object a centre answer carries. Raises :class:`CentreUnreachable` for a
    redirect, a body that is not ``application/json`` or not a JSON object: a captive portal or
    a proxy wrote it, and it decides nothing."""
    if 300 <= status < 400 and status != 308:
        where = headers.get("location", "nowhere")[:200]
        raise CentreUnreachable(f"{what}: HTTP {status} redirect to {where}, not the centre")
    if _content_type(headers) != "application/json":
        kind = _content_type(headers) or "no content type"
        raise CentreUnreachable(f"{what}: HTTP {status} answered {kind}, not the centre's JSON")
    body = _json(payload)
    if not isinstance(body, dict):
        raise CentreUnreachable(f"{what}: HTTP {status} body is not a JSON object")
    return body


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class _Deadline:
    """Breaks a connection when its deadline passes, wherever the request is blocked
    (connecting, in the TLS handshake, sending, or reading a trickling answer)."""

    def __init__(self, conn: http.client.HTTPConnection) -> None:
        self._conn = conn
        self._timer: threading.Timer | None = None
        self.expired = False

    def arm(self, seconds: float) -> None:
        """The deadline is now ``seconds`` from now (replacing the previous one)."""
        self.cancel()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _expire(self) -> None:
        self.expired = True
        if self._conn.sock is not None:
            with contextlib.suppress(OSError):
                self._conn.sock.shutdown(socket.SHUT_RDWR)


class CentreClient:
    """A client for one centre. Thread-safe: every request uses its own connection.

    ``trust`` pins the centre's TLS key and receipt key (see :class:`CentreTrust`);
    ``max_bytes_per_second`` caps upload bandwidth across all concurrent uploads; ``timeout``
    bounds every request and every answer, ``transfer_timeout`` sending one upload's body (so a
    stuck record or a trickling peer gives its slot back); ``cancel`` aborts requests in flight.

    It is also the ``centre`` sink (``rekam.sinks``): :meth:`deliver` uploads over the resumable
    path and answers in the delivery worker's terms.
    """

    name = "centre"
    settings_type = CentreSinkSettings

    @classmethod
    def from_settings(cls, settings: CentreSinkSettings, context: SinkContext) -> CentreClient:
        """The station's own centre client: one cancel and one set of counters for status
        polls and deliveries."""
        return context.centre

    def __init__(
        self,
        base_url: str,
        *,
        trust: CentreTrust,
        timeout: float = 10.0,
        transfer_timeout: float = 600.0,
        max_bytes_per_second: float | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"centre URL must be http(s)://host[:port], got {base_url!r}")
        trust.check_url(parts.scheme)
        self.trust = trust
        self._ssl_context = trust.ssl_context() if parts.scheme == "https" else None
        self.base_url = base_url.rstrip("/")
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.transfer_timeout = transfer_timeout
        self.max_bytes_per_second = max_bytes_per_second
        self._limiter = RateLimiter(max_bytes_per_second)
        self._cancel = cancel or threading.Event()
        self._interrupted: set[tuple[str, str]] = set()
        self._open: set[http.client.HTTPConnection] = set()
        self._state_lock = threading.Lock()
        self.wire_bytes = 0  # body bytes written to the network, every attempt included
        self.resumed_bytes = 0  # bytes an upload did not send again thanks to resumption

    def _connection(self) -> http.client.HTTPConnection:
        if self._ssl_context is not None:
            assert self.trust.tls_pin is not None
            return PinnedHTTPSConnection(
                self._host,
                self._port,
                pin=self.trust.tls_pin,
                timeout=self.timeout,
                context=self._ssl_context,
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)

    def _request(
        self,
        method: str,
        path: str,
        body: bytes | memoryview = b"",
        headers: dict[str, str] | None = None,
        *,
        send_within: float | None = None,
        answer_within: float | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request on its own connection, or CentreUnreachable. Deadlines: connecting and
        sending take at most ``send_within`` seconds, and the whole answer must arrive within
        ``answer_within`` seconds after that (both default to ``timeout``)."""
        conn = self._connection()
        deadline = _Deadline(conn)
        with self._state_lock:
            self._open.add(conn)
        deadline.arm(self.timeout if send_within is None else send_within)
        try:
            conn.connect()
            if self._cancel.is_set():  # checked once connected: abort_in_flight() reaches it
                raise CentreUnreachable("cancelled")
            conn.putrequest(method, self._prefix + path, skip_accept_encoding=True)
            all_headers = {"Content-Length": str(len(body)), "Accept": "application/json"}
            all_headers.update(headers or {})
            for name, value in all_headers.items():
                conn.putheader(name, value)
            conn.endheaders()
            self._send_body(conn, body)
            deadline.arm(self.timeout if answer_within is None else answer_within)
            response = conn.getresponse()
            payload = response.read(MAX_ANSWER_BYTES + 1)
            if deadline.expired:
                raise CentreUnreachable(f"{method} {path}: answer over its deadline")
            if len(payload) > MAX_ANSWER_BYTES:
                raise CentreUnreachable(f"{method} {path}: answer over {MAX_ANSWER_BYTES} bytes")
            if response.length:  # fewer bytes than its Content-Length: the link was cut
                raise CentreUnreachable(f"{method} {path}: answer cut short")
            return response.status, {k.lower(): v for k, v in response.getheaders()}, payload
        except (OSError, http.client.HTTPException) as exc:
            if deadline.expired:
                raise CentreUnreachable(f"{method} {path}: over its deadline") from exc
            raise CentreUnreachable(f"{method} {path}: {exc or type(exc).__name__}") from exc
        finally:
            deadline.cancel()
            with self._state_lock:
                self._open.discard(conn)
            conn.close()

    def abort_in_flight(self) -> None:
        """Break every open connection (after setting ``cancel``): stuck requests end now."""
        with self._state_lock:
            connections = list(self._open)
        for conn in connections:
            if conn.sock is not None:
                with contextlib.suppress(OSError):
                    conn.sock.shutdown(socket.SHUT_RDWR)

    def _send_body(self, conn: http.client.HTTPConnection, body: bytes | memoryview) -> None:
        if not body:
            return
        view = memoryview(body)
        sent = 0
        while sent < len(view):
            chunk = view[sent : sent + _CHUNK]
            if not self._limiter.take(len(chunk), self._cancel):
                raise CentreUnreachable("upload cancelled")
            conn.send(chunk)
            sent += len(chunk)
            with self._state_lock:
                self.wire_bytes += len(chunk)

    @staticmethod
    def _error_fields(body: dict) -> tuple[str, str]:
        return str(body.get("code", "")), str(body.get("message", ""))

    def deliver(self, record_id: str, data: bytes, sha256: str) -> DeliveryResult:
        """:meth:`upload`, with the centre's answer (or the network failure) as a
        :class:`DeliveryResult`."""
        try:
            return self.upload(record_id, data, sha256).as_delivery()
        except CentreUnreachable as exc:
            return DeliveryResult.transport_failed(str(exc))

    def upload(self, record_id: str, data: bytes, sha256: str) -> UploadResult:
        """Deliver one package over the resumable path. Raises CentreUnreachable for network
        failures; the bytes that reached the centre are not sent again on the next call."""
        key = (record_id, sha256)
        with self._state_lock:
            interrupted = key in self._interrupted
        offset = 0
        if interrupted:
            held = self.upload_offset(record_id, sha256)
            offset = len(data) if held is None else min(held, len(data))
        result = self._patch(record_id, data, sha256, offset)
        for _ in range(_MAX_OFFSET_RESYNCS):
            resumable = result.status in (308, 412) and result.offset is not None
            if not resumable or result.offset > len(data):
                break
            result = self._patch(record_id, data, sha256, result.offset)
        return result

    def _patch(self, record_id: str, data: bytes, sha256: str, offset: int) -> UploadResult:
        key = (record_id, sha256)
        with self._state_lock:
            self._interrupted.add(key)
            self.resumed_bytes += offset
        nonce = new_nonce()
        answer = self._request(
            "PATCH",
            f"/v1/uploads/{quote(record_id, safe='')}",
            memoryview(data)[offset:],
            {
                "Content-Type": "application/offset+octet-stream",
                "X-Content-SHA256": sha256,
                "Upload-Offset": str(offset),
                "Upload-Length": str(len(data)),
                NONCE_HEADER: nonce,
            },
            send_within=self.transfer_timeout,
        )
        with self._state_lock:
            self._interrupted.discard(key)
        code, message = self._error_fields(_validated(f"upload of {record_id}", *answer))
        status, headers, _payload = answer
        held = headers.get("upload-offset", "")
        result = UploadResult(
            status,
            code,
            message,
            parse_retry_after(headers.get("retry-after")),
            int(held) if held.isdigit() else None,
        )
        return _decided(result, answer[2], self.trust, record_id, sha256, nonce)

    def upload_offset(self, record_id: str, sha256: str) -> int | None:
        """Bytes of this upload the centre already holds; None when it holds the whole record."""
        status, headers, _payload = self._request(
            "HEAD", f"/v1/uploads/{quote(record_id, safe='')}", b"", {"X-Content-SHA256": sha256}
        )
        if 300 <= status < 400:
            raise CentreUnreachable(f"offset of {record_id}: HTTP {status}, not the centre")
        if status != 200:
            return 0
        if headers.get("x-record-complete") == "1":
            return None
        held = headers.get("upload-offset", "0")
        return int(held) if held.isdigit() else 0

    def put(self, record_id: str, data: bytes, sha256: str) -> UploadResult:
        """Deliver one package in a single whole-body PUT (no resumption)."""
        nonce = new_nonce()
        answer = self._request(
            "PUT",
            f"/v1/records/{quote(record_id, safe='')}",
            data,
            {
                "Content-Type": "application/octet-stream",
                "X-Content-SHA256": sha256,
                NONCE_HEADER: nonce,
            },
            send_within=self.transfer_timeout,
        )
        code, message = self._error_fields(_validated(f"upload of {record_id}", *answer))
        status, headers, payload = answer
        result = UploadResult(status, code, message, parse_retry_after(headers.get("retry-after")))
        return _decided(result, payload, self.trust, record_id, sha256, nonce)

    def status(self, record_id: str, sha256: str) -> CentreStatus | None:
        """The centre's status of the package ``sha256`` of a record, or None if the centre
        does not know the record. Raises CentreUnreachable for an answer without a valid
        receipt (a fake centre, a captive portal): it decides nothing."""
        nonce = new_nonce()
        status, headers, payload = self._request(
            "GET",
            f"/v1/records/{quote(record_id, safe='')}",
            headers={"X-Content-SHA256": sha256, NONCE_HEADER: nonce, **READS_FIELDS},
        )
        body = self._answer(f"status of {record_id}", (status, headers, payload), (200, 404))
        try:
            receipt = verify_receipt(body, self.trust.receipt_key, record_id, sha256, nonce)
        except ReceiptInvalid as exc:
            raise CentreUnreachable(f"status of {record_id}: {exc}") from exc
        if receipt.http_status == 404:
            return None
        return _as_status(receipt)

    def status_batch(self, asked: Sequence[tuple[str, str]]) -> StatusBatch:
        """The centre's status of many (record id, package hash) pairs (at most
        :data:`STATUS_BATCH`) in one request, under one batch receipt; raises like
        :meth:`status`."""
        nonce = new_nonce()
        wanted = dict(asked)
        request = {"records": [{"record_id": r, "sha256": h} for r, h in wanted.items()]}
        answer = self._request(
            "POST",
            "/v1/status",
            json.dumps(request, separators=(",", ":")).encode(),
            {"Content-Type": "application/json", NONCE_HEADER: nonce, **READS_FIELDS},
        )
        batch = self._batch(f"status of {len(wanted)} records", answer, nonce)
        statuses: dict[str, CentreStatus | None] = {}
        for entry in batch.entries:
            if wanted.get(entry.record_id) != entry.sha256:
                continue  # about another package, or a record not asked about
            statuses[entry.record_id] = None if entry.http_status == 404 else _as_status(entry)
        return StatusBatch(statuses, batch.cursor)

    def status_feed(self, station_id: str, cursor: str, wait: float) -> StatusFeed:
        """The station's status changes after ``cursor``; the centre holds the request up to
        ``wait`` seconds until one happens (a long-poll). Raises like :meth:`status`; a
        CentreError 404 means the centre keeps no feed."""
        nonce = new_nonce()
        answer = self._request(
            "GET",
            f"/v1/stations/{quote(station_id, safe='')}/changes?"
            + urlencode({"since": cursor, "wait": f"{wait:g}"}),
            headers={NONCE_HEADER: nonce, **READS_FIELDS},
            answer_within=wait + self.timeout,
        )
        batch = self._batch("status feed", answer, nonce)
        changes = [_as_status(entry) for entry in batch.entries if entry.http_status == 200]
        return StatusFeed(changes, batch.cursor)

    def _batch(
        self, what: str, answer: tuple[int, dict[str, str], bytes], nonce: str
    ) -> BatchReceipt:
        """The verified batch receipt of a 200 answer."""
        body = self._answer(what, answer, (200,))
        try:
            return verify_batch(body, self.trust.receipt_key, nonce)
        except ReceiptInvalid as exc:
            raise CentreUnreachable(f"{what}: {exc}") from exc

    @staticmethod
    def _answer(
        what: str, answer: tuple[int, dict[str, str], bytes], expected: tuple[int, ...]
    ) -> dict:
        """The validated JSON body of an answer with an ``expected`` status; CentreError (with
        its Retry-After) for another status the centre itself gave."""
        status, headers, payload = answer
        body = _validated(what, status, headers, payload)
        if status not in expected:
            code, message = CentreClient._error_fields(body)
            raise CentreError(status, code, message, parse_retry_after(headers.get("retry-after")))
        return body

    def held(self, record_id: str, sha256: str) -> bool:
        """Whether the centre holds these exact bytes of the record, by its signed status
        answer; False when it does not, or cannot say (the caller then uploads)."""
        try:
            return self.status(record_id, sha256) is not None
        except (CentreUnreachable, CentreError):
            return False

    def enroll(self, station_id: str, code: str, public_key_pem: bytes) -> dict:
        """Register this station's public key with a one-time enrollment code a centre
        administrator issued for ``station_id``."""
        body = {"code": code, "public_key": public_key_pem.decode("ascii")}
        return self._post_station(station_id, "enrollment", body)

    def rotate_key(self, station_id: str, current_key: Signer, new_public_pem: bytes) -> dict:
        """Hand the station over to ``new_public_pem``: ``current_key`` proves the station."""
        proof = current_key.sign(rotation_message(station_id, new_public_pem))
        body = {
            "public_key": new_public_pem.decode("ascii"),
            "proof": base64.b64encode(proof).decode(),
        }
        return self._post_station(station_id, "rotation", body)

    def _post_station(self, station_id: str, action: str, body: dict) -> dict:
        answer = self._request(
            "POST",
            f"/v1/stations/{quote(station_id, safe='')}/{action}",
            json.dumps(body).encode(),
            {"Content-Type": "application/json"},
        )
        return self._answer(f"station {action}", answer, (200, 201))

    def health(self) -> dict:
        """The centre's health document."""
        return self._answer("health", self._request("GET", "/v1/health"), (200,))

    def reachable(self) -> bool:
        """Whether the centre answers its health check now (a probe of the link)."""
        try:
            self.health()
        except (CentreUnreachable, CentreError):
            return False
        return True
