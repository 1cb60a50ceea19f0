"""The durable outbox: sealed packages on disk plus their delivery state in SQLite.

A record is on disk and committed before :meth:`Outbox.enqueue` returns: the package file is
written to a temporary name, fsynced, renamed and the directory fsynced; then the row is
committed (WAL, synchronous=FULL). Records are never dropped and never overwritten.
A disk-space guard (:meth:`Outbox.check_space`) refuses new records while the free space under
the outbox is below a floor, long before the disk is full.

Times are kept on the kit's timeline (``domain.clock``): a wall-clock reading handed in
(``now``, a next-attempt time) is moved onto it, and a time handed out is a wall-clock reading
as the clock is set now, so a step of the kit's clock neither holds a retry back nor purges a
package early. A retry keeps its delay (``retry_delay_s``) beside its due time; on
opening, a due time further ahead than its delay (the clock went back while the daemon was
stopped, or the kit rebooted) is re-armed to its delay from now, and a settled record whose
time is ahead of now or before the build date (stamped by a wrong clock) starts its retention
window again now: later, never early.

When the storage itself refuses a write (a full disk, an I/O error from fsync, a file system
remounted read-only), every write raises :class:`StorageFailure`: the transaction is rolled back
and nothing in the outbox changed, so the caller can hold its change and try again later.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from domain.clock import BUILD_DATE, SYSTEM_CLOCK, KitClock
from domain.files import fsync_dir, write_durably, writer_alive
from uploader.package import SealedPackage, valid_identifier

log = logging.getLogger(__name__)


class RecordState(StrEnum):
    """Where a record is on its way from the kit to a printed card."""

    SEALED = "SEALED"
    # On a flash disk to the centre; still delivered over the network (after asking the centre
    # whether it already holds the package) until the centre's receipt settles it.
    CARRIED = "CARRIED"
    SENT_FOR_ENROLLMENT = "SENT_FOR_ENROLLMENT"
    RECEIVED_AT_CENTRAL = "RECEIVED_AT_CENTRAL"
    PRINT_READY_RECORD = "PRINT_READY_RECORD"
    DUPLICATE_RECORD = "DUPLICATE_RECORD"
    ADJUDICATE_RECORD = "ADJUDICATE_RECORD"
    ENROLL_FAILURE_AT_CENTRAL = "ENROLL_FAILURE_AT_CENTRAL"
    SEARCH_FAILURE_AT_CENTRAL = "SEARCH_FAILURE_AT_CENTRAL"
    DEAD_LETTER = "DEAD_LETTER"


# States the delivery worker sends from: waiting, or carried on a flash disk.
DELIVERABLE_STATES = frozenset({RecordState.SEALED, RecordState.CARRIED})
_DELIVERABLE_VALUES = (RecordState.SEALED.value, RecordState.CARRIED.value)
# States the centre reports through its status API.
CENTRE_STATES = frozenset(
    {
        RecordState.RECEIVED_AT_CENTRAL,
        RecordState.PRINT_READY_RECORD,
        RecordState.DUPLICATE_RECORD,
        RecordState.ADJUDICATE_RECORD,
        RecordState.ENROLL_FAILURE_AT_CENTRAL,
        RecordState.SEARCH_FAILURE_AT_CENTRAL,
    }
)
# States whose outcome is still pending at the centre: the tracker polls them.
TRACKED_STATES = frozenset(
    {
        RecordState.SENT_FOR_ENROLLMENT,
        RecordState.RECEIVED_AT_CENTRAL,
        RecordState.ADJUDICATE_RECORD,
    }
)
# Outcomes after which the local biometric package may be purged (after a retention window).
PURGEABLE_STATES = frozenset(
    {
        RecordState.PRINT_READY_RECORD,
        RecordState.DUPLICATE_RECORD,
        RecordState.SEARCH_FAILURE_AT_CENTRAL,
    }
)


class OutboxError(Exception):
    """Base class for outbox errors."""


class RecordConflict(OutboxError):
    """A record with this id is already in the outbox with different content."""


class UnknownRecord(OutboxError, KeyError):
    """No record with this id."""


class PackageMissing(OutboxError):
    """The package file is gone (purged) or does not match its recorded hash."""


class StorageFailure(OutboxError):
    """The disk refused a write (full, I/O error, read-only); nothing was changed.

    ``full`` tells a full disk (ENOSPC, EDQUOT, SQLITE_FULL) from a failing one."""

    def __init__(self, action: str, cause: BaseException) -> None:
        super().__init__(f"{action}: {cause}")
        self.full = storage_is_full(cause)


def storage_is_full(cause: BaseException) -> bool:
    """Whether ``cause`` says the disk is full (rather than failing or read-only)."""
    if isinstance(cause, OSError):
        return cause.errno in (errno.ENOSPC, errno.EDQUOT)
    return getattr(cause, "sqlite_errorname", "") == "SQLITE_FULL"


# What a refused write raises: SQLite's errors (disk I/O, full, read-only) and the file
# system's. An IntegrityError is a bug, not the disk's doing.
STORAGE_ERRORS = (sqlite3.OperationalError, sqlite3.DatabaseError, OSError)


@contextmanager
def storage_guard(action: str) -> Iterator[None]:
    """Turn the disk refusing a write into :class:`StorageFailure`."""
    try:
        yield
    except sqlite3.IntegrityError:
        raise
    except STORAGE_ERRORS as exc:
        raise StorageFailure(action, exc) from exc


class DiskSpaceLow(OutboxError):
    """Free space under the outbox is below the configured floor; no new record is taken."""

    def __init__(self, free_bytes: int, floor_bytes: int) -> None:
        super().__init__(
            f"only {free_bytes // 2**20} MiB free under the outbox; "
            f"at least {floor_bytes // 2**20} MiB must stay free"
        )
        self.free_bytes = free_bytes
        self.floor_bytes = floor_bytes


@dataclass(frozen=True)
class OutboxRecord:
    """One record's row in the outbox."""

    record_id: str
    sha256: str
    size: int
    category: str
    meta: dict
    state: RecordState
    attempts: int
    resends: int
    last_error: str
    next_attempt_at: float
    created_at: float
    updated_at: float
    delivered_at: float | None
    detail: str
    package_path: Path | None
    seq: int = 0  # insertion order: the key of keyset pagination


