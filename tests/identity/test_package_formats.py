"""Package versions 1 and 2, checked against encoders and decoders written from docs/record.md
with plain cryptography primitives, not with uploader.package's own code."""

from __future__ import annotations

import hashlib
import json
import os
import struct
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import hashes, hpke, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from identity_material import NIK, record

from station.commands.inspect import inspect_package
from uploader import errors
from uploader.keys import (
    CENTRE_PRIVATE_FILE,
    ECDSA_P256_SHA256,
    CentreKeys,
    StationKeyring,
    StationKeys,
    key_id,
    load_centre_public_key,
)
from uploader.nist import build_transaction
from uploader.package import build_manifest, open_package, read_header, seal, verify_package
from uploader.tpm import TpmStationKey

STATION = "KIT-ID-01"


def _v1_package(station: StationKeys, centre_public: X25519PublicKey) -> bytes:
    """A version-1 package exactly as docs/record.md describes it."""
    content = record("REC-V1-1", STATION)
    sealed_at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    transaction, summaries = build_transaction(content)
    centre_raw = centre_public.public_bytes_raw()
    centre_id = hashlib.sha256(centre_raw).digest()[:8]
    manifest = build_manifest(content, transaction, summaries, station.key_id, centre_id, sealed_at)
    manifest_bytes = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    plaintext = (
        struct.pack(">I", len(manifest_bytes))
        + manifest_bytes
        + station.sign(b"rekam manifest v1\x00" + manifest_bytes)
        + transaction
    )
    ephemeral = X25519PrivateKey.generate()
    ephemeral_raw = ephemeral.public_key().public_bytes_raw()
    nonce = os.urandom(12)
    header = (
        struct.pack(">H", len(STATION)) + STATION.encode()
        + struct.pack(">H", 8) + b"REC-V1-1"
        + station.key_id + centre_id + ephemeral_raw + nonce
        + struct.pack(">Q", int(sealed_at.timestamp() * 1000))
    )  # fmt: skip
    aad = b"REKAMPKG" + struct.pack(">HI", 1, len(header)) + header
    aad += struct.pack(">Q", len(plaintext) + 16)
    key = HKDF(
        hashes.SHA256(), 32, None, b"rekam package v1" + ephemeral_raw + centre_raw
    ).derive(ephemeral.exchange(centre_public))
    signed = aad + AESGCM(key).encrypt(nonce, plaintext, aad)
    return signed + station.sign(signed)


def test_a_version_1_package_still_verifies_and_opens() -> None:
    station, centre = StationKeys.generate(), CentreKeys.generate()
    data = _v1_package(station, centre.private_key.x25519.public_key())
    trusted = {STATION: station.public_key}
    assert verify_package(data, trusted).version == 1
    opened = open_package(data, centre.private_key, trusted)
    assert opened.record_id == "REC-V1-1" and opened.manifest["subject"]["nik"] == NIK
    assert open_package(data, centre.private_key.x25519, trusted).record_id == "REC-V1-1"


def test_an_old_centre_key_file_keeps_its_x25519_key_and_gains_ml_kem(tmp_path) -> None:
    station = StationKeys.generate()
    old = X25519PrivateKey.generate()
    (tmp_path / "keys").mkdir(mode=0o700)
    pem = old.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "keys" / CENTRE_PRIVATE_FILE).write_bytes(pem)
    os.chmod(tmp_path / "keys" / CENTRE_PRIVATE_FILE, 0o600)
    v1 = _v1_package(station, old.public_key())
    centre = CentreKeys.load_or_create(tmp_path / "keys", public_path=tmp_path / "centre.pem")
    assert centre.private_key.x25519.public_key() == old.public_key()
    trusted = {STATION: station.public_key}
    assert open_package(v1, centre.private_key, trusted).record_id == "REC-V1-1"
    v2 = seal(record("REC-V2-1", STATION), station, load_centre_public_key(tmp_path / "centre.pem"))
    assert open_package(v2.data, centre.private_key, trusted).header.version == 2


