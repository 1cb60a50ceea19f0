"""The audit trail: an append-only, hash-chained log of who signed in, captured, overrode,
exported or deleted what.

Each entry's hash covers its sequence number, time, actor, action, target, details and the
previous entry's hash, so ``verify`` finds an entry that was edited, removed or moved. SQLite
triggers refuse UPDATE and DELETE; appends from several processes (the daemon and
``rekam operator``) are serialised by an IMMEDIATE transaction. Entries never hold biometrics,
tokens or a resident's identity numbers: only names, ids, positions, outcomes and scores.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc

from domain.vocabulary import position
from station import convert
from station.auth import AuthListener, Operator, Refusal, TokenCheck, TokenStore
from station.observing import FinishedCall
from station.v1 import enrollment_pb2

GENESIS = "0" * 64
MAX_TEXT = 200
# Detail keys that could only carry a secret or a biometric; append() refuses them.
FORBIDDEN_KEYS = ("token", "image", "photo", "jpeg", "trace", "template", "nik", "password")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    actor: str
    action: str
    target: str
    details: str  # canonical JSON
    prev: str
    hash: str

    @property
    def detail_map(self) -> dict[str, Any]:
        return json.loads(self.details)


@dataclass
class AuditVerification:
    """What ``verify`` found: entry count, the head hash, and every break in the chain."""

    count: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def entry_hash(
    seq: int, at: str, actor: str, action: str, target: str, details: str, prev: str
) -> str:
    """The SHA-256 chaining one entry to the previous one."""
    canonical = json.dumps(
        [seq, at, actor, action, target, details, prev], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _text(value: object) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in str(value))
    return text[:MAX_TEXT]


def _clean_details(details: dict[str, object]) -> str:
    clean: dict[str, object] = {}
    for key, value in details.items():
        if any(word in key.lower() for word in FORBIDDEN_KEYS):
            raise ValueError(f"audit detail {key!r} may not be recorded")
        if isinstance(value, bytes | bytearray | memoryview):
            raise ValueError(f"audit detail {key!r} is binary; only names and figures go here")
        if value is None or isinstance(value, bool | int | float):
            clean[key] = value
        else:
            clean[key] = _text(value)
    return json.dumps(clean, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class AuditLog:
    """The audit log in SQLite (WAL, synchronous=FULL)."""

    def __init__(
        self,
        path: Path,
        *,
        readonly: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._clock = clock
        if readonly:  # for checking: never creates, repairs or writes anything
            if not path.exists():
                raise FileNotFoundError(f"no audit log at {path}")
            uri = f"{path.resolve().as_uri()}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            self._db.execute("PRAGMA busy_timeout=10000")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def append(
        self, actor: str, action: str, target: str = "", details: dict[str, object] | None = None
    ) -> AuditEntry:
        """Add one entry at the end of the chain and return it."""
        details_json = _clean_details(details or {})
        actor, action, target = _text(actor), _text(action), _text(target)
        at = self._clock().isoformat(timespec="microseconds")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
                digest = entry_hash(seq, at, actor, action, target, details_json, prev)
                self._db.execute(
                    "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (seq, at, actor, action, target, details_json, prev, digest),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return AuditEntry(seq, at, actor, action, target, details_json, prev, digest)

    def entries(self, action: str | None = None) -> Iterator[AuditEntry]:
        """Entries in the order they are stored (optionally one action only)."""
        query = "SELECT seq, at, actor, action, target, details, prev, hash FROM entries"
        params: tuple[str, ...] = ()
        if action is not None:
            query += " WHERE action = ?"
            params = (action,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY rowid", params).fetchall()
        for row in rows:
            yield AuditEntry(*row)

    def verify(self, anchor: str = "") -> AuditVerification:
        """Walk the chain in storage order. ``anchor``: a head hash noted earlier, which must
        still be in the chain (finds entries removed from the end, or a rewritten chain)."""
        result = AuditVerification()
        previous = GENESIS
        anchor_seen = not anchor
        for expected_seq, entry in enumerate(self.entries(), start=1):
            result.count += 1
            if entry.seq != expected_seq:
                result.problems.append(
                    f"entry {expected_seq}: found sequence number {entry.seq} "
                    "(an entry was removed or moved)"
                )
            if entry.prev != previous:
                result.problems.append(
                    f"entry {entry.seq}: does not follow the entry before it "
                    "(an entry was removed, inserted or moved)"
                )
            recomputed = entry_hash(
                entry.seq,
                entry.at,
                entry.actor,
                entry.action,
                entry.target,
                entry.details,
                entry.prev,
            )
            if recomputed != entry.hash:
                result.problems.append(f"entry {entry.seq}: its content was changed")
            anchor_seen = anchor_seen or entry.hash == anchor
            previous = entry.hash
        result.head = previous
        if not anchor_seen:
            result.problems.append(
                "the noted head hash is no longer in the log "
                "(entries were removed from its end, or it was rewritten)"
            )
        return result

    def close(self) -> None:
        with self._lock:
            self._db.close()


def local_actor() -> str:
    """The actor for commands run on the kit itself: ``local:<user>``."""
    try:
        return f"local:{getpass.getuser()}"
    except Exception:  # no user name for this uid (containers)
        return "local:unknown"


def _position(value: int) -> str:
    return convert.POSITION_FROM_PB.get(value, f"invalid:{value}")


def _enum_name(enum: Any, value: int) -> str:
    try:
        return str(enum.Name(value))
    except ValueError:
        return f"invalid:{value}"


def capture_outcome(call: FinishedCall) -> str:
    """accepted, forced, below_threshold, same_finger, or the status code (e.g. cancelled)."""
    result = getattr(call.response, "result", None)
    if call.code is not grpc.StatusCode.OK or call.response is None:
        return call.code.name.lower()
    if not call.response.HasField("result"):
        return "no_result"
    if result.accepted:
        return "forced" if result.sample.forced else "accepted"
    return (result.reason or "rejected").lower()


def capture_modality(call: FinishedCall) -> str:
    try:
        return position(_position(call.request.position)).modality.value
    except ValueError:
        return "invalid"


class AuditTrail(AuthListener):
    """Turns authentications and finished calls into audit entries."""

    def __init__(self, log: AuditLog, tokens: TokenStore) -> None:
        self.log = log
        self.tokens = tokens
        self._signed_in: set[int] = set()
        self._lock = threading.Lock()

    # -- AuthListener ------------------------------------------------------------------------
    def authenticated(self, method: str, operator: Operator) -> None:
        """The first call with a token since the daemon started counts as its login."""
        with self._lock:
            first = operator.token_id not in self._signed_in
            self._signed_in.add(operator.token_id)
        if first:
            self.log.append(
                operator.name, "login", details={"role": operator.role.value, "via": method}
            )

    def refused(self, method: str, check: TokenCheck, reason: str) -> None:
        action = "login_refused" if check.operator is None else "access_denied"
        who = check.operator.name if check.operator else check.name
        details: dict[str, object] = {"reason": reason}
        if check.refusal is not None and check.refusal is not Refusal.MISSING:
            details["refusal"] = check.refusal.value
        self.log.append(who, action, method, details)

    # -- CallObserver ------------------------------------------------------------------------
    def call_finished(self, call: FinishedCall) -> None:
        describe = _DESCRIBERS.get(call.method)
        if describe is None:
            return
        action, target, details = describe(self, call)
        if action:
            details["status"] = call.code.name
            self.log.append(call.operator.name, action, target, details)

    def supervisor_name(self, call: FinishedCall) -> str:
        """Who approved an override: the supervisor whose token the request carried."""
        token = getattr(call.request, "supervisor_token", "")
        supervisor = self.tokens.verify(token) if token else call.operator
        return supervisor.name if supervisor is not None else ""


Description = tuple[str, str, dict[str, object]]


def _started(trail: AuditTrail, call: FinishedCall) -> Description:
    value = call.request.subject.category
    known = convert.CATEGORY_FROM_PB.get(value)
    category = known.value if known is not None else f"invalid:{value}"
    target = call.response.enrollment_id if call.response is not None else ""
    return "enrollment_started", target, {"category": category}


def _capture(trail: AuditTrail, call: FinishedCall) -> Description:
    request = call.request
    details: dict[str, object] = {
        "position": _position(request.position),
        "outcome": capture_outcome(call),
    }
    if call.response is not None and call.response.HasField("result"):
        sample = call.response.result.sample
        details["score"] = sample.quality.score
        details["attempts"] = sample.attempts
    if request.force:
        details["reason"] = request.force_reason
        details["approved_by"] = trail.supervisor_name(call)
        return "capture_forced", request.enrollment_id, details
    return "capture", request.enrollment_id, details


def _exception(trail: AuditTrail, call: FinishedCall) -> Description:
    request = call.request
    return (
        "exception_marked",
        request.enrollment_id,
        {
            "position": _position(request.position),
            "kind": _enum_name(enrollment_pb2.ExceptionKind, request.kind),
            "approved_by": trail.supervisor_name(call),
            "proof_supplied": bool(request.proof_photo),
        },
    )


def _approve(trail: AuditTrail, call: FinishedCall) -> Description:
    request = call.request
    action = "sample_approved" if request.approved else "sample_discarded"
    return action, request.enrollment_id, {"position": _position(request.position)}


def _complete(trail: AuditTrail, call: FinishedCall) -> Description:
    record_id = call.response.record_id if call.response is not None else ""
    return "record_sealed", call.request.enrollment_id, {"record_id": record_id}


def _cancel(trail: AuditTrail, call: FinishedCall) -> Description:
    return "enrollment_cancelled", call.request.enrollment_id, {"reason": call.request.reason}


def _viewed(trail: AuditTrail, call: FinishedCall) -> Description:
    if not call.request.include_thumbnails:
        return "", "", {}
    return "biometrics_viewed", call.request.enrollment_id, {}


def _export(trail: AuditTrail, call: FinishedCall) -> Description:
    response = call.response
    return (
        "records_exported",
        call.request.destination,
        {
            "requested": len(call.request.record_ids),
            "exported": response.record_count if response is not None else 0,
            "bundle": response.bundle_path if response is not None else "",
        },
    )


def _retry(trail: AuditTrail, call: FinishedCall) -> Description:
    return "delivery_retried", call.request.record_id, {}


def _diagnostics(trail: AuditTrail, call: FinishedCall) -> Description:
    devices = ",".join(call.request.device_ids) or "all"
    return "diagnostics_run", devices, {"test_capture": call.request.include_test_capture}


_DESCRIBERS = {
    "/station.v1.Enrollment/StartEnrollment": _started,
    "/station.v1.Enrollment/Capture": _capture,
    "/station.v1.Enrollment/MarkException": _exception,
    "/station.v1.Enrollment/ApproveSample": _approve,
    "/station.v1.Enrollment/CompleteEnrollment": _complete,
    "/station.v1.Enrollment/CancelEnrollment": _cancel,
    "/station.v1.Enrollment/GetEnrollment": _viewed,
    "/station.v1.Records/ExportBundle": _export,
    "/station.v1.Records/RetryDelivery": _retry,
    "/station.v1.Devices/RunDiagnostics": _diagnostics,
}
AUDITED_METHODS = frozenset(_DESCRIBERS)
