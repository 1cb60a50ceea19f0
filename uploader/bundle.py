"""USB export bundles: sealed packages carried to the centre on a flash disk.

A bundle is one directory (``rekam-<station>-<UTC time>/`` from an export, ``rekam-<station>-
<record_id>/`` from the ``bundle`` sink) holding ``packages/<record_id>.pkg``,
``manifest.json`` (format, station, creation time, and every record's id, SHA-256 and size) and
``manifest.sig`` (three lines: the station id, the signing key's id and the station's signature
over the manifest bytes, both hex). It is written under a temporary name, every file fsynced,
then renamed into place: a bundle that exists is complete. The packages stay sealed (signed and
encrypted for the centre), so a lost flash disk reveals nothing; the signed manifest lets the
centre refuse a tampered or foreign bundle.

A flash disk is untrusted input: :func:`open_bundle` reads the small signature file, checks the
signature over the manifest's raw bytes with the key the centre enrolled for that station, and
only then parses the manifest. No file is read through a symbolic link (``O_NOFOLLOW``, and
directories are checked with ``lstat``), and every read is bounded by the size it must have.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.files import fsync_dir, write_durably
from uploader.keys import StationSigner, key_id, signature_valid
from uploader.outbox import Outbox
from uploader.package import MAX_PACKAGE_BYTES, valid_identifier

FORMAT = "rekam-bundle/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PACKAGES = "packages"
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
_MAX_SIGNATURE_FILE = 1024

# (station id, key id) -> the station's public key, or None when it may not sign bundles.
KeyLookup = Callable[[str, bytes], Any]


class BundleError(Exception):
    """The bundle cannot be trusted or read; the message says why."""


@dataclass(frozen=True)
class BundleEntry:
    """One package listed in a bundle's manifest."""

    record_id: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Bundle:
    """A bundle on disk whose manifest signature has been verified."""

    path: Path
    station_id: str
    created_at: str
    entries: tuple[BundleEntry, ...]
    manifest_sha256: str = ""  # names this bundle's content, whatever its folder is called

    def package_path(self, record_id: str) -> Path:
        return self.path / PACKAGES / f"{record_id}.pkg"

    def read_package(self, entry: BundleEntry) -> bytes:
        """The package bytes, checked against the manifest's size and SHA-256."""
        try:
            real_directory(self.path / PACKAGES)
            data = read_regular(self.package_path(entry.record_id), entry.size)
        except (OSError, BundleError) as exc:
            raise BundleError(f"package {entry.record_id} is missing from the bundle") from exc
        if len(data) != entry.size or hashlib.sha256(data).hexdigest() != entry.sha256:
            raise BundleError(f"package {entry.record_id} does not match the manifest")
        return data


@dataclass(frozen=True)
class WriteProgress:
    """One step of writing a bundle: ``records`` packages are on the drive so far (``size``
    bytes of them); ``path`` is set on the last step, once the bundle is complete."""

    records: int
    size: int
    path: Path | None = None


def export_bundle(
    outbox: Outbox,
    record_ids: list[str],
    destination: Path,
    station_id: str,
    keys: StationSigner,
    *,
    now: datetime | None = None,
) -> Iterator[WriteProgress]:
    """Write the packages of ``record_ids`` into a signed bundle under ``destination``, one
    progress step per package, then the finished bundle's path.

    Raises :class:`BundleError` when the destination is not a writable directory, and the
    outbox's errors for unknown or purged records. The outbox is not changed: the caller marks
    the records carried. Closing the iterator early leaves no bundle behind.
    """
    now = now or datetime.now(UTC)
    packages = ((record_id, outbox.read_package(record_id)) for record_id in record_ids)
    name = f"rekam-{station_id}-{now:%Y%m%dT%H%M%S%fZ}"
    return write_bundle_steps(destination, name, station_id, keys, packages, now=now)


def write_bundle(
    destination: Path,
    name: str,
    station_id: str,
    keys: StationSigner,
    packages: Iterable[tuple[str, bytes]],
    *,
    now: datetime | None = None,
) -> Path:
    """Write ``(record_id, package bytes)`` pairs as the signed bundle ``destination/name``.

    Raises :class:`BundleError` when the destination is not a directory, OSError when writing
    fails (nothing is left behind), and whatever reading ``packages`` raises.
    """
    for step in write_bundle_steps(destination, name, station_id, keys, packages, now=now):
        if step.path is not None:
            return step.path
    raise AssertionError("a written bundle always ends with its path")


