"""The sealed package: a signed manifest plus the ANSI/NIST transaction, encrypted for the centre.

Version 2 (sealed today) encrypts with HPKE (RFC 9180, base mode) using the hybrid KEM
MLKEM768-X25519, HKDF-SHA256 and AES-256-GCM, and signs with the station key's own algorithm
(Ed25519, or ECDSA P-256 with SHA-256 from a TPM). Version 1 (X25519 + HKDF + AES-256-GCM, Ed25519
only) is still verified and opened. ``docs/record.md`` gives both formats byte by byte::

    magic "REKAMPKG" | version u16 | header_len u32 | header | ciphertext_len u64 | ciphertext
    | station signature (64 bytes over everything before it)

The plaintext of both is ``manifest_len u32 | manifest JSON | manifest signature (64) |
transaction``, so anyone holding the station's public key can check who sealed the package
(:func:`verify_package`) while only the centre can read it (:func:`open_package`).
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from domain.vocabulary import ExceptionKind
from uploader import errors
from uploader.content import RecordContent
from uploader.keys import (
    ECDSA_P256_SHA256,
    ED25519,
    SIGNATURE_BYTES,
    CentrePrivateKey,
    CentrePublicKey,
    StationPublicKey,
    StationSigner,
    key_id,
    raw_public_bytes,
    signature_algorithm,
    verify_signature,
)
from uploader.nist import DecodedTransaction, TransactionError, build_transaction
from uploader.nist import parse_transaction as _parse_transaction

MAGIC = b"REKAMPKG"
VERSION = 2
READABLE_VERSIONS = (1, 2)
MANIFEST_FORMAT = "rekam.manifest"
_MANIFEST_CONTEXT = b"rekam manifest v1\x00"
_HKDF_INFO = b"rekam package v1"
_HPKE_INFO = b"rekam package v2\x00"
_SIGNATURE_LEN = SIGNATURE_BYTES
# HPKE algorithm identifiers (RFC 9180 section 7; KEM 0x647A from draft-ietf-hpke-pq).
KEM_MLKEM768_X25519 = 0x647A
KDF_HKDF_SHA256 = 0x0001
AEAD_AES_256_GCM = 0x0002
_SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
_HPKE_ENC_LEN = hpke.KEM.MLKEM768_X25519.enc_length()
_AEAD_TAG_LEN = 16
# The signature algorithm byte of a version-2 header.
SIGNATURE_ALGORITHMS = {ED25519: 1, ECDSA_P256_SHA256: 2}
_PREFIX = struct.Struct(">8sHI")
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
MAX_PACKAGE_BYTES = 256 * 1024 * 1024


def valid_identifier(value: str) -> bool:
    """Record and station ids: 1..128 of [A-Za-z0-9._-], not starting with a dot or dash."""
    return bool(_ID_PATTERN.match(value))


@dataclass(frozen=True)
class SealedPackage:
    """A package ready for the outbox: its bytes and their SHA-256 (hex)."""

    record_id: str
    data: bytes
    sha256: str
    size: int


@dataclass(frozen=True)
class PackageHeader:
    """The clear-text header of a package, as read and checked by :func:`verify_package`."""

    version: int
    station_id: str
    record_id: str
    station_key_id: bytes
    centre_key_id: bytes
    ephemeral_public: bytes  # version 1 only (version 2 carries HPKE's enc in the ciphertext)
    nonce: bytes  # version 1 only
    sealed_at_ms: int
    signature_algorithm: str = ED25519
    hpke_suite: tuple[int, int, int] | None = None  # version 2: (KEM, KDF, AEAD) identifiers


@dataclass
class OpenedPackage:
    """A package opened by the centre: verified manifest, transaction bytes, decoded images."""

    header: PackageHeader
    manifest: dict
    transaction_bytes: bytes
    transaction: DecodedTransaction

    @property
    def record_id(self) -> str:
        return self.header.record_id

    @property
    def station_id(self) -> str:
        return self.header.station_id

    @property
    def fingerprints(self) -> dict[str, np.ndarray]:
        return self.transaction.fingerprints

    @property
    def face(self) -> np.ndarray | None:
        return self.transaction.face

    @property
    def irises(self) -> dict[str, np.ndarray]:
        return self.transaction.irises

    @property
    def signature_vectors(self) -> list[tuple[int, int, int]]:
        return self.transaction.signature_vectors


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _canonical_json(value: dict) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def quality_summary(summaries: list) -> dict[str, dict]:
    """Per modality: how many samples carry an image, and their lowest and mean quality.

    Fingerprints measured by NFIQ 2 add ``nfiq2``: how many, their lowest and mean score."""
    scores: dict[str, list[int]] = {}
    nfiq2: list[int] = []
    for summary in summaries:
        if summary.encoding:
            scores.setdefault(summary.modality, []).append(summary.quality)
            if getattr(summary, "nfiq2", None) is not None:
                nfiq2.append(summary.nfiq2)
    out: dict[str, dict] = {
        modality: {
            "captured": len(values),
            "min": min(values),
            "mean": round(sum(values) / len(values), 1),
        }
        for modality, values in sorted(scores.items())
    }
    if nfiq2 and "fingerprint" in out:
        out["fingerprint"]["nfiq2"] = {
            "measured": len(nfiq2),
            "min": min(nfiq2),
            "mean": round(sum(nfiq2) / len(nfiq2), 1),
        }
    return out


def build_manifest(
    content: RecordContent,
    transaction: bytes,
    summaries: list,
    station_key_id: bytes,
    centre_key_id: bytes,
    sealed_at: datetime,
) -> dict:
    """The manifest: who, what, hashes and the quality summary. No images, no name."""
    exceptions = [
        {"position": s.position, "exception": s.exception} for s in summaries if s.exception
    ]
    signature = content.signature
    if signature is not None and signature.exception:
        exceptions.append({"position": "signature", "exception": signature.exception})
    return {
        "format": MANIFEST_FORMAT,
        "version": VERSION,
        "record_id": content.record_id,
        "station_id": content.station_id,
        "operator": content.operator,
        "supervisor": content.supervisor,
        "subject": {
            "nik": content.subject.nik,
            "category": content.subject.category,
            "demographics_ref": content.subject.demographics_ref,
        },
        "transaction": {
            "format": "ANSI/NIST-ITL 1-2011",
            "sha256": hashlib.sha256(transaction).hexdigest(),
            "size": len(transaction),
        },
        "samples": [s.to_dict() for s in summaries],
        "quality": quality_summary(summaries),
        "signature": {
            "present": signature is not None and signature.exception != ExceptionKind.CANNOT_SIGN,
            "points": len(signature.points) if signature else 0,
            "encoding": "Type-8 vector",
            "exception": signature.exception if signature else "missing",
        },
        "exceptions": exceptions,
        "flags": list(content.flags),
        "audit_head": content.audit_head,
        "devices": list(content.devices),
        "started_at": _iso(content.started_at),
        "completed_at": _iso(content.completed_at),
        "sealed_at": sealed_at.isoformat(),
        "station_key_id": station_key_id.hex(),
        "centre_key_id": centre_key_id.hex(),
    }


def _derive_key(shared: bytes, ephemeral_public: bytes, centre_public: bytes) -> bytes:
    """Version 1's AES key: HKDF-SHA256 over the X25519 shared secret."""
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=_HKDF_INFO + ephemeral_public + centre_public,
    )
    return hkdf.derive(shared)