def _parse_v2(data: bytes) -> dict:
    """The version-2 container read field by field as docs/record.md lays it out."""
    assert data[:8] == b"REKAMPKG"
    version, header_len = struct.unpack(">HI", data[8:14])
    header = data[14 : 14 + header_len]
    at = 0
    fields: dict = {"version": version}
    for name in ("station_id", "record_id"):
        (length,) = struct.unpack(">H", header[at : at + 2])
        fields[name] = header[at + 2 : at + 2 + length].decode()
        at += 2 + length
    fields["station_key_id"] = header[at : at + 8]
    fields["signature_algorithm"] = header[at + 8]
    fields["centre_key_id"] = header[at + 9 : at + 17]
    fields["suite"] = struct.unpack(">HHH", header[at + 17 : at + 23])
    (fields["sealed_at_ms"],) = struct.unpack(">Q", header[at + 23 : at + 31])
    assert at + 31 == header_len
    body = 14 + header_len
    (ciphertext_len,) = struct.unpack(">Q", data[body : body + 8])
    fields["before_ciphertext"] = data[: body + 8]
    fields["ciphertext"] = data[body + 8 : body + 8 + ciphertext_len]
    fields["signature"] = data[body + 8 + ciphertext_len :]
    return fields


def test_a_version_2_package_matches_its_documented_layout_and_hpke_suite(tpm, tmp_path) -> None:
    station = TpmStationKey.load_or_create(tpm, tmp_path / "keys")
    centre = CentreKeys.generate()
    sealed = seal(record("REC-V2-1", STATION), station, centre.public_key)
    fields = _parse_v2(sealed.data)
    assert fields["version"] == 2 and fields["record_id"] == "REC-V2-1"
    assert fields["station_key_id"] == key_id(station.public_key)
    assert fields["signature_algorithm"] == 2  # ECDSA P-256 with SHA-256
    assert fields["centre_key_id"] == key_id(centre.public_key)
    assert fields["suite"] == (0x647A, 0x0001, 0x0002)
    assert len(fields["signature"]) == 64
    suite = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
    plaintext = suite.decrypt(
        fields["ciphertext"],
        centre.private_key.hpke_key(),
        info=b"rekam package v2\x00" + fields["before_ciphertext"],
    )
    (manifest_len,) = struct.unpack(">I", plaintext[:4])
    manifest = json.loads(plaintext[4 : 4 + manifest_len])
    assert manifest["subject"]["nik"] == NIK
    opened = open_package(sealed.data, centre.private_key, {STATION: station.public_key})
    assert opened.header.signature_algorithm == ECDSA_P256_SHA256


def test_the_signature_algorithm_cannot_be_swapped(tpm, tmp_path) -> None:
    station = TpmStationKey.load_or_create(tpm, tmp_path / "keys")
    sealed = seal(record("REC-V2-2", STATION), station, CentreKeys.generate().public_key)
    position = 14 + 2 + len(STATION) + 2 + len("REC-V2-2") + 8
    assert sealed.data[position] == 2
    swapped = sealed.data[:position] + b"\x01" + sealed.data[position + 1 :]
    assert read_header(swapped).signature_algorithm == "ed25519"
    with pytest.raises(errors.SignatureInvalid):
        verify_package(swapped, {STATION: station.public_key})


def test_a_version_2_package_does_not_open_with_the_bare_x25519_key() -> None:
    station, centre = StationKeys.generate(), CentreKeys.generate()
    sealed = seal(record("REC-V2-3", STATION), station, centre.public_key)
    with pytest.raises(errors.WrongRecipient):
        open_package(sealed.data, centre.private_key.x25519, {STATION: station.public_key})
    with pytest.raises(errors.WrongRecipient):
        open_package(sealed.data, CentreKeys.generate().private_key, {STATION: station.public_key})


def test_inspect_trusts_a_tpm_station_key_from_its_public_file(tpm, tmp_path) -> None:
    station = TpmStationKey.load_or_create(tpm, tmp_path / "keys")
    ring = StationKeyring.load([tmp_path / "keys"])
    assert ring.get(station.key_id) == station.public_key
    centre = CentreKeys.generate()
    sealed = seal(record("REC-V2-4", STATION), station, centre.public_key)
    summary = inspect_package(sealed.data, ring, centre.private_key)
    assert summary["content"] and summary["version"] == 2
