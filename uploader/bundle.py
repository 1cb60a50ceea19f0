"""USB export bundles: sealed packages carried to the centre on a flash disk.

A bundle is one directory (``rekam-<station>-<UTC time>/`` from an export, ``rekam-<station>-
<record_id>/`` from the ``bundle`` sink) holding ``packages/<record_id>.pkg``,
``manifest.json`` (format, station, creation time, and every record's id, SHA-256 and size) and
``manifest.sig`` (the station's signature over the manifest bytes, hex). It is written
under a temporary name, every file fsynced, then renamed into place: a bundle that exists is
complete. The packages stay sealed (signed and encrypted for the centre), so a lost flash disk
reveals nothing; the signed manifest lets the centre refuse a tampered or foreign bundle.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature

from domain.files import fsync_dir, write_durably
from uploader.keys import StationPublicKey, StationSigner, verify_signature
from uploader.outbox import Outbox
from uploader.package import valid_identifier

FORMAT = "rekam-bundle/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PACKAGES = "packages"


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

    def package_path(self, record_id: str) -> Path:
        return self.path / PACKAGES / f"{record_id}.pkg"

    def read_package(self, entry: BundleEntry) -> bytes:
        """The package bytes, checked against the manifest's size and SHA-256."""
        try:
            data = self.package_path(entry.record_id).read_bytes()
        except OSError as exc:
            raise BundleError(f"package {entry.record_id} is missing from the bundle") from exc
        if len(data) != entry.size or hashlib.sha256(data).hexdigest() != entry.sha256:
            raise BundleError(f"package {entry.record_id} does not match the manifest")
        return data


def export_bundle(
    outbox: Outbox,
    record_ids: list[str],
    destination: Path,
    station_id: str,
    keys: StationSigner,
    *,
    now: datetime | None = None,
) -> tuple[Path, list[str]]:
    """Write the packages of ``record_ids`` into a signed bundle under ``destination``.

    Returns the bundle's path and the records it holds. Raises :class:`BundleError` when the
    destination is not a writable directory, and the outbox's errors for unknown or purged
    records. The records stay in the outbox: delivering them later is idempotent.
    """
    now = now or datetime.now(UTC)
    packages = ((record_id, outbox.read_package(record_id)) for record_id in record_ids)
    name = f"rekam-{station_id}-{now:%Y%m%dT%H%M%S%fZ}"
    path = write_bundle(destination, name, station_id, keys, packages, now=now)
    return path, list(record_ids)


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
    if not destination.is_dir():
        raise BundleError(f"{destination} is not a directory")
    now = now or datetime.now(UTC)
    final = destination / name
    staging = destination / f".{name}.partial"
    entries = []
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
        write_durably(staging / SIGNATURE, keys.sign(manifest).hex().encode())
        write_durably(staging / MANIFEST, manifest)
        os.replace(staging, final)
        fsync_dir(destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def open_bundle(path: Path, trusted_stations: dict[str, StationPublicKey]) -> Bundle:
    """Read a bundle's manifest and verify its signature with the station's key."""
    try:
        manifest_bytes = (path / MANIFEST).read_bytes()
        signature = bytes.fromhex((path / SIGNATURE).read_text().strip())
        manifest = json.loads(manifest_bytes)
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path} is not a readable bundle: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{path} is not a {FORMAT} bundle")
    station_id = str(manifest.get("station_id", ""))
    key = trusted_stations.get(station_id)
    if key is None:
        raise BundleError(f"bundle from unknown station {station_id!r}")
    try:
        verify_signature(key, signature, manifest_bytes)
    except InvalidSignature as exc:
        raise BundleError("the bundle's manifest signature does not verify") from exc
    entries = []
    for item in manifest.get("records", []):
        record_id = str(item.get("record_id", ""))
        if not valid_identifier(record_id):
            raise BundleError(f"invalid record id {record_id!r} in the manifest")
        entries.append(BundleEntry(record_id, str(item["sha256"]), int(item["size"])))
    return Bundle(path, station_id, str(manifest.get("created_at", "")), tuple(entries))