@dataclass(frozen=True)
class StatusChange:
    """One entry of a record's status history; ``seq`` orders all changes in the outbox.

    ``cause`` is the change's machine-readable cause (a :class:`Cause`; "" for entries written
    before causes were kept) and ``facts`` its parameters (e.g. the bundle, the record a
    duplicate matched); ``detail`` is the free text (the centre's own words)."""

    seq: int
    record_id: str
    state: RecordState
    previous: RecordState | None
    detail: str
    at: float
    cause: str = ""
    facts: dict[str, str] = field(default_factory=dict)


class Cause(StrEnum):
    """Why a record's status changed (the station.v1 ``StatusChange.reason_code``)."""

    SEALED = "SEALED"
    DELIVERED = "DELIVERED"
    CENTRE_STATUS = "CENTRE_STATUS"
    DUPLICATE_OF = "DUPLICATE_OF"
    REJECTED = "REJECTED"
    PACKAGE_DAMAGED = "PACKAGE_DAMAGED"
    CARRIED = "CARRIED"
    RECEIPT_SETTLED = "RECEIPT_SETTLED"
    RETRY_REQUESTED = "RETRY_REQUESTED"
    RESENT_AFTER_FAILURE = "RESENT_AFTER_FAILURE"
    RESENT_UNKNOWN_AT_CENTRE = "RESENT_UNKNOWN_AT_CENTRE"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    category TEXT NOT NULL DEFAULT '',
    meta TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    resends INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    next_attempt_at REAL NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    delivered_at REAL,
    detail TEXT NOT NULL DEFAULT '',
    purged_at REAL,
    retry_delay_s REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS records_state ON records(state, next_attempt_at);
CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL,
    state TEXT NOT NULL,
    previous TEXT,
    detail TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL,
    cause TEXT NOT NULL DEFAULT '',
    facts TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS history_record ON history(record_id, seq);
