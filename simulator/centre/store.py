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


class CentreStore:
    """SQLite (WAL) + package files under ``data_dir``. Thread-safe."""

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

    def close(self) -> None:
        with self._lock:
            self._db.close()

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
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def set_status(
        self, record_id: str, status: str, detail: str, decide_at: float | None = None
    ) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE records SET status = ?, detail = ?, updated_at = ?, decide_at = ? "
                "WHERE record_id = ?",
                (status, detail, time.time(), decide_at, record_id),
            )

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
