"""The centre's signed receipt for a USB bundle, and how it settles records on the kit.

After importing a bundle the centre writes ``receipt.json`` into the bundle's folder on the
drive. Like the receipts of the HTTP API (``uploader.receipts``) it is an envelope::

    {"payload": base64(P), "signature": base64(Ed25519(b"rekam bundle receipt v1\\x00" + P)),
     "key_id": hex}
    P = canonical JSON: {"format": "rekam.bundle-receipt", "version": 1, "bundle" (the bundle
        folder's name), "station_id", "manifest_sha256", "issued_at", "records": [{"record_id",
        "sha256" (the package in the bundle), "outcome" (ACCEPTED, DUPLICATE, DAMAGED),
        "reason" (why damaged), "status" (the record's status at the centre, or "")}]}

signed with the centre's receipt key, the one every kit pins (``[centre] receipt_key``). The
drive is untrusted: the file is read without following links and bounded in size, and the
payload is parsed only after its signature verifies. The kit then acts only on entries that
name one of its own records with the exact package hash it holds: a receipt for another kit,
or for other bytes under the same id, moves nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from domain.files import fsync_dir
from uploader.bundle import MAX_MANIFEST_BYTES, BundleError, read_regular
from uploader.keys import key_id
from uploader.outbox import (
    CENTRE_STATES,
    DELIVERABLE_STATES,
    Cause,
    Outbox,
    OutboxRecord,
    RecordState,
)

FORMAT = "rekam.bundle-receipt"
VERSION = 1
RECEIPT = "receipt.json"
_CONTEXT = b"rekam bundle receipt v1\x00"
# Base64 of a payload one manifest's worth of records long, plus the envelope.
MAX_RECEIPT_BYTES = 2 * MAX_MANIFEST_BYTES


# Centre statuses a receipt may set directly; an enroll failure is left to the status tracker,
# which sends the record again.
_SETTLED_STATES = CENTRE_STATES - {RecordState.ENROLL_FAILURE_AT_CENTRAL}


class ImportOutcome(StrEnum):
    """What the centre did with one record of a bundle."""

    ACCEPTED = "ACCEPTED"  # new at the centre
    DUPLICATE = "DUPLICATE"  # the centre already held these exact bytes
    DAMAGED = "DAMAGED"  # not imported; ``reason`` says why


@dataclass(frozen=True)
class ReceiptEntry:
    """The centre's word on one record of the bundle."""

    record_id: str
    sha256: str
    outcome: str
    reason: str = ""
    status: str = ""


@dataclass(frozen=True)
class BundleReceipt:
    """A verified receipt for one bundle."""

    bundle: str
    station_id: str
    manifest_sha256: str
    issued_at: str
    records: tuple[ReceiptEntry, ...]


def _canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def receipt_bytes(key: Ed25519PrivateKey, receipt: BundleReceipt) -> bytes:
    """The ``receipt.json`` file of ``receipt``, signed with the centre's receipt key."""
    fields = asdict(receipt)
    fields["records"] = [asdict(entry) for entry in receipt.records]
    payload = _canonical({"format": FORMAT, "version": VERSION, **fields})
    envelope = {
        "payload": base64.b64encode(payload).decode(),
        "signature": base64.b64encode(key.sign(_CONTEXT + payload)).decode(),
        "key_id": key_id(key.public_key()).hex(),
    }
    return json.dumps(envelope, indent=1).encode()


def write_receipt(bundle_path: Path, key: Ed25519PrivateKey, receipt: BundleReceipt) -> Path:
    """Write ``receipt.json`` into the bundle's folder on the drive: a new temporary file with
    an unguessable name (``O_EXCL | O_NOFOLLOW``), fsynced, renamed over the old name (a link
    planted there is replaced, never followed), and the folder fsynced."""
    path = bundle_path / RECEIPT
    temporary = bundle_path / f".{RECEIPT}.{secrets.token_hex(8)}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(receipt_bytes(key, receipt))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_dir(bundle_path)
    return path