def _encode_header(header: PackageHeader) -> bytes:
    """A version-2 header (version 1 headers are only read)."""
    station = header.station_id.encode("ascii")
    record = header.record_id.encode("ascii")
    assert header.hpke_suite is not None
    return b"".join(
        [
            struct.pack(">H", len(station)),
            station,
            struct.pack(">H", len(record)),
            record,
            header.station_key_id,
            struct.pack(">B", SIGNATURE_ALGORITHMS[header.signature_algorithm]),
            header.centre_key_id,
            struct.pack(">HHH", *header.hpke_suite),
            struct.pack(">Q", header.sealed_at_ms),
        ]
    )


def seal(
    content: RecordContent,
    station_key: StationSigner,
    centre_public_key: CentrePublicKey,
    *,
    sealed_at: datetime | None = None,
) -> SealedPackage:
    """Build, sign and encrypt ``content`` for the centre (a version-2 package)."""
    for label, value in (("record id", content.record_id), ("station id", content.station_id)):
        if not valid_identifier(value):
            raise ValueError(f"invalid {label} {value!r}")
    if not isinstance(centre_public_key, CentrePublicKey):
        raise TypeError("packages are sealed for the centre's hybrid (ML-KEM-768 + X25519) key")
    sealed_at = sealed_at or datetime.now(UTC)
    transaction, summaries = build_transaction(content)
    centre_key_id = key_id(centre_public_key)
    manifest = build_manifest(
        content, transaction, summaries, station_key.key_id, centre_key_id, sealed_at
    )
    manifest_bytes = _canonical_json(manifest)
    manifest_signature = station_key.sign(_MANIFEST_CONTEXT + manifest_bytes)
    plaintext = b"".join(
        [struct.pack(">I", len(manifest_bytes)), manifest_bytes, manifest_signature, transaction]
    )
    header = PackageHeader(
        version=VERSION,
        station_id=content.station_id,
        record_id=content.record_id,
        station_key_id=station_key.key_id,
        centre_key_id=centre_key_id,
        ephemeral_public=b"",
        nonce=b"",
        sealed_at_ms=int(sealed_at.timestamp() * 1000),
        signature_algorithm=station_key.algorithm,
        hpke_suite=(KEM_MLKEM768_X25519, KDF_HKDF_SHA256, AEAD_AES_256_GCM),
    )
    header_bytes = _encode_header(header)
    ciphertext_len = _HPKE_ENC_LEN + len(plaintext) + _AEAD_TAG_LEN
    before_ciphertext = b"".join(
        [
            _PREFIX.pack(MAGIC, VERSION, len(header_bytes)),
            header_bytes,
            struct.pack(">Q", ciphertext_len),
        ]
    )
    ciphertext = _SUITE.encrypt(
        plaintext, centre_public_key.hpke_key(), info=_HPKE_INFO + before_ciphertext
    )
    signed = before_ciphertext + ciphertext
    data = signed + station_key.sign(signed)
    return SealedPackage(
        record_id=content.record_id,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )


