"""The centre's register of enrolled stations: which key may sign for which station, and when.

A kit never declares its own key. A centre administrator enrolls it out of band, either by
issuing a one-time enrollment code (``rekam sim center enroll-code STATION``; the kit registers
its public key with it, once) or by registering the kit's public key file directly. After that:

- **rotation**: the station's current key signs a hand-over to a new key
  (:func:`uploader.centre_client.rotation_message`); the new key becomes current and the old one
  is still accepted until the cut-over time (packages sealed before the rotation and still in
  the kit's outbox keep flowing);
- **revocation** (``rekam sim center revoke STATION``): every key of the station is refused for
  packages sealed at or after the revocation time;
- re-enrollment with a new code (a reinstalled kit) retires the previous key at once.

State lives in ``stations.sqlite`` next to the centre's other files, so the administrator's
commands work while the centre runs. Codes are stored only as their SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from uploader.centre_client import rotation_message
from uploader.keys import (
    KeyFileError,
    is_station_key,
    key_id,
    parse_public_pem,
    public_pem,
    signature_valid,
)
from uploader.package import PackageHeader, valid_identifier

CODE_LIFETIME_S = 7 * 86400.0
ROTATION_CUTOVER_S = 30 * 86400.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS station_keys (
    station_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    public_pem BLOB NOT NULL,
    enrolled_at REAL NOT NULL,
    enrolled_by TEXT NOT NULL,
    retired_at REAL,
    revoked_at REAL,
    PRIMARY KEY (station_id, key_id)
);
CREATE TABLE IF NOT EXISTS enrollment_codes (
    code_sha256 TEXT PRIMARY KEY,
    station_id TEXT NOT NULL,
    issued_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    used_at REAL
);
"""