def _decoded(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise BundleError(f"the receipt's {what} is missing")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BundleError(f"the receipt's {what} is not base64") from exc


def read_receipt(folder: Path, key: Ed25519PublicKey) -> BundleReceipt:
    """The verified ``receipt.json`` of a bundle folder the caller has checked (the kit opens
    it with ``station.export_paths``, which follows no link on the way).

    Raises :class:`BundleError` when there is none, it is a link or not a regular file, it is
    larger than any receipt can be, or its signature is not the pinned centre key's.
    """
    try:
        raw = read_regular(folder / RECEIPT, MAX_RECEIPT_BYTES)
        envelope = json.loads(raw)
    except (OSError, ValueError, RecursionError) as exc:
        raise BundleError(f"no readable {RECEIPT}: {exc}") from exc
    if not isinstance(envelope, dict):
        raise BundleError(f"{RECEIPT} is not a receipt envelope")
    payload = _decoded(envelope.get("payload"), "payload")
    signature = _decoded(envelope.get("signature"), "signature")
    try:
        key.verify(signature, _CONTEXT + payload)
    except InvalidSignature as exc:
        raise BundleError(f"{RECEIPT} is not signed by the pinned centre key") from exc
    try:
        return _parse(payload)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        raise BundleError(f"the signed {RECEIPT} is unreadable: {exc!r}") from exc


def _parse(payload: bytes) -> BundleReceipt:
    fields = json.loads(payload)
    if fields.pop("format") != FORMAT or fields.pop("version") != VERSION:
        raise ValueError(f"not a {FORMAT} v{VERSION}")
    entries = tuple(ReceiptEntry(**entry) for entry in fields.pop("records"))
    for entry in entries:
        ImportOutcome(entry.outcome)
    return BundleReceipt(records=entries, **fields)


@dataclass(frozen=True)
class Settlement:
    """What the kit did with one receipt entry; ``applied`` is False when it did nothing."""

    entry: ReceiptEntry
    state: RecordState | None
    applied: bool


def settle(outbox: Outbox, receipt: BundleReceipt, station_id: str) -> list[Settlement]:
    """Apply a verified receipt to the kit's own records.

    An ACCEPTED or DUPLICATE record the kit still has waiting or carried takes the centre's
    status (RECEIVED_AT_CENTRAL when the receipt names none): it is never uploaded again and the
    status tracker follows it to a decision, after which its package is purged. A DAMAGED
    record that was carried goes back to SEALED, to be sent or exported again. Entries for
    another kit, an unknown record, other bytes, or a record already settled change nothing,
    so bringing the same receipt back twice is harmless.
    """
    if receipt.station_id != station_id:
        raise BundleError(f"the receipt is for station {receipt.station_id!r}, not this kit")
    return [_settle_one(outbox, entry, receipt.bundle) for entry in receipt.records]


def _settle_one(outbox: Outbox, entry: ReceiptEntry, bundle: str) -> Settlement:
    record = outbox.get(entry.record_id)
    if record is None or record.sha256 != entry.sha256:
        return Settlement(entry, record.state if record else None, False)
    target = _target_state(record, entry)
    if target is None:
        return Settlement(entry, record.state, False)
    detail = f"receipt of bundle {bundle}: {entry.outcome.lower()}"
    if entry.reason:
        detail += f" ({entry.reason})"
    facts = {"bundle": bundle, "outcome": entry.outcome, "reason": entry.reason}
    updated = outbox.set_status(
        entry.record_id, target, detail, cause=Cause.RECEIPT_SETTLED, facts=facts
    )
    return Settlement(entry, updated.state, True)


def _target_state(record: OutboxRecord, entry: ReceiptEntry) -> RecordState | None:
    if entry.outcome == ImportOutcome.DAMAGED:
        return RecordState.SEALED if record.state is RecordState.CARRIED else None
    if record.state not in DELIVERABLE_STATES:
        return None
    try:
        reported = RecordState(entry.status)
    except ValueError:
        reported = RecordState.RECEIVED_AT_CENTRAL
    return reported if reported in _SETTLED_STATES else RecordState.RECEIVED_AT_CENTRAL


def summary(settlements: Iterable[Settlement]) -> dict[str, int]:
    """How many records were settled, returned to SEALED, or left as they were."""
    counts = {"settled": 0, "returned": 0, "ignored": 0}
    for item in settlements:
        if not item.applied:
            counts["ignored"] += 1
        elif item.state is RecordState.SEALED:
            counts["returned"] += 1
        else:
            counts["settled"] += 1
    return counts