@dataclass(frozen=True)
class _Envelope:
    header: PackageHeader
    aad: bytes  # every byte before the ciphertext
    ciphertext: bytes
    signed: bytes
    signature: bytes


class _Reader:
    """Bounds-checked reads that raise TruncatedPackage instead of IndexError."""

    def __init__(self, data: bytes, offset: int, end: int) -> None:
        self.data, self.offset, self.end = data, offset, end

    def take(self, count: int, what: str) -> bytes:
        if self.offset + count > self.end:
            raise errors.TruncatedPackage(f"package ends inside the {what}")
        chunk = self.data[self.offset : self.offset + count]
        self.offset += count
        return chunk

    def number(self, layout: str, what: str) -> int:
        size = struct.calcsize(layout)
        return struct.unpack(layout, self.take(size, what))[0]

    def text(self, what: str) -> str:
        raw = self.take(self.number(">H", what), what)
        try:
            value = raw.decode("ascii")
        except UnicodeDecodeError as exc:
            raise errors.MalformedPackage(f"{what} is not ASCII") from exc
        if not valid_identifier(value):
            raise errors.MalformedPackage(f"{what} {value!r} is not a valid identifier")
        return value


def _read_header_v1(reader: _Reader) -> PackageHeader:
    return PackageHeader(
        version=1,
        station_id=reader.text("station id"),
        record_id=reader.text("record id"),
        station_key_id=reader.take(8, "station key id"),
        centre_key_id=reader.take(8, "centre key id"),
        ephemeral_public=reader.take(32, "ephemeral key"),
        nonce=reader.take(12, "nonce"),
        sealed_at_ms=reader.number(">Q", "seal time"),
    )


def _read_header_v2(reader: _Reader) -> PackageHeader:
    station_id = reader.text("station id")
    record_id = reader.text("record id")
    station_key_id = reader.take(8, "station key id")
    algorithm_code = reader.number(">B", "signature algorithm")
    algorithm = next((n for n, c in SIGNATURE_ALGORITHMS.items() if c == algorithm_code), None)
    if algorithm is None:
        raise errors.MalformedPackage(f"unknown signature algorithm {algorithm_code}")
    centre_key_id = reader.take(8, "centre key id")
    suite = tuple(reader.number(">H", "HPKE suite") for _ in range(3))
    if suite != (KEM_MLKEM768_X25519, KDF_HKDF_SHA256, AEAD_AES_256_GCM):
        raise errors.MalformedPackage(
            "unsupported HPKE suite (KEM, KDF, AEAD) = " + ", ".join(f"0x{i:04x}" for i in suite)
        )
    return PackageHeader(
        version=2,
        station_id=station_id,
        record_id=record_id,
        station_key_id=station_key_id,
        centre_key_id=centre_key_id,
        ephemeral_public=b"",
        nonce=b"",
        sealed_at_ms=reader.number(">Q", "seal time"),
        signature_algorithm=algorithm,
        hpke_suite=suite,  # type: ignore[arg-type]
    )


