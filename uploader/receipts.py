"""Signed receipts: the centre's answers about a record, signed so a kit acts only on the centre.

Every answer the centre gives about one record (an upload's outcome, a status) carries a
receipt next to its plain JSON fields::

    "receipt": {"payload": base64(canonical JSON), "signature": base64(Ed25519), "key_id": hex}

    payload = {"format": "rekam.receipt", "version": 1, "record_id", "sha256" (the package the
               answer is about), "http_status", "code", "status", "detail", "issued_at" (ISO
               8601, UTC), "nonce" (echoed from the kit's X-Rekam-Nonce request header),
               and the optional fields below}

Optional fields (``OPTIONAL_FIELDS``: "duplicate_of", "duplicate_of_nik", with
DUPLICATE_RECORD the earlier record deduplication matched and its NIK) are signed only when set,
and only for a kit that names them in its request's ``X-Rekam-Receipt-Fields`` header: a kit
that predates them never receives a field it cannot read, and still verifies every answer.

The signature is Ed25519 over ``b"rekam receipt v1\\x00" + payload`` with the centre's receipt
key, whose public key every kit pins (``[centre] receipt_key``). A kit reads the decision from
the verified payload only, after checking that it names the record, the package hash and the
nonce it asked with: a fake centre, a captive portal or a replayed answer cannot move a record,
and above all cannot make a kit purge its copy.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from uploader.keys import key_id

FORMAT = "rekam.receipt"
VERSION = 1
NONCE_HEADER = "X-Rekam-Nonce"
# The optional receipt fields a kit reads, named in this request header (comma-separated).
FIELDS_HEADER = "X-Rekam-Receipt-Fields"
OPTIONAL_FIELDS = ("duplicate_of", "duplicate_of_nik")
_CONTEXT = b"rekam receipt v1\x00"
_MAX_PAYLOAD = 16 * 1024


class ReceiptInvalid(Exception):
    """An answer without a receipt, or one that does not verify or names another record,
    package or request: the kit treats it as a network fault, never as a decision."""


@dataclass(frozen=True)
class Receipt:
    """The verified content of a receipt: what the centre said about one package."""

    record_id: str
    sha256: str
    http_status: int
    code: str
    status: str
    detail: str
    issued_at: str
    nonce: str
    # With DUPLICATE_RECORD: the earlier record the centre matched, and that record's NIK.
    duplicate_of: str = ""
    duplicate_of_nik: str = ""


def new_nonce() -> str:
    """A fresh request nonce (128 random bits, hex)."""
    return os.urandom(16).hex()


def _canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def for_kit(answer: dict[str, Any], fields_header: str) -> dict[str, Any]:
    """``answer`` (or a batch entry) as a kit that sent ``fields_header`` may receive it: the
    optional fields only when set and named in the header."""
    named = {name.strip() for name in fields_header.split(",")}
    return {
        key: value
        for key, value in answer.items()
        if key not in OPTIONAL_FIELDS or (value and key in named)
    }


def sign_receipt(key: Ed25519PrivateKey, receipt: Receipt) -> dict[str, str]:
    """The ``receipt`` member of an answer: ``receipt`` signed with the centre's key (its
    optional fields only when set)."""
    fields = {k: v for k, v in asdict(receipt).items() if k not in OPTIONAL_FIELDS or v}
    payload = _canonical({"format": FORMAT, "version": VERSION, **fields})
    return {
        "payload": base64.b64encode(payload).decode(),
        "signature": base64.b64encode(key.sign(_CONTEXT + payload)).decode(),
        "key_id": key_id(key.public_key()).hex(),
    }


def issue(
    key: Ed25519PrivateKey,
    record_id: str,
    sha256: str,
    http_status: int,
    answer: dict[str, Any],
    nonce: str,
) -> dict[str, str]:
    """Sign the centre's ``answer`` (its ``code``, ``status`` and ``detail``/``message``)."""
    return sign_receipt(
        key,
        Receipt(
            record_id=record_id,
            sha256=sha256,
            http_status=http_status,
            code=str(answer.get("code", "")),
            status=str(answer.get("status", "")),
            detail=str(answer.get("detail", answer.get("message", ""))),
            issued_at=datetime.now(UTC).isoformat(),
            nonce=nonce,
            duplicate_of=str(answer.get("duplicate_of", "")),
            duplicate_of_nik=str(answer.get("duplicate_of_nik", "")),
        ),
    )


def _decode(value: Any, what: str, limit: int = _MAX_PAYLOAD) -> bytes:
    if not isinstance(value, str) or len(value) > 2 * limit:
        raise ReceiptInvalid(f"receipt {what} is missing or too long")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ReceiptInvalid(f"receipt {what} is not base64") from exc