class EnrollmentRefused(Exception):
    """An enrollment, rotation or key lookup the register refuses; ``code`` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class StationKey:
    """One key a station has held."""

    station_id: str
    key_id: str
    public_pem: bytes
    enrolled_at: float
    enrolled_by: str  # "code", "admin" or "rotation"
    retired_at: float | None
    revoked_at: float | None

    @property
    def public_key(self) -> object:
        return parse_public_pem(self.public_pem)

    def refusal(self, sealed_at: float, now: float) -> EnrollmentRefused | None:
        """Why a package sealed at ``sealed_at`` and received ``now`` may not use this key."""
        if self.revoked_at is not None and sealed_at >= self.revoked_at:
            return EnrollmentRefused(
                "KEY_REVOKED", f"station {self.station_id} key {self.key_id} is revoked"
            )
        if self.retired_at is not None and now > self.retired_at:
            return EnrollmentRefused(
                "KEY_RETIRED",
                f"station {self.station_id} key {self.key_id} was replaced; its cut-over passed",
            )
        return None


def _station_key(row: tuple) -> StationKey:
    station_id, kid, pem, *rest = row
    return StationKey(station_id, kid, bytes(pem), *rest)


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


def _parse_station_key(pem: bytes) -> tuple[bytes, str]:
    """The normalised PEM and key id of a station signing key; refuses anything else."""
    try:
        key = parse_public_pem(pem)
    except KeyFileError as exc:
        raise EnrollmentRefused("BAD_KEY", str(exc)) from exc
    if not is_station_key(key):
        raise EnrollmentRefused("BAD_KEY", f"a {type(key).__name__} cannot sign for a station")
    return public_pem(key), key_id(key).hex()


class StationRegistry:
    """Enrolled stations and their keys (SQLite, WAL). Thread-safe."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    # -- the administrator's side --------------------------------------------------------------

    def issue_code(self, station_id: str, lifetime_s: float = CODE_LIFETIME_S) -> str:
        """A one-time code with which the kit ``station_id`` may register its key."""
        if not valid_identifier(station_id):
            raise EnrollmentRefused("BAD_ID", f"invalid station id {station_id!r}")
        code = "-".join(secrets.token_hex(4).upper() for _ in range(4))  # 128 random bits
        now = time.time()
        with self._transaction() as db:
            db.execute(
                "INSERT INTO enrollment_codes VALUES (?,?,?,?,NULL)",
                (_code_hash(code), station_id, now, now + lifetime_s),
            )
        return code

    def register(self, station_id: str, pem: bytes, enrolled_by: str = "admin") -> str:
        """Enroll ``pem`` as the station's current key (an administrator's act, or a code's);
        a previous current key is retired at once. Returns the key id (hex)."""
        normalised, kid = _parse_station_key(pem)
        now = time.time()
        with self._transaction() as db:
            self._install(db, station_id, normalised, kid, enrolled_by, retire_at=now)
        return kid

    def revoke(self, station_id: str, at: float | None = None) -> int:
        """Refuse every key of ``station_id`` for packages sealed from ``at`` (default now) on.
        Returns how many keys were revoked."""
        when = time.time() if at is None else at
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE station_keys SET revoked_at = ? WHERE station_id = ? "
                "AND revoked_at IS NULL",
                (when, station_id),
            )
            return cursor.rowcount

    # -- the kit's side ------------------------------------------------------------------------

    def enroll(self, station_id: str, code: str, pem: bytes) -> str:
        """Register ``pem`` for ``station_id`` with a one-time code, which is spent only when
        it enrolls. Returns the key id (hex)."""
        normalised, kid = _parse_station_key(pem)
        now = time.time()
        with self._transaction() as db:
            row = db.execute(
                "SELECT station_id, expires_at, used_at FROM enrollment_codes "
                "WHERE code_sha256 = ?",
                (_code_hash(code),),
            ).fetchone()
            if row is None or row[0] != station_id:
                raise EnrollmentRefused("BAD_CODE", f"no such enrollment code for {station_id}")
            if row[2] is not None:
                raise EnrollmentRefused("CODE_USED", "this enrollment code was already used")
            if now > row[1]:
                raise EnrollmentRefused("CODE_EXPIRED", "this enrollment code has expired")
            db.execute(
                "UPDATE enrollment_codes SET used_at = ? WHERE code_sha256 = ?",
                (now, _code_hash(code)),
            )
            self._install(db, station_id, normalised, kid, "code", retire_at=now)
        return kid

    def rotate(
        self, station_id: str, new_pem: bytes, proof: bytes, cutover_s: float = ROTATION_CUTOVER_S
    ) -> str:
        """Make ``new_pem`` current, ``proof`` being the current key's signature over the
        hand-over; the old key stays valid ``cutover_s`` more seconds. Returns the new key id."""
        normalised, kid = _parse_station_key(new_pem)
        now = time.time()
        with self._transaction() as db:
            current = self._current(db, station_id)
            if current is None:
                raise EnrollmentRefused("NOT_ENROLLED", f"station {station_id} is not enrolled")
            if current.key_id == kid:
                return kid  # the same hand-over again
            message = rotation_message(station_id, normalised)
            if not signature_valid(current.public_key, proof, message):
                raise EnrollmentRefused(
                    "BAD_PROOF", "the hand-over is not signed by the station's current key"
                )
            self._install(db, station_id, normalised, kid, "rotation", retire_at=now + cutover_s)
        return kid

    # -- the ingest's side ---------------------------------------------------------------------

    def key_for(self, header: PackageHeader, now: float | None = None) -> object:
        """The key that may have signed a package with this (not yet verified) header; raises
        :class:`EnrollmentRefused` (UNKNOWN_STATION, KEY_REVOKED, KEY_RETIRED)."""
        key = self.lookup(header.station_id, header.station_key_id)
        if key is None:
            raise EnrollmentRefused(
                "UNKNOWN_STATION",
                f"station {header.station_id!r} has no enrolled key "
                f"{header.station_key_id.hex()}",
            )
        refusal = key.refusal(header.sealed_at_ms / 1000, time.time() if now is None else now)
        if refusal is not None:
            raise refusal
        return key.public_key

    def lookup(self, station_id: str, station_key_id: bytes) -> StationKey | None:
        """A key the station has held, whatever its state."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM station_keys WHERE station_id = ? AND key_id = ?",
                (station_id, station_key_id.hex()),
            ).fetchone()
        return _station_key(row) if row else None

    def keys(self, station_id: str) -> list[StationKey]:
        """Every key the station has held, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM station_keys WHERE station_id = ? ORDER BY enrolled_at",
                (station_id,),
            ).fetchall()
        return [_station_key(row) for row in rows]

    def count(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT COUNT(DISTINCT station_id) FROM station_keys")
            return int(row.fetchone()[0])

    # -- inside a transaction ------------------------------------------------------------------

    @staticmethod
    def _current(db: sqlite3.Connection, station_id: str) -> StationKey | None:
        row = db.execute(
            "SELECT * FROM station_keys WHERE station_id = ? AND retired_at IS NULL "
            "AND revoked_at IS NULL",
            (station_id,),
        ).fetchone()
        return _station_key(row) if row else None

    def _install(
        self,
        db: sqlite3.Connection,
        station_id: str,
        pem: bytes,
        kid: str,
        enrolled_by: str,
        *,
        retire_at: float,
    ) -> None:
        if not valid_identifier(station_id):
            raise EnrollmentRefused("BAD_ID", f"invalid station id {station_id!r}")
        current = self._current(db, station_id)
        if current is not None and current.key_id == kid:
            return  # already this station's current key
        held = db.execute(
            "SELECT 1 FROM station_keys WHERE station_id = ? AND key_id = ?", (station_id, kid)
        ).fetchone()
        if held:  # a retired or revoked key never comes back
            raise EnrollmentRefused("KEY_IN_USE", "this station held this key before")
        db.execute(
            "UPDATE station_keys SET retired_at = ? WHERE station_id = ? AND retired_at IS NULL",
            (retire_at, station_id),
        )
        db.execute(
            "INSERT INTO station_keys VALUES (?,?,?,?,?,NULL,NULL)",
            (station_id, kid, pem, time.time(), enrolled_by),
        )