CREATE INDEX IF NOT EXISTS records_enrollment ON records(json_extract(meta, '$.enrollment_id'));
"""

# The status tracker's schedule: ``next_poll_at`` (on the tracker's monotonic clock, reset when
# it starts) of records pending at the centre, indexed so a wake reads only the records due.
_TRACKED_SQL = "state IN ({})".format(",".join(f"'{s.value}'" for s in sorted(TRACKED_STATES)))
_TRACKING_SCHEMA = f"""
CREATE INDEX IF NOT EXISTS records_tracking ON records(next_poll_at) WHERE {_TRACKED_SQL};
"""

_COLUMNS = (
    "seq, record_id, sha256, size, category, meta, state, attempts, resends, last_error, "
    "next_attempt_at, created_at, updated_at, delivered_at, detail, purged_at"
)

_HISTORY_COLUMNS = "seq, record_id, state, previous, detail, at, cause, facts"

Listener = Callable[[StatusChange], None]


def _facts(stored: str) -> dict[str, str]:
    """A history entry's facts (an empty dict for anything but a JSON object)."""
    try:
        parsed = json.loads(stored or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in parsed.items()} if isinstance(parsed, dict) else {}


class Outbox:
    """Durable, thread-safe store of sealed records and their delivery state.

    ``directory`` holds ``outbox.sqlite`` and ``packages/<record_id>.pkg``. New records are
    refused while fewer than ``min_free_bytes`` are free on its file system. ``clock`` gives
    the timeline its times are on.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        min_free_bytes: int = 0,
        clock: KitClock = SYSTEM_CLOCK,
        on_storage: Callable[[StorageFailure | None], None] | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.clock = clock
        # Hears each write the disk refuses, and None at the first write it takes again.
        self.on_storage = on_storage
        self._storage_failing = False
        self.min_free_bytes = min_free_bytes
        self.packages_dir = self.directory / "packages"
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.packages_dir.mkdir(mode=0o700, exist_ok=True)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._listeners: list[Listener] = []
        self._db = sqlite3.connect(
            self.directory / "outbox.sqlite", isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._add_columns()
        self._closed = False
        self._remove_stale_temporaries()
        self._rearm_timers()

    def _add_columns(self) -> None:
        """Columns an older outbox lacks: the retry's delay, the status tracker's schedule and
        the causes of status changes."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(records)")}
        if "retry_delay_s" not in columns:
            self._db.execute("ALTER TABLE records ADD COLUMN retry_delay_s REAL NOT NULL DEFAULT 0")
        if "next_poll_at" not in columns:
            self._db.execute(
                "ALTER TABLE records ADD COLUMN next_poll_at REAL NOT NULL DEFAULT 0"
            )
        self._db.executescript(_TRACKING_SCHEMA)
        history = {row[1] for row in self._db.execute("PRAGMA table_info(history)")}
        if "cause" not in history:
            self._db.execute("ALTER TABLE history ADD COLUMN cause TEXT NOT NULL DEFAULT ''")
            self._db.execute("ALTER TABLE history ADD COLUMN facts TEXT NOT NULL DEFAULT '{}'")

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the database. Further calls raise OutboxError."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()
                self._changed.notify_all()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _remove_stale_temporaries(self) -> None:
        """Delete temporaries left by a process that died mid-write (never a live writer's)."""
        for tmp in self.packages_dir.glob(".*.tmp"):
            if not writer_alive(tmp):
                tmp.unlink(missing_ok=True)

    def _now(self, wall_reading: float | None) -> float:
        """``wall_reading`` (now when None) on the kit's timeline."""
        return self.clock.now() if wall_reading is None else self.clock.timeline(wall_reading)

    def _rearm_timers(self) -> None:
        """Bring stored timers onto this start's timeline (see the module's docstring)."""
        now = self.clock.now()
        built = datetime.combine(BUILD_DATE, datetime.min.time(), UTC).timestamp()
        settled = [s.value for s in PURGEABLE_STATES]
        with self._lock, self._transaction() as cur:
            cur.execute(
                "UPDATE records SET next_attempt_at = ? + retry_delay_s"
                " WHERE state = ? AND next_attempt_at > ? + retry_delay_s",
                (now, RecordState.SEALED.value, now),
            )
            cur.execute(
                f"UPDATE records SET updated_at = ? WHERE purged_at IS NULL"
                f" AND state IN ({','.join('?' for _ in settled)})"
                f" AND (updated_at > ? OR updated_at < ?)",
                (now, *settled, now, built),
            )

    # -- disk space --------------------------------------------------------------------------

    def free_bytes(self) -> int:
        """Bytes available to this process on the outbox's file system."""
        stats = os.statvfs(self.packages_dir)
        return stats.f_bavail * stats.f_frsize

    def check_space(self, needed: int = 0) -> None:
        """Raise :class:`DiskSpaceLow` unless ``needed`` bytes fit above the free-space floor."""
        if self.min_free_bytes <= 0:
            return
        free = self.free_bytes()
        if free - needed < self.min_free_bytes:
            raise DiskSpaceLow(free, self.min_free_bytes)

    # -- listeners ---------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(change)`` after every committed status change (from any thread)."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _notify(self, changes: Iterable[StatusChange]) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for change in changes:
            for listener in listeners:
                try:
                    listener(change)
                except Exception:
                    log.exception("outbox listener failed for %s", change.record_id)

    # -- writes ------------------------------------------------------------------------------

    def _package_path(self, record_id: str) -> Path:
        return self.packages_dir / f"{record_id}.pkg"

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """:func:`storage_guard`, telling ``on_storage`` when the disk refuses and recovers."""
        try:
            with storage_guard(action):
                yield
        except StorageFailure as failure:
            self._storage_failing = True
            if self.on_storage is not None:
                self.on_storage(failure)
            raise
        if self._storage_failing:
            self._storage_failing = False
            if self.on_storage is not None:
                self.on_storage(None)

    def _check_open(self) -> None:
        if self._closed:
            raise OutboxError("outbox is closed")

    def enqueue(
        self,
        sealed: SealedPackage,
        category: str = "",
        meta: dict | None = None,
        *,
        now: float | None = None,
    ) -> OutboxRecord:
        """Store ``sealed`` durably and queue it for delivery.

        Enqueuing the same record again with the same content is a no-op; with different
        content it raises :class:`RecordConflict`.
        """
        if not valid_identifier(sealed.record_id):
            raise ValueError(f"invalid record id {sealed.record_id!r}")
        digest = hashlib.sha256(sealed.data).hexdigest()
        if digest != sealed.sha256 or len(sealed.data) != sealed.size:
            raise ValueError("sealed package hash or size does not match its data")
        now = self._now(now)
        with self._lock:
            self._check_open()
            existing = self._get(sealed.record_id)
            if existing is not None:
                if existing.sha256 != sealed.sha256:
                    raise RecordConflict(
                        f"record {sealed.record_id} is already queued with other content"
                    )
                return existing
            self.check_space()
            meta_json = json.dumps(meta or {}, sort_keys=True)
            path = self._package_path(sealed.record_id)
            try:
                with self._guard(f"storing record {sealed.record_id}"):
                    write_durably(path, sealed.data)
                    change = self._insert(sealed, category, meta_json, now)
            except StorageFailure:
                path.unlink(missing_ok=True)  # no row names it: it would only take space
                raise
            record = self._get(sealed.record_id)
        self._notify([change])
        assert record is not None
        return record

    def _insert(
        self, sealed: SealedPackage, category: str, meta_json: str, now: float
    ) -> StatusChange:
        with self._transaction() as cur:
            cur.execute(
                "INSERT INTO records (record_id, sha256, size, category, meta, state, "
                "next_attempt_at, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    sealed.record_id,
                    sealed.sha256,
                    sealed.size,
                    category,
                    meta_json,
                    RecordState.SEALED.value,
                    now,
                    now,
                    now,
                ),
            )
            return self._log_change(
                cur, sealed.record_id, RecordState.SEALED, None, "", now, Cause.SEALED
            )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db, self._changed)

    def _log_change(
        self,
        cur: sqlite3.Cursor,
        record_id: str,
        state: RecordState,
        previous: RecordState | None,
        detail: str,
        now: float,
        cause: str = "",
        facts: dict[str, str] | None = None,
    ) -> StatusChange:
        facts = dict(facts or {})
        cur.execute(
            "INSERT INTO history (record_id, state, previous, detail, at, cause, facts) "
            "VALUES (?,?,?,?,?,?,?)",
            (
                record_id,
                state.value,
                previous.value if previous else None,
                detail,
                now,
                cause,
                json.dumps(facts, sort_keys=True),
            ),
        )
        at = self.clock.wall_of(now)
        return StatusChange(
            int(cur.lastrowid or 0), record_id, state, previous, detail, at, cause, facts
        )

    def _require(self, record_id: str) -> OutboxRecord:
        record = self._get(record_id)
        if record is None:
            raise UnknownRecord(record_id)
        return record

    def _update(
        self,
        record_id: str,
        *,
        state: RecordState | None = None,
        detail: str | None = None,
        now: float | None = None,
        cause: str = "",
        facts: dict[str, str] | None = None,
        **columns: object,
    ) -> OutboxRecord:
        """Update columns and, if the state or detail changes, log a status change (with its
        ``cause`` and ``facts``); ``now`` is on the timeline already."""
        now = self.clock.now() if now is None else now
        changes: list[StatusChange] = []
        with self._lock:
            self._check_open()
            current = self._require(record_id)
            values = dict(columns)
            new_state = state or current.state
            new_detail = current.detail if detail is None else detail
            if new_state != current.state or new_detail != current.detail:
                values["state"] = new_state.value
                values["detail"] = new_detail
            values["updated_at"] = now
            assignments = ", ".join(f"{name} = ?" for name in values)
            with self._guard(f"updating record {record_id}"), self._transaction() as cur:
                cur.execute(
                    f"UPDATE records SET {assignments} WHERE record_id = ?",
                    (*values.values(), record_id),
                )
                if "state" in values:
                    changes.append(
                        self._log_change(
                            cur,
                            record_id,
                            new_state,
                            current.state,
                            new_detail,
                            now,
                            cause,
                            facts,
                        )
                    )
            record = self._require(record_id)
        self._notify(changes)
        return record

    def mark_attempt(
        self, record_id: str, error: str, next_attempt_at: float, *, now: float | None = None
    ) -> OutboxRecord:
        """A delivery attempt failed with a retryable ``error``; retry at ``next_attempt_at``
        (a wall-clock reading, like ``now``)."""
        now = self._now(now)
        due = self.clock.timeline(next_attempt_at)
        with self._lock:
            attempts = self._require(record_id).attempts + 1
            return self._update(
                record_id,
                now=now,
                attempts=attempts,
                last_error=error,
                next_attempt_at=due,
                retry_delay_s=max(0.0, due - now),
            )

    def note(self, record_id: str, detail: str) -> OutboxRecord:
        """Add an entry to the record's history without changing its state (e.g. exported)."""
        return self._update(record_id, detail=detail)

    def mark_carried(
        self, record_id: str, bundle: str, *, now: float | None = None
    ) -> OutboxRecord:
        """The record's package was written to the USB bundle ``bundle``: CARRIED, with a
        history entry naming the bundle (a re-export adds another). A record the centre
        already has keeps its state."""
        with self._lock:
            record = self._require(record_id)
            if record.state not in DELIVERABLE_STATES:
                return record
            return self._update(
                record_id,
                state=RecordState.CARRIED,
                detail=f"carried in USB bundle {bundle}",
                now=self._now(now),
                cause=Cause.CARRIED,
                facts={"bundle": bundle},
            )

    def reschedule(
        self, record_id: str, next_attempt_at: float, *, detail: str | None = None, cause: str = ""
    ) -> OutboxRecord:
        """Move a waiting record's next attempt time (e.g. an operator's "send now"); with
        ``detail``, its history says why."""
        now = self._now(None)
        due = self.clock.timeline(next_attempt_at)
        return self._update(
            record_id,
            now=now,
            detail=detail,
            cause=cause,
            next_attempt_at=due,
            retry_delay_s=max(0.0, due - now),
        )

    def mark_delivered(
        self, record_id: str, detail: str = "", *, now: float | None = None
    ) -> OutboxRecord:
        """The centre accepted the upload: SENT_FOR_ENROLLMENT."""
        now = self._now(now)
        with self._lock:
            attempts = self._require(record_id).attempts + 1
            return self._update(
                record_id,
                state=RecordState.SENT_FOR_ENROLLMENT,
                detail=detail,
                now=now,
                cause=Cause.DELIVERED,
                attempts=attempts,
                last_error="",
                delivered_at=now,
            )

    def mark_dead(
        self,
        record_id: str,
        error: str,
        *,
        now: float | None = None,
        cause: str = Cause.REJECTED,
    ) -> OutboxRecord:
        """The centre rejected the record permanently (or, with ``cause`` PACKAGE_DAMAGED, the
        kit's own copy is damaged): DEAD_LETTER with its message."""
        with self._lock:
            attempts = self._require(record_id).attempts + 1
            return self._update(
                record_id,
                state=RecordState.DEAD_LETTER,
                detail=error,
                now=self._now(now),
                cause=cause,
                attempts=attempts,
                last_error=error,
            )

    def set_status(
        self,
        record_id: str,
        state: RecordState,
        detail: str = "",
        *,
        now: float | None = None,
        cause: str = Cause.CENTRE_STATUS,
        facts: dict[str, str] | None = None,
    ) -> OutboxRecord:
        """Record a status reported by the centre (or any other state change), with its cause
        and the facts that go with it."""
        return self._update(
            record_id,
            state=RecordState(state),
            detail=detail,
            now=self._now(now),
            cause=cause,
            facts=facts,
        )

    def requeue(
        self,
        record_id: str,
        reason: str,
        *,
        now: float | None = None,
        cause: str = Cause.RETRY_REQUESTED,
    ) -> OutboxRecord:
        """Send the record again (centre enroll failure, operator retry): back to SEALED."""
        now = self._now(now)
        with self._lock:
            record = self._require(record_id)
            if record.package_path is None:
                raise PackageMissing(f"package of {record_id} was purged; it cannot be resent")
            return self._update(
                record_id,
                state=RecordState.SEALED,
                detail=reason,
                now=now,
                cause=cause,
                resends=record.resends + 1,
                next_attempt_at=now,
                retry_delay_s=0.0,
            )

    def purge_packages(self, retention_seconds: float, *, now: float | None = None) -> list[str]:
        """Delete package files of records the centre has settled more than
        ``retention_seconds`` ago; the rows and their history stay."""
        now = self._now(now)
        purged: list[str] = []
        with self._lock:
            self._check_open()
            placeholders = ",".join("?" for _ in PURGEABLE_STATES)
            rows = self._db.execute(
                f"SELECT record_id FROM records WHERE purged_at IS NULL AND state IN "
                f"({placeholders}) AND updated_at <= ?",
                (*[s.value for s in PURGEABLE_STATES], now - retention_seconds),
            ).fetchall()
            for (record_id,) in rows:
                self._package_path(record_id).unlink(missing_ok=True)
                with self._guard(f"purging {record_id}"), self._transaction() as cur:
                    cur.execute(
                        "UPDATE records SET purged_at = ? WHERE record_id = ?", (now, record_id)
                    )
                purged.append(record_id)
            if purged:
                fsync_dir(self.packages_dir)
        return purged

    # -- reads -------------------------------------------------------------------------------

    def _row_to_record(self, row: tuple) -> OutboxRecord:
        (
            seq,
            record_id,
            sha256,
            size,
            category,
            meta,
            state,
            attempts,
            resends,
            last_error,
            next_attempt_at,
            created_at,
            updated_at,
            delivered_at,
            detail,
            purged_at,
        ) = row
        return OutboxRecord(
            record_id=record_id,
            sha256=sha256,
            size=size,
            category=category,
            meta=json.loads(meta),
            state=RecordState(state),
            attempts=attempts,
            resends=resends,
            last_error=last_error,
            next_attempt_at=self.clock.wall_of(next_attempt_at),
            created_at=self.clock.wall_of(created_at),
            updated_at=self.clock.wall_of(updated_at),
            delivered_at=None if delivered_at is None else self.clock.wall_of(delivered_at),
            detail=detail,
            package_path=None if purged_at is not None else self._package_path(record_id),
            seq=seq,
        )

    def _change_of(self, row: tuple) -> StatusChange:
        seq, record_id, state, previous, detail, at, cause, facts = row
        previous_state = RecordState(previous) if previous else None
        return StatusChange(
            seq,
            record_id,
            RecordState(state),
            previous_state,
            detail,
            self.clock.wall_of(at),
            cause,
            _facts(facts),
        )

    def _get(self, record_id: str) -> OutboxRecord | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM records WHERE record_id = ?", (record_id,)
        ).fetchone()
        return self._row_to_record(row) if row else None

    def get(self, record_id: str) -> OutboxRecord | None:
        """The record with this id, or None."""
        with self._lock:
            self._check_open()
            return self._get(record_id)

    def list(
        self,
        states: Iterable[RecordState] | None = None,
        limit: int | None = None,
        *,
        after_seq: int = 0,
    ) -> list[OutboxRecord]:
        """Records (oldest first), optionally only those in ``states``; with ``after_seq``, only
        those stored after the record of that ``seq`` (keyset pagination: a page costs its own
        rows, however many came before it)."""
        query = f"SELECT {_COLUMNS} FROM records WHERE seq > ?"
        params: list[object] = [int(after_seq)]
        if states is not None:
            wanted = [RecordState(s).value for s in states]
            if not wanted:
                return []
            query += f" AND state IN ({','.join('?' for _ in wanted)})"
            params.extend(wanted)
        query += " ORDER BY seq"
        if limit is not None:
            query += " LIMIT ?"
            params.append(int(limit))
        with self._lock:
            self._check_open()
            return [self._row_to_record(r) for r in self._db.execute(query, params)]

    def for_enrollment(self, enrollment_id: str) -> OutboxRecord | None:
        """The record sealed from enrollment ``enrollment_id`` (its ``meta``), or None."""
        with self._lock:
            self._check_open()
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM records "
                "WHERE json_extract(meta, '$.enrollment_id') = ? ORDER BY seq LIMIT 1",
                (enrollment_id,),
            ).fetchone()
        return self._row_to_record(row) if row else None

    def due_for_delivery(self, now: float | None = None, limit: int = 100) -> list[OutboxRecord]:
        """SEALED and CARRIED records whose next attempt time has come, oldest first."""
        now = self._now(now)
        with self._lock:
            self._check_open()
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM records WHERE state IN (?, ?) AND next_attempt_at <= ? "
                "ORDER BY seq LIMIT ?",
                (*_DELIVERABLE_VALUES, now, limit),
            ).fetchall()
            return [self._row_to_record(r) for r in rows]

    def next_due_time(self) -> float | None:
        """The earliest next-attempt time among SEALED and CARRIED records (None if none)."""
        with self._lock:
            self._check_open()
            row = self._db.execute(
                "SELECT MIN(next_attempt_at) FROM records WHERE state IN (?, ?)",
                _DELIVERABLE_VALUES,
            ).fetchone()
            return self.clock.wall_of(row[0]) if row and row[0] is not None else None

    # -- the status tracker's schedule --------------------------------------------------------

    def due_for_tracking(self, now: float, limit: int) -> list[OutboxRecord]:
        """Records pending at the centre whose next status poll is due at ``now`` (on the
        tracker's clock), soonest first; reads only those (an index on the schedule)."""
        with self._lock:
            self._check_open()
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM records INDEXED BY records_tracking "
                f"WHERE {_TRACKED_SQL} AND next_poll_at <= ? ORDER BY next_poll_at LIMIT ?",
                (now, limit),
            ).fetchall()
            return [self._row_to_record(r) for r in rows]

    def next_poll_time(self) -> float | None:
        """The soonest next status poll among records pending at the centre (None: none)."""
        with self._lock:
            self._check_open()
            row = self._db.execute(
                "SELECT MIN(next_poll_at) FROM records INDEXED BY records_tracking "
                f"WHERE {_TRACKED_SQL}"
            ).fetchone()
            return row[0] if row and row[0] is not None else None

    def schedule_polls(self, polls: Iterable[tuple[str, float]]) -> None:
        """Set the next status poll of each (record id, time) in one transaction."""
        with self._lock:
            self._check_open()
            with self._transaction() as cur:
                cur.executemany(
                    "UPDATE records SET next_poll_at = ? WHERE record_id = ?",
                    [(at, record_id) for record_id, at in polls],
                )

    def reset_polls(self, at: float) -> None:
        """Every record pending at the centre is due at ``at`` (the tracker's clock restarted)."""
        with self._lock:
            self._check_open()
            with self._transaction() as cur:
                cur.execute(f"UPDATE records SET next_poll_at = ? WHERE {_TRACKED_SQL}", (at,))

    def read_package(self, record_id: str) -> bytes:
        """The package bytes, checked against the recorded SHA-256."""
        record = self.get(record_id)
        if record is None:
            raise UnknownRecord(record_id)
        if record.package_path is None:
            raise PackageMissing(f"package of {record_id} was purged")
        try:
            data = record.package_path.read_bytes()
        except FileNotFoundError as exc:
            raise PackageMissing(f"package file of {record_id} is missing") from exc
        if hashlib.sha256(data).hexdigest() != record.sha256:
            raise PackageMissing(f"package file of {record_id} does not match its hash")
        return data

    def counts(self) -> dict[RecordState, int]:
        """How many records are in each state."""
        with self._lock:
            self._check_open()
            rows = self._db.execute("SELECT state, COUNT(*) FROM records GROUP BY state")
            return {RecordState(state): count for state, count in rows}

    def history(self, record_id: str) -> list[StatusChange]:
        """Every status change of one record, oldest first."""
        with self._lock:
            self._check_open()
            rows = self._db.execute(
                f"SELECT {_HISTORY_COLUMNS} FROM history WHERE record_id = ? ORDER BY seq",
                (record_id,),
            ).fetchall()
        return [self._change_of(r) for r in rows]

    @property
    def last_seq(self) -> int:
        """Sequence number of the latest status change (0 when empty)."""
        with self._lock:
            self._check_open()
            row = self._db.execute("SELECT MAX(seq) FROM history").fetchone()
            return int(row[0] or 0)

    def changes_since(self, seq: int, limit: int = 1000) -> list[StatusChange]:
        """Status changes with a sequence number greater than ``seq``, in order."""
        with self._lock:
            self._check_open()
            rows = self._db.execute(
                f"SELECT {_HISTORY_COLUMNS} FROM history WHERE seq > ? ORDER BY seq LIMIT ?",
                (seq, limit),
            ).fetchall()
        return [self._change_of(r) for r in rows]

    def wait_for_change(self, after_seq: int, timeout: float) -> list[StatusChange]:
        """Block up to ``timeout`` seconds for changes after ``after_seq``; [] on timeout."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._changed:
            while True:
                if self._closed:
                    return []
                changes = self.changes_since(after_seq)
                remaining = deadline - time.monotonic()
                if changes or remaining <= 0:
                    return changes
                self._changed.wait(remaining)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (or ROLLBACK), then wake threads waiting for changes."""

    def __init__(self, db: sqlite3.Connection, changed: threading.Condition) -> None:
        self._db = db
        self._changed = changed

    def __enter__(self) -> sqlite3.Cursor:
        self._cursor = self._db.cursor()
        self._cursor.execute("BEGIN IMMEDIATE")
        return self._cursor

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            try:
                self._cursor.execute("COMMIT")
            except sqlite3.Error:
                self._rollback()
                raise
            self._changed.notify_all()
        else:
            self._rollback()

    def _rollback(self) -> None:
        """Undo the open transaction (a failed COMMIT may leave one open)."""
        if self._db.in_transaction:
            try:
                self._cursor.execute("ROLLBACK")
            except sqlite3.Error as exc:
                log.warning("rolling back an outbox transaction failed: %s", exc)
