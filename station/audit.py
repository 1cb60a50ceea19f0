"""The audit trail: an append-only, hash-chained log of who signed in, captured, overrode,
exported or deleted what.

Each entry's hash covers its sequence number, time, actor, action, target, details and the
previous entry's hash, so ``verify`` finds an entry that was edited, removed or moved. SQLite
triggers refuse UPDATE and DELETE; appends from several processes (the daemon and
``rekam operator``) are serialised by an IMMEDIATE transaction. Entries never hold biometrics,
tokens or a resident's identity numbers: only names, ids, positions, outcomes and scores.

A chain alone proves nothing to someone who can rewrite the whole file: whoever holds a copy can
recompute every hash. So the head is anchored twice, with what the file's holder cannot forge:
the daemon signs the head with the station key (periodically, at every seal and when it stops:
``AuditAnchor``; kept in ``signed_heads``), and every sealed manifest carries the head of its
moment (``audit_head``), signed inside the package and held by the centre. ``verify`` with the
station's public key checks each signed head against the chain; ``verify_export`` is what the
centre runs on an exported log with the heads of the manifests it received.

When the disk refuses a write (full, failing, read-only), an entry is never dropped silently: it
is held in memory, in order and with the time it happened, and written ahead of the next entry
once the disk takes writes again (at the next entry, and at each periodic head signature); the
``on_storage`` listener raises the storage alarm meanwhile. The actions themselves go on: an
audit row is written after its call has ended, so refusing the action is no longer possible,
and refusing every later one would stop an office for a log it can still write minutes later.
Only past ``MAX_HELD`` held entries are the oldest given up, and then an ``audit_entries_lost``
entry with their count is written first when the disk returns.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import grpc
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from domain.vocabulary import position
from station import convert
from station.approvals import ApprovalBook
from station.auth import AuthListener, Operator, Refusal, TokenCheck, TokenStore
from station.observing import FinishedCall
from station.v1 import enrollment_pb2

log = logging.getLogger(__name__)

GENESIS = "0" * 64
# What a head signature covers: this label, the sequence number and the head hash.
HEAD_SIGNATURE_LABEL = b"rekam audit head v1\n"
EXPORT_FORMAT = "rekam-audit-export/1"
MAX_TEXT = 200
# Entries held in memory while the disk refuses writes (a few hundred bytes each).
MAX_HELD = 50_000
# What a refused write raises: SQLite's errors (disk I/O, full, read-only) and the OS's.
STORAGE_ERRORS = (sqlite3.OperationalError, OSError)
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
CREATE TABLE IF NOT EXISTS signed_heads (
    seq INTEGER PRIMARY KEY,
    hash TEXT NOT NULL,
    signed_at TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS signed_heads_no_update BEFORE UPDATE ON signed_heads
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS signed_heads_no_delete BEFORE DELETE ON signed_heads
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


class HeadSigner(Protocol):
    """The station key as the audit log uses it (file-held or TPM-held alike)."""

    def sign(self, data: bytes) -> bytes: ...

    @property
    def public_key(self) -> Ed25519PublicKey: ...


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


@dataclass(frozen=True)
class _HeldEntry:
    """An entry waiting for the disk: everything but its place in the chain."""

    at: str
    actor: str
    action: str
    target: str
    details: str


@dataclass(frozen=True)
class SignedHead:
    """The station's signature over the chain's head at entry ``seq``."""

    seq: int
    hash: str
    signed_at: str
    signature: str  # hex

    def verify(self, public_key: Ed25519PublicKey) -> bool:
        try:
            public_key.verify(bytes.fromhex(self.signature), head_message(self.seq, self.hash))
        except (InvalidSignature, ValueError):
            return False
        return True


def _same(entry: AuditEntry, held: _HeldEntry) -> bool:
    return (entry.at, entry.actor, entry.action, entry.target, entry.details) == (
        held.at,
        held.actor,
        held.action,
        held.target,
        held.details,
    )


def head_message(seq: int, head: str) -> bytes:
    """The bytes a head signature covers."""
    return HEAD_SIGNATURE_LABEL + f"{seq}\n{head}".encode("ascii", "replace")


@dataclass
class AuditVerification:
    """What ``verify`` found: entry count, the head hash, how far valid station signatures
    vouch for the chain (``signed_through``; None when no key was given), and every break."""

    count: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)
    signed_through: int | None = None

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
        on_storage: Callable[[Exception | None], None] | None = None,
    ) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._clock = clock
        self.on_storage = on_storage
        self._held: deque[_HeldEntry] = deque()
        self._lost = 0  # entries given up past MAX_HELD, reported when the disk returns
        self._failing = False
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
    ) -> AuditEntry | None:
        """Add one entry at the end of the chain and return it; None when the disk refuses
        and the entry is held to be written later (see the module's notes)."""
        details_json = _clean_details(details or {})
        held = _HeldEntry(
            self._clock().isoformat(timespec="microseconds"),
            _text(actor),
            _text(action),
            _text(target),
            details_json,
        )
        with self._lock:
            self._hold(held)
            written = self._write_held()
        return written[-1] if written and _same(written[-1], held) else None

    def write_held(self) -> int:
        """Try again to write the entries held while the disk refused; returns how many wait."""
        with self._lock:
            self._write_held()
            return len(self._held)

    @property
    def held(self) -> int:
        """Entries waiting in memory for the disk."""
        with self._lock:
            return len(self._held)

    def _hold(self, entry: _HeldEntry) -> None:
        self._held.append(entry)
        if len(self._held) > MAX_HELD:
            self._held.popleft()
            self._lost += 1

    def _write_held(self) -> list[AuditEntry]:
        """Write held entries in order until the disk refuses (caller holds the lock)."""
        written: list[AuditEntry] = []
        if self._lost:
            lost = _HeldEntry(
                self._clock().isoformat(timespec="microseconds"),
                "station",
                "audit_entries_lost",
                "",
                _clean_details({"count": self._lost, "reason": "disk refused writes"}),
            )
            if self._insert(lost) is None:
                return written
            self._lost = 0
        while self._held:
            entry = self._insert(self._held[0])
            if entry is None:
                return written
            self._held.popleft()
            written.append(entry)
        if self._failing:
            self._storage(None)
        return written

    def _insert(self, held: _HeldEntry) -> AuditEntry | None:
        """One entry at the end of the chain; None (alarm raised) when the disk refuses."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
                fields = (held.at, held.actor, held.action, held.target, held.details)
                digest = entry_hash(seq, *fields, prev)
                self._db.execute(
                    "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (seq, *fields, prev, digest),
                )
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        except STORAGE_ERRORS as exc:
            self._storage(exc)
            return None
        return AuditEntry(seq, *fields, prev, digest)

    def _storage(self, failure: Exception | None) -> None:
        if failure is not None and not self._failing:
            log.error("the audit log cannot be written (%s); entries are held", failure)
        elif failure is None:
            log.warning("the audit log is written again; held entries are in")
        self._failing = failure is not None
        if self.on_storage is not None:
            self.on_storage(failure)

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

    def head(self) -> tuple[int, str]:
        """The last entry's sequence number and hash ((0, GENESIS) for an empty log)."""
        with self._lock:
            row = self._db.execute(
                "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def sign_head(self, signer: HeadSigner) -> SignedHead | None:
        """Sign the current head with the station key (once per head); None for an empty log."""
        seq, head = self.head()
        if seq == 0:
            return None
        signed = SignedHead(
            seq,
            head,
            self._clock().isoformat(timespec="microseconds"),
            signer.sign(head_message(seq, head)).hex(),
        )
        with self._lock:
            try:
                self._db.execute(
                    "INSERT OR IGNORE INTO signed_heads VALUES (?, ?, ?, ?)",
                    tuple(asdict(signed).values()),
                )
            except STORAGE_ERRORS as exc:  # the head still goes into the manifest, signed
                self._storage(exc)
        return signed

    def signed_heads(self) -> list[SignedHead]:
        query = "SELECT seq, hash, signed_at, signature FROM signed_heads ORDER BY seq"
        with self._lock:
            try:
                rows = self._db.execute(query).fetchall()
            except sqlite3.OperationalError:  # a read-only log from before signed heads
                rows = []
        return [SignedHead(*row) for row in rows]

    def verify(
        self, anchor: str = "", public_key: Ed25519PublicKey | None = None
    ) -> AuditVerification:
        """Walk the chain in storage order. ``anchor``: a head hash noted earlier, which must
        still be in the chain (finds entries removed from the end, or a rewritten chain).
        ``public_key``: the station's; then every signed head must be the station's signature
        over the chain as it is (finds a chain rewritten and re-hashed)."""
        anchors = [anchor] if anchor else []
        return verify_chain(self.entries(), anchors, self.signed_heads(), public_key)

    def export(self) -> dict[str, Any]:
        """The whole log as one JSON-ready document, for the centre's ``verify_export``."""
        return {
            "format": EXPORT_FORMAT,
            "entries": [asdict(e) for e in self.entries()],
            "signed_heads": [asdict(h) for h in self.signed_heads()],
        }

    def close(self) -> None:
        with self._lock:
            self._write_held()
            if self._held:
                log.error(
                    "%d audit entries could not be written before closing: the disk refused",
                    len(self._held),
                )
            self._db.close()


def verify_chain(
    entries: Iterable[AuditEntry],
    anchors: Iterable[str] = (),
    signed_heads: Iterable[SignedHead] = (),
    public_key: Ed25519PublicKey | None = None,
) -> AuditVerification:
    """Check a chain: every link, every ``anchors`` hash present, and (with the station's
    ``public_key``) every signed head valid and matching the chain at its entry."""
    result = AuditVerification()
    previous = GENESIS
    hashes: dict[int, str] = {}
    for expected_seq, entry in enumerate(entries, start=1):
        result.count += 1
        result.problems.extend(_link_problems(entry, expected_seq, previous))
        hashes[entry.seq] = entry.hash
        previous = entry.hash
    result.head = previous
    present = set(hashes.values())
    for anchor in anchors:
        if anchor not in present:
            result.problems.append(
                f"the noted head hash {anchor[:16]}... is no longer in the log "
                "(entries were removed from its end, or it was rewritten)"
            )
    if public_key is not None:
        result.signed_through = _check_signed_heads(result, hashes, signed_heads, public_key)
    return result


def _link_problems(entry: AuditEntry, expected_seq: int, previous: str) -> list[str]:
    problems: list[str] = []
    if entry.seq != expected_seq:
        problems.append(
            f"entry {expected_seq}: found sequence number {entry.seq} "
            "(an entry was removed or moved)"
        )
    if entry.prev != previous:
        problems.append(
            f"entry {entry.seq}: does not follow the entry before it "
            "(an entry was removed, inserted or moved)"
        )
    recomputed = entry_hash(
        entry.seq, entry.at, entry.actor, entry.action, entry.target, entry.details, entry.prev
    )
    if recomputed != entry.hash:
        problems.append(f"entry {entry.seq}: its content was changed")
    return problems


def _check_signed_heads(
    result: AuditVerification,
    hashes: dict[int, str],
    signed_heads: Iterable[SignedHead],
    public_key: Ed25519PublicKey,
) -> int:
    """Add a problem for each head the station did not sign or the chain no longer has;
    return the last entry valid signatures vouch for."""
    through = 0
    for signed in signed_heads:
        if not signed.verify(public_key):
            result.problems.append(
                f"signed head at entry {signed.seq}: not the station's signature (forged)"
            )
        elif hashes.get(signed.seq) != signed.hash:
            result.problems.append(
                f"signed head at entry {signed.seq}: the chain there is not what the station "
                "signed (the log was rewritten or cut)"
            )
        else:
            through = max(through, signed.seq)
    if result.count and not through:
        result.problems.append(
            "no head signed by the station vouches for this log (signed heads were removed, "
            "or the log was not written by this station)"
        )
    return through


def verify_export(
    document: dict[str, Any], public_key: Ed25519PublicKey, manifest_heads: Iterable[str]
) -> AuditVerification:
    """The centre's check of a station's exported log (``AuditLog.export``): an intact chain,
    every signed head the station's, and every ``audit_head`` of the manifests the centre
    received from that station present in the chain. A station that rewrote or cut its log
    after sealing a record fails here, since it cannot change what the centre already holds."""
    if document.get("format") != EXPORT_FORMAT:
        return AuditVerification(problems=[f"not a {EXPORT_FORMAT} document"])
    try:
        entries = [AuditEntry(**entry) for entry in document["entries"]]
        heads = [SignedHead(**head) for head in document["signed_heads"]]
    except (KeyError, TypeError) as exc:
        return AuditVerification(problems=[f"malformed export: {exc}"])
    return verify_chain(entries, [h for h in manifest_heads if h], heads, public_key)


class AuditAnchor:
    """Signs the audit head with the station key every ``interval_s`` (when it moved), on
    demand (at every seal), and once more when stopped."""

    def __init__(self, log: AuditLog, signer: HeadSigner, interval_s: float) -> None:
        self.log = log
        self.signer = signer
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def sign_now(self) -> str:
        """Sign the head as it is now; return its hash (what a manifest carries)."""
        with self._lock:
            signed = self.log.sign_head(self.signer)
        return signed.hash if signed is not None else GENESIS

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="audit-anchor", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.log.write_held()
                self.sign_now()
            except Exception:  # a failed signature is retried at the next interval
                log.exception("signing the audit head failed")

    def stop(self) -> None:
        """End the periodic signing and sign the final head."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.sign_now()


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


@dataclass
class _RefusalWindow:
    started: float
    repeated: int = 0


# Failed logins are coalesced by peer address, the token's owner (when known) and the refusal.
RefusalKey = tuple[str, str, str]


class AuditTrail(AuthListener):
    """Turns authentications and finished calls into audit entries.

    Failed logins are coalesced per peer address (and the token's owner and refusal, when the
    token is a known one): the first of a window is written at once; the rest of that window
    become one ``login_refused_repeated`` row with their count, written once the window is over
    (at the next failed login or ``flush_refusals``, and when the daemon stops)."""

    def __init__(
        self,
        log: AuditLog,
        tokens: TokenStore,
        approvals: ApprovalBook | None = None,
        refusal_window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = log
        self.tokens = tokens
        self.approvals = approvals
        self.refusal_window_s = refusal_window_s
        self._clock = clock
        self._signed_in: set[int] = set()
        self._refusals: dict[RefusalKey, _RefusalWindow] = {}
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

    def refused(self, method: str, check: TokenCheck, reason: str, peer: str = "") -> None:
        who = check.operator.name if check.operator else check.name
        if check.operator is not None:
            self.log.append(who, "access_denied", method, {"reason": reason, "peer": peer})
            return
        refusal = check.refusal.value if check.refusal is not None else ""
        if not self._first_in_window((peer, who, refusal)):
            return
        details: dict[str, object] = {"reason": reason, "peer": peer}
        if refusal and check.refusal is not Refusal.MISSING:
            details["refusal"] = refusal
        self.log.append(who, "login_refused", method, details)

    def _first_in_window(self, key: RefusalKey) -> bool:
        """Count a failed login; True when it opens a new window for its key."""
        now = self._clock()
        self.flush_refusals(now)
        with self._lock:
            window = self._refusals.get(key)
            if window is None:
                self._refusals[key] = _RefusalWindow(now)
                return True
            window.repeated += 1
            return False

    def flush_refusals(self, now: float | None = None) -> None:
        """Write the count of each ended window's further failed logins (all, without
        ``now``)."""
        with self._lock:
            ended = {
                key: window
                for key, window in self._refusals.items()
                if now is None or now - window.started >= self.refusal_window_s
            }
            for key in ended:
                del self._refusals[key]
        for (peer, who, refusal), window in ended.items():
            if window.repeated:
                self.log.append(
                    who,
                    "login_refused_repeated",
                    peer,
                    {
                        "count": window.repeated,
                        "refusal": refusal,
                        "window_s": self.refusal_window_s,
                    },
                )

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
        """Who approved an override: the supervisor whose approval the request used."""
        approval_id = getattr(call.request, "approval_id", "")
        if not approval_id or self.approvals is None:
            return ""
        return self.approvals.approver(approval_id)


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
    if request.purpose == enrollment_pb2.CAPTURE_PURPOSE_PROOF_PHOTO:
        return "proof_photo_captured", request.enrollment_id, details
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
            "proof_from_capture": request.proof_from_capture,
        },
    )


def _override(trail: AuditTrail, call: FinishedCall) -> Description:
    request = call.request
    details: dict[str, object] = {
        "position": _position(request.position),
        "action": _enum_name(enrollment_pb2.OverrideAction, request.action),
    }
    if request.action == enrollment_pb2.OVERRIDE_ACTION_MARK_EXCEPTION:
        details["kind"] = _enum_name(enrollment_pb2.ExceptionKind, request.exception_kind)
    return "override_approved", request.enrollment_id, details


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


def _receipt_imported(trail: AuditTrail, call: FinishedCall) -> Description:
    response = call.response
    return (
        "bundle_receipt_imported",
        call.request.bundle_path,
        {
            "bundle": response.bundle_name if response is not None else "",
            "settled": response.settled if response is not None else 0,
            "returned": response.returned if response is not None else 0,
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
    "/station.v1.Enrollment/ApproveOverride": _override,
    "/station.v1.Enrollment/CompleteEnrollment": _complete,
    "/station.v1.Enrollment/CancelEnrollment": _cancel,
    "/station.v1.Enrollment/GetEnrollment": _viewed,
    "/station.v1.Records/ExportBundle": _export,
    "/station.v1.Records/ImportReceipt": _receipt_imported,
    "/station.v1.Records/RetryDelivery": _retry,
    "/station.v1.Devices/RunDiagnostics": _diagnostics,
}
AUDITED_METHODS = frozenset(_DESCRIBERS)
