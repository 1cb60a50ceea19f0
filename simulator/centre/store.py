"""The simulated centre's durable state: records, statuses, gallery (station keys live in
``simulator.centre.stations``)."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from domain.files import write_durably

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    record_id TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    station_id TEXT NOT NULL,
    nik TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    received_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    decide_at REAL
);
CREATE TABLE IF NOT EXISTS ingest_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    outcome TEXT NOT NULL,
    via TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ingest_log_record ON ingest_log(record_id);
CREATE TABLE IF NOT EXISTS bundle_imports (
    manifest_sha256 TEXT PRIMARY KEY,
    bundle TEXT NOT NULL,
    started_at REAL NOT NULL,
    completed_at REAL
);
CREATE TABLE IF NOT EXISTS bundle_import_records (
    manifest_sha256 TEXT NOT NULL,
    record_id TEXT NOT NULL,
    started_at REAL NOT NULL,
    outcome TEXT,
    reason TEXT NOT NULL DEFAULT '',
    code TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (manifest_sha256, record_id)
);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL,
    station_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_station ON changes(station_id, seq);
CREATE TABLE IF NOT EXISTS duplicates (
    record_id TEXT PRIMARY KEY,
    duplicate_of TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS templates (
    record_id TEXT NOT NULL,
    position TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (record_id, position)
);
"""


RECEIVED_OUTCOME = "RECEIVED"  # the ingest-log outcome of a record stored as new


@dataclass(frozen=True)
class CentreRecord:
    record_id: str
    sha256: str
    size: int
    station_id: str
    nik: str
    status: str
    detail: str
    received_at: float
    updated_at: float
    decide_at: float | None


@dataclass(frozen=True)
class ImportStep:
    """One record of an unfinished bundle import; ``outcome`` is None while not finished."""

    record_id: str
    started_at: float
    outcome: str | None
    reason: str
    code: str


@dataclass(frozen=True)
class StatusChange:
    """One entry of the change feed: a record's status as it became at ``seq``."""

    seq: int
    record_id: str
    sha256: str
    status: str
    detail: str


_RECORD_COLUMNS = (
    "record_id, sha256, size, station_id, nik, status, detail, received_at, updated_at, decide_at"
)