_HEADER_READERS = {1: _read_header_v1, 2: _read_header_v2}


def _read_envelope(data: bytes) -> _Envelope:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise errors.NotAPackage("package must be bytes")
    data = bytes(data)
    if len(data) > MAX_PACKAGE_BYTES:
        raise errors.MalformedPackage(f"package of {len(data)} bytes exceeds the size limit")
    if not data.startswith(MAGIC[: len(data)]) or not data:
        raise errors.NotAPackage("bad magic: not a Rekam package")
    if len(data) < len(MAGIC):
        raise errors.TruncatedPackage("package ends inside the magic")
    if len(data) < _PREFIX.size:
        raise errors.TruncatedPackage("package ends inside the prefix")
    _magic, version, header_len = _PREFIX.unpack_from(data, 0)
    if version not in _HEADER_READERS:
        raise errors.UnsupportedVersion(
            f"package version {version}, this reader knows {', '.join(map(str, READABLE_VERSIONS))}"
        )
    header_end = _PREFIX.size + header_len
    if header_end > len(data):
        raise errors.TruncatedPackage("package ends inside the header")
    reader = _Reader(data, _PREFIX.size, header_end)
    header = _HEADER_READERS[version](reader)
    if reader.offset != header_end:
        raise errors.MalformedPackage("header length does not match its fields")
    body = _Reader(data, header_end, len(data))
    ciphertext_len = body.number(">Q", "ciphertext length")
    aad_end = body.offset
    ciphertext = body.take(ciphertext_len, "ciphertext")
    signed_end = body.offset
    signature = body.take(_SIGNATURE_LEN, "signature")
    if body.offset != len(data):
        raise errors.MalformedPackage(f"{len(data) - body.offset} unexpected bytes after signature")
    return _Envelope(header, data[:aad_end], ciphertext, data[:signed_end], signature)


def _check_station(
    envelope: _Envelope, trusted_stations: dict[str, StationPublicKey]
) -> StationPublicKey:
    header = envelope.header
    station_key = trusted_stations.get(header.station_id)
    if station_key is None:
        raise errors.UnknownStation(f"station {header.station_id!r} is not provisioned")
    if key_id(station_key) != header.station_key_id:
        raise errors.UnknownStation(
            f"station {header.station_id!r} signed with key {header.station_key_id.hex()}, "
            f"provisioned key is {key_id(station_key).hex()}"
        )
    if signature_algorithm(station_key) != header.signature_algorithm:
        raise errors.SignatureInvalid(
            f"the header names {header.signature_algorithm}, "
            f"the station's key signs {signature_algorithm(station_key)}"
        )
    try:
        verify_signature(station_key, envelope.signature, envelope.signed)
    except InvalidSignature as exc:
        raise errors.SignatureInvalid("station signature does not verify") from exc
    return station_key


def read_header(data: bytes) -> PackageHeader:
    """The clear-text header, structurally checked but NOT authenticated."""
    return _read_envelope(data).header


def verify_package(data: bytes, trusted_stations: dict[str, StationPublicKey]) -> PackageHeader:
    """Check the container and the station signature without the centre key."""
    envelope = _read_envelope(data)
    _check_station(envelope, trusted_stations)
    return envelope.header


def open_package(
    data: bytes,
    centre_private_key: CentrePrivateKey | X25519PrivateKey,
    trusted_stations: dict[str, StationPublicKey],
    *,
    decode_images: bool = True,
) -> OpenedPackage:
    """Verify, decrypt and parse a package; raises a :class:`errors.PackageError` subclass.

    ``centre_private_key`` is the centre's hybrid key (opens both versions) or, for version-1
    packages only, its bare X25519 key."""
    envelope = _read_envelope(data)
    station_key = _check_station(envelope, trusted_stations)
    header = envelope.header
    if header.version == 1:
        plaintext = _decrypt_v1(envelope, centre_private_key)
    else:
        plaintext = _decrypt_v2(envelope, centre_private_key)
    manifest, transaction = _split_plaintext(plaintext, station_key)
    _check_manifest(manifest, header, transaction)
    try:
        decoded = _parse_transaction(transaction, decode_images=decode_images)
    except TransactionError as exc:
        raise errors.ContentInvalid(str(exc)) from exc
    if decoded.record_id != header.record_id or decoded.station_id != header.station_id:
        raise errors.ContentInvalid("transaction Type-1 does not match the package header")
    return OpenedPackage(header, manifest, transaction, decoded)