def verify_receipt(
    body: Any, key: Ed25519PublicKey, record_id: str, sha256: str, nonce: str
) -> Receipt:
    """The verified receipt in the answer ``body`` (parsed JSON) about ``record_id`` with
    package hash ``sha256``, asked with ``nonce``; raises :class:`ReceiptInvalid`."""
    member = body.get("receipt") if isinstance(body, dict) else None
    if not isinstance(member, dict):
        raise ReceiptInvalid("the answer carries no receipt")
    payload = _decode(member.get("payload"), "payload")
    signature = _decode(member.get("signature"), "signature")
    try:
        key.verify(signature, _CONTEXT + payload)
    except InvalidSignature as exc:
        raise ReceiptInvalid("the receipt is not signed by the pinned centre key") from exc
    try:
        fields = json.loads(payload)
        if fields.pop("format") != FORMAT or fields.pop("version") != VERSION:
            raise ReceiptInvalid("the receipt's format is not rekam.receipt v1")
        receipt = Receipt(**fields)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ReceiptInvalid(f"the receipt's payload is unreadable: {exc}") from exc
    expected = {"record_id": record_id, "sha256": sha256, "nonce": nonce}
    for name, value in expected.items():
        if getattr(receipt, name) != value:
            raise ReceiptInvalid(f"the receipt is for another {name.replace('_', ' ')}")
    return receipt


# -- batch receipts: one signature over the centre's answer about many records ---------------

BATCH_FORMAT = "rekam.batch-receipt"
_BATCH_CONTEXT = b"rekam batch receipt v1\x00"
MAX_BATCH_ENTRIES = 500
_MAX_BATCH_PAYLOAD = MAX_BATCH_ENTRIES * 2 * 1024


@dataclass(frozen=True)
class BatchReceipt:
    """The verified content of a batch receipt: one entry per record (each a :class:`Receipt`
    carrying the batch's nonce and time) and the centre's change-feed cursor after them."""

    entries: tuple[Receipt, ...]
    cursor: str
    nonce: str
    issued_at: str


def sign_batch(
    key: Ed25519PrivateKey, entries: list[dict[str, Any]], cursor: str, nonce: str
) -> dict[str, str]:
    """The ``receipt`` member of a batch answer. Each entry names ``record_id``, ``sha256``,
    ``http_status``, ``code``, ``status`` and ``detail``."""
    payload = _canonical(
        {
            "format": BATCH_FORMAT,
            "version": VERSION,
            "entries": entries,
            "cursor": cursor,
            "nonce": nonce,
            "issued_at": datetime.now(UTC).isoformat(),
        }
    )
    return {
        "payload": base64.b64encode(payload).decode(),
        "signature": base64.b64encode(key.sign(_BATCH_CONTEXT + payload)).decode(),
        "key_id": key_id(key.public_key()).hex(),
    }


def verify_batch(body: Any, key: Ed25519PublicKey, nonce: str) -> BatchReceipt:
    """The verified batch receipt in the answer ``body`` (parsed JSON) to a request asked with
    ``nonce``; raises :class:`ReceiptInvalid`. The caller still checks that each entry is about
    a record and package it asked about."""
    member = body.get("receipt") if isinstance(body, dict) else None
    if not isinstance(member, dict):
        raise ReceiptInvalid("the answer carries no receipt")
    payload = _decode(member.get("payload"), "payload", _MAX_BATCH_PAYLOAD)
    signature = _decode(member.get("signature"), "signature")
    try:
        key.verify(signature, _BATCH_CONTEXT + payload)
    except InvalidSignature as exc:
        raise ReceiptInvalid("the receipt is not signed by the pinned centre key") from exc
    try:
        fields = json.loads(payload)
        if fields["format"] != BATCH_FORMAT or fields["version"] != VERSION:
            raise ReceiptInvalid("the receipt's format is not rekam.batch-receipt v1")
        batch = BatchReceipt(
            entries=tuple(
                Receipt(**entry, issued_at=str(fields["issued_at"]), nonce=str(fields["nonce"]))
                for entry in fields["entries"][:MAX_BATCH_ENTRIES]
            ),
            cursor=str(fields["cursor"]),
            nonce=str(fields["nonce"]),
            issued_at=str(fields["issued_at"]),
        )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ReceiptInvalid(f"the receipt's payload is unreadable: {exc}") from exc
    if batch.nonce != nonce:
        raise ReceiptInvalid("the receipt is for another nonce")
    return batch