def write_bundle_steps(
    destination: Path,
    name: str,
    station_id: str,
    keys: StationSigner,
    packages: Iterable[tuple[str, bytes]],
    *,
    now: datetime | None = None,
) -> Iterator[WriteProgress]:
    """:func:`write_bundle`, yielding a :class:`WriteProgress` after each package and a last
    one with the bundle's path once it is renamed into place."""
    if not destination.is_dir():
        raise BundleError(f"{destination} is not a directory")
    now = now or datetime.now(UTC)
    final = destination / name
    staging = destination / f".{name}.partial"
    entries = []
    written = 0
    try:
        (staging / PACKAGES).mkdir(parents=True)
        for record_id, data in packages:
            write_durably(staging / PACKAGES / f"{record_id}.pkg", data)
            entries.append(
                {
                    "record_id": record_id,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "size": len(data),
                }
            )
            written += len(data)
            yield WriteProgress(len(entries), written)
        manifest = json.dumps(
            {
                "format": FORMAT,
                "station_id": station_id,
                "created_at": now.isoformat(),
                "records": entries,
            },
            sort_keys=True,
            indent=1,
        ).encode()
        signature = f"{station_id}\n{keys.key_id.hex()}\n{keys.sign(manifest).hex()}\n"
        write_durably(staging / SIGNATURE, signature.encode())
        write_durably(staging / MANIFEST, manifest)
        os.replace(staging, final)
        fsync_dir(destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    yield WriteProgress(len(entries), written, final)


def keys_by_station(keys: Mapping[str, Any]) -> KeyLookup:
    """A :data:`KeyLookup` over one trusted key per station id."""

    def lookup(station_id: str, station_key_id: bytes) -> Any:
        key = keys.get(station_id)
        return key if key is not None and key_id(key) == station_key_id else None

    return lookup


def real_directory(path: Path) -> None:
    """Raise :class:`BundleError` unless ``path`` is a directory itself, not a link to one."""
    if not stat.S_ISDIR(os.lstat(path).st_mode):
        raise BundleError(f"{path} is not a directory (a symbolic link is not followed)")


def read_regular(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of a regular file that is not a symbolic link."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            raise BundleError(f"{path.name} is not a regular file of at most {limit} bytes")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(limit + 1)[:limit]
    finally:
        os.close(fd)


def _signature_file(path: Path) -> tuple[str, bytes, bytes]:
    """(station id, key id, signature) from ``manifest.sig``."""
    lines = read_regular(path / SIGNATURE, _MAX_SIGNATURE_FILE).decode("ascii").split()
    if len(lines) != 3 or not valid_identifier(lines[0]):
        raise ValueError("manifest.sig is not station id, key id and signature")
    return lines[0], bytes.fromhex(lines[1]), bytes.fromhex(lines[2])


def open_bundle(path: Path, trusted: KeyLookup | Mapping[str, Any]) -> Bundle:
    """Verify a bundle's manifest signature with the station's enrolled key, then read it.

    ``trusted`` finds the key by station id and key id (or maps station id to its key).
    Raises :class:`BundleError` for anything that is not a bundle this station signed.
    """
    lookup = keys_by_station(trusted) if isinstance(trusted, Mapping) else trusted
    try:
        real_directory(path)
        station_id, station_key_id, signature = _signature_file(path)
        manifest_bytes = read_regular(path / MANIFEST, MAX_MANIFEST_BYTES)
    except (OSError, ValueError, BundleError) as exc:
        raise BundleError(f"{path} is not a readable bundle: {exc}") from exc
    key = lookup(station_id, station_key_id)
    if key is None:
        raise BundleError(
            f"bundle from unknown station {station_id!r} (key {station_key_id.hex()})"
        )
    if not signature_valid(key, signature, manifest_bytes):
        raise BundleError("the bundle's manifest signature does not verify")
    try:
        return _parse_manifest(path, manifest_bytes, station_id)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        raise BundleError(f"{path}: the signed manifest is unreadable: {exc!r}") from exc


def _parse_manifest(path: Path, manifest_bytes: bytes, station_id: str) -> Bundle:
    manifest = json.loads(manifest_bytes)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{path} is not a {FORMAT} bundle")
    if manifest.get("station_id") != station_id:
        raise BundleError("the manifest names another station than its signature")
    entries = []
    for item in manifest.get("records", []):
        record_id = str(item.get("record_id", ""))
        if not valid_identifier(record_id):
            raise BundleError(f"invalid record id {record_id!r} in the manifest")
        size = int(item["size"])
        if not 0 < size <= MAX_PACKAGE_BYTES:
            raise BundleError(f"record {record_id} has an impossible size {size}")
        entries.append(BundleEntry(record_id, str(item["sha256"]), size))
    return Bundle(
        path,
        station_id,
        str(manifest.get("created_at", "")),
        tuple(entries),
        hashlib.sha256(manifest_bytes).hexdigest(),
    )