class CentreStore:
    """SQLite (WAL) + package files under ``data_dir``. Thread-safe.

    Every status a record takes (its arrival included) is appended to ``changes``, the change
    feed kits follow by station with a cursor (:meth:`wait_for_changes`)."""

    def __init__(self, data_dir: Path) -> None:
        self.packages_dir = data_dir / "packages"
        self.packages_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            data_dir / "centre.sqlite", isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._changed = threading.Condition(self._lock)
        self._releasing = False

    def close(self) -> None:
        self.release_waiters()
        with self._lock:
            self._db.close()

    def release_waiters(self) -> None:
        """End every :meth:`wait_for_changes` now (the centre is stopping)."""
        with self._lock:
            self._releasing = True
            self._changed.notify_all()

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    # records
    def get(self, record_id: str) -> CentreRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT record_id, sha256, size, station_id, nik, status, detail, received_at, "
                "updated_at, decide_at FROM records WHERE record_id = ?",
                (record_id,),
            ).fetchone()
            return CentreRecord(*row) if row else None

    def package_path(self, record_id: str) -> Path:
        return self.packages_dir / f"{record_id}.pkg"

    def add_record(
        self,
        record: CentreRecord,
        package: bytes,
        templates: dict[str, bytes],
        via: str = "http",
    ) -> None:
        """Store the package file, then the row, its templates and its RECEIVED ingest-log entry
        in one transaction (a crash keeps all of them or none)."""
        write_durably(self.package_path(record.record_id), package)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        record.record_id,
                        record.sha256,
                        record.size,
                        record.station_id,
                        record.nik,
                        record.status,
                        record.detail,
                        record.received_at,
                        record.updated_at,
                        record.decide_at,
                    ),
                )
                self._db.executemany(
                    "INSERT INTO templates (record_id, position, data) VALUES (?,?,?)",
                    [(record.record_id, pos, data) for pos, data in templates.items()],
                )
                self._db.execute(
                    "INSERT INTO ingest_log (record_id, sha256, outcome, via, at) "
                    "VALUES (?,?,?,?,?)",
                    (record.record_id, record.sha256, RECEIVED_OUTCOME, via, record.received_at),
                )
                self._log_change(record.record_id, record.status, record.detail)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._changed.notify_all()

    def _log_change(self, record_id: str, status: str, detail: str) -> None:
        self._db.execute(
            "INSERT INTO changes (record_id, station_id, sha256, status, detail, at) "
            "SELECT record_id, station_id, sha256, ?, ?, ? FROM records WHERE record_id = ?",
            (status, detail, time.time(), record_id),
        )

    def set_status(
        self,
        record_id: str,
        status: str,
        detail: str,
        decide_at: float | None = None,
        duplicate_of: str = "",
    ) -> None:
        """Set a record's status; ``duplicate_of`` names the earlier record deduplication
        matched it with (kept with the decision, see :meth:`duplicate_of`)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "UPDATE records SET status = ?, detail = ?, updated_at = ?, decide_at = ? "
                    "WHERE record_id = ?",
                    (status, detail, time.time(), decide_at, record_id),
                )
                if duplicate_of:
                    self._db.execute(
                        "INSERT OR REPLACE INTO duplicates (record_id, duplicate_of) VALUES (?,?)",
                        (record_id, duplicate_of),
                    )
                self._log_change(record_id, status, detail)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._changed.notify_all()

    def duplicate_of(self, record_id: str) -> tuple[str, str]:
        """(record id, NIK) of the earlier record deduplication matched ``record_id`` with;
        ("", "") when it matched none."""
        with self._lock:
            row = self._db.execute(
                "SELECT d.duplicate_of, COALESCE(r.nik, '') FROM duplicates d "
                "LEFT JOIN records r ON r.record_id = d.duplicate_of WHERE d.record_id = ?",
                (record_id,),
            ).fetchone()
        return (str(row[0]), str(row[1])) if row else ("", "")

    def records(self, record_ids: list[str]) -> dict[str, CentreRecord]:
        """The records among ``record_ids`` the centre holds, by id."""
        if not record_ids:
            return {}
        marks = ",".join("?" for _ in record_ids)
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_RECORD_COLUMNS} FROM records WHERE record_id IN ({marks})",
                record_ids,
            ).fetchall()
        return {row[0]: CentreRecord(*row) for row in rows}

    def last_change(self) -> int:
        """The change feed's latest sequence number (0 when empty)."""
        with self._lock:
            return int(self._db.execute("SELECT MAX(seq) FROM changes").fetchone()[0] or 0)

    def changes_since(self, station_id: str, seq: int, limit: int) -> list[StatusChange]:
        """The station's status changes after ``seq``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, record_id, sha256, status, detail FROM changes "
                "WHERE station_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (station_id, seq, limit),
            ).fetchall()
        return [StatusChange(*row) for row in rows]

    def wait_for_changes(
        self, station_id: str, seq: int, limit: int, timeout: float
    ) -> list[StatusChange]:
        """:meth:`changes_since`, waiting up to ``timeout`` seconds for the first one (the
        long-poll); [] when none came or the centre is stopping."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._changed:
            while not self._releasing:
                changes = self.changes_since(station_id, seq, limit)
                remaining = deadline - time.monotonic()
                if changes or remaining <= 0:
                    return changes
                self._changed.wait(remaining)
        return []

    def pending_decisions(self) -> list[tuple[str, float]]:
        with self._lock:
            return self._db.execute(
                "SELECT record_id, decide_at FROM records WHERE decide_at IS NOT NULL "
                "ORDER BY decide_at"
            ).fetchall()

    def add_templates(self, record_id: str, templates: dict[str, bytes]) -> None:
        """Keep a record's minutiae records (extracted after it was received)."""
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO templates (record_id, position, data) VALUES (?,?,?)",
                [(record_id, pos, data) for pos, data in templates.items()],
            )

    def templates(self, record_id: str) -> dict[str, bytes]:
        with self._lock:
            rows = self._db.execute(
                "SELECT position, data FROM templates WHERE record_id = ?", (record_id,)
            ).fetchall()
            return {position: bytes(data) for position, data in rows}

    def records_with_status(self, status: str) -> list[CentreRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT record_id, sha256, size, station_id, nik, status, detail, received_at, "
                "updated_at, decide_at FROM records WHERE status = ? ORDER BY received_at",
                (status,),
            ).fetchall()
            return [CentreRecord(*row) for row in rows]

    def log_ingest(self, record_id: str, sha256: str, outcome: str, via: str) -> None:
        """Remember one ingest answer (``outcome`` is its code, ``via`` http, resumable, bundle)."""
        with self._lock:
            self._db.execute(
                "INSERT INTO ingest_log (record_id, sha256, outcome, via, at) VALUES (?,?,?,?,?)",
                (record_id, sha256, outcome, via, time.time()),
            )

    def ingest_outcomes(self) -> dict[str, dict[str, int]]:
        """record id -> {outcome code: how many times the centre answered it}."""
        with self._lock:
            rows = self._db.execute(
                "SELECT record_id, outcome, COUNT(*) FROM ingest_log GROUP BY record_id, outcome"
            ).fetchall()
        outcomes: dict[str, dict[str, int]] = {}
        for record_id, outcome, count in rows:
            outcomes.setdefault(record_id, {})[outcome] = count
        return outcomes

    # bundle imports: a journal so an interrupted import resumes where it stopped

    def begin_import(self, manifest_sha256: str, bundle: str) -> dict[str, ImportStep]:
        """Start importing a bundle, or resume the unfinished import of the same bundle.
        Returns the records the unfinished import already began, by id."""
        now = time.time()
        with self._lock, self._db:
            row = self._db.execute(
                "SELECT completed_at FROM bundle_imports WHERE manifest_sha256 = ?",
                (manifest_sha256,),
            ).fetchone()
            if row is None or row[0] is not None:  # new, or imported before: start afresh
                self._db.execute(
                    "DELETE FROM bundle_import_records WHERE manifest_sha256 = ?",
                    (manifest_sha256,),
                )
                self._db.execute(
                    "INSERT OR REPLACE INTO bundle_imports VALUES (?, ?, ?, NULL)",
                    (manifest_sha256, bundle, now),
                )
                return {}
            rows = self._db.execute(
                "SELECT record_id, started_at, outcome, reason, code FROM bundle_import_records "
                "WHERE manifest_sha256 = ?",
                (manifest_sha256,),
            ).fetchall()
        return {row[0]: ImportStep(*row) for row in rows}

    def import_started(self, manifest_sha256: str, record_id: str) -> float:
        """Note that this record's ingest begins; returns when it (first) began."""
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO bundle_import_records (manifest_sha256, record_id, "
                "started_at) VALUES (?, ?, ?)",
                (manifest_sha256, record_id, time.time()),
            )
            row = self._db.execute(
                "SELECT started_at FROM bundle_import_records WHERE manifest_sha256 = ? "
                "AND record_id = ?",
                (manifest_sha256, record_id),
            ).fetchone()
        return float(row[0])

    def import_finished(
        self, manifest_sha256: str, record_id: str, outcome: str, reason: str, code: str
    ) -> None:
        with self._lock, self._db:
            self._db.execute(
                "UPDATE bundle_import_records SET outcome = ?, reason = ?, code = ? "
                "WHERE manifest_sha256 = ? AND record_id = ?",
                (outcome, reason, code, manifest_sha256, record_id),
            )

    def complete_import(self, manifest_sha256: str) -> None:
        """The import is over and its receipt is on the drive."""
        with self._lock, self._db:
            self._db.execute(
                "UPDATE bundle_imports SET completed_at = ? WHERE manifest_sha256 = ?",
                (time.time(), manifest_sha256),
            )

    def all_records(self) -> list[CentreRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT record_id, sha256, size, station_id, nik, status, detail, received_at, "
                "updated_at, decide_at FROM records ORDER BY received_at"
            ).fetchall()
            return [CentreRecord(*row) for row in rows]

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM records").fetchone()[0])