def _check_recipient(header: PackageHeader, centre_public: object) -> None:
    if key_id(centre_public) != header.centre_key_id:  # type: ignore[arg-type]
        raise errors.WrongRecipient(
            f"sealed for centre key {header.centre_key_id.hex()}, "
            f"this centre is {key_id(centre_public).hex()}"  # type: ignore[arg-type]
        )


def _decrypt_v1(envelope: _Envelope, centre_key: CentrePrivateKey | X25519PrivateKey) -> bytes:
    header = envelope.header
    x25519 = centre_key.x25519 if isinstance(centre_key, CentrePrivateKey) else centre_key
    centre_public = x25519.public_key()
    _check_recipient(header, centre_public)
    try:
        ephemeral = X25519PublicKey.from_public_bytes(header.ephemeral_public)
        shared = x25519.exchange(ephemeral)
    except ValueError as exc:
        raise errors.DecryptionFailed(f"bad ephemeral key: {exc}") from exc
    key = _derive_key(shared, header.ephemeral_public, raw_public_bytes(centre_public))
    try:
        return AESGCM(key).decrypt(header.nonce, envelope.ciphertext, envelope.aad)
    except InvalidTag as exc:
        raise errors.DecryptionFailed("ciphertext does not decrypt with this centre key") from exc


def _decrypt_v2(envelope: _Envelope, centre_key: CentrePrivateKey | X25519PrivateKey) -> bytes:
    if not isinstance(centre_key, CentrePrivateKey):
        raise errors.WrongRecipient("a version-2 package opens with the centre's hybrid key")
    _check_recipient(envelope.header, centre_key.public_key())
    try:
        return _SUITE.decrypt(
            envelope.ciphertext, centre_key.hpke_key(), info=_HPKE_INFO + envelope.aad
        )
    except (InvalidTag, ValueError) as exc:
        raise errors.DecryptionFailed("ciphertext does not decrypt with this centre key") from exc


def _split_plaintext(plaintext: bytes, station_key: StationPublicKey) -> tuple[dict, bytes]:
    if len(plaintext) < 4:
        raise errors.ContentInvalid("plaintext too short")
    (manifest_len,) = struct.unpack_from(">I", plaintext, 0)
    manifest_end = 4 + manifest_len
    if manifest_end + _SIGNATURE_LEN > len(plaintext):
        raise errors.ContentInvalid("manifest length exceeds the plaintext")
    manifest_bytes = plaintext[4:manifest_end]
    manifest_signature = plaintext[manifest_end : manifest_end + _SIGNATURE_LEN]
    try:
        verify_signature(station_key, manifest_signature, _MANIFEST_CONTEXT + manifest_bytes)
    except InvalidSignature as exc:
        raise errors.SignatureInvalid("manifest signature does not verify") from exc
    try:
        manifest = json.loads(manifest_bytes)
    except ValueError as exc:
        raise errors.ContentInvalid(f"manifest is not JSON: {exc}") from exc
    if not isinstance(manifest, dict):
        raise errors.ContentInvalid("manifest is not a JSON object")
    return manifest, plaintext[manifest_end + _SIGNATURE_LEN :]


def _check_manifest(manifest: dict, header: PackageHeader, transaction: bytes) -> None:
    if manifest.get("format") != MANIFEST_FORMAT:
        raise errors.ContentInvalid("manifest format is not recognised")
    if manifest.get("record_id") != header.record_id:
        raise errors.ContentInvalid("manifest record id does not match the header")
    if manifest.get("station_id") != header.station_id:
        raise errors.ContentInvalid("manifest station id does not match the header")
    expected = manifest.get("transaction", {})
    if expected.get("size") != len(transaction):
        raise errors.ContentInvalid("transaction size does not match the manifest")
    if expected.get("sha256") != hashlib.sha256(transaction).hexdigest():
        raise errors.ContentInvalid("transaction hash does not match the manifest")
