"""Sealing and opening packages: round trip, exceptions, and every kind of damage."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from sample_records import full_record

from domain.vocabulary import FINGERS
from uploader import errors
from uploader.keys import CentreKeys, StationKeys
from uploader.nist import TransactionError, parse_transaction
from uploader.package import MAGIC, open_package, read_header, seal, verify_package


@pytest.fixture(scope="module")
def station() -> StationKeys:
    return StationKeys.generate()


@pytest.fixture(scope="module")
def centre() -> CentreKeys:
    return CentreKeys.generate()


@pytest.fixture(scope="module")
def record():
    return full_record(amputated=("left_little",), blind=("left_eye",))


@pytest.fixture(scope="module")
def sealed(record, station, centre):
    return seal(record, station, centre.public_key)


def trusted(station: StationKeys) -> dict:
    return {"KIT-01": station.public_key}


def test_round_trip_decodes_every_record(record, sealed, station, centre):
    opened = open_package(sealed.data, centre.private_key, trusted(station))

    assert opened.record_id == "REC-0001" and opened.station_id == "KIT-01"
    originals = {s.position: s for s in record.samples}
    assert set(opened.fingerprints) == set(FINGERS) - {"left_little"}
    for position, image in opened.fingerprints.items():
        original = originals[position].image
        assert image.shape == original.shape and image.dtype == np.uint8
        assert np.abs(image.astype(int) - original).mean() < 6.0  # WSQ is lossy, but close
    assert opened.transaction.finger_exceptions == {"left_little": "amputated"}
    assert opened.transaction.finger_quality["right_index"] == originals["right_index"].quality

    assert opened.face is not None and opened.face.shape == originals["face"].image.shape
    assert np.abs(opened.face.astype(int) - originals["face"].image).mean() < 8.0
    assert set(opened.irises) == {"right_eye"}
    assert np.abs(opened.irises["right_eye"].astype(int) - originals["right_eye"].image).mean() < 8
    assert opened.transaction.eye_exceptions == {"left_eye": "blind"}

    assert len(opened.signature_vectors) == len(record.signature.points)
    pen_up = [
        v
        for v, p in zip(opened.signature_vectors, record.signature.points, strict=True)
        if not p[4]
    ]
    assert pen_up and all(level == 0 for _x, _y, level in pen_up)
    assert all(
        1 <= v[2] <= 254
        for v, p in zip(opened.signature_vectors, record.signature.points, strict=True)
        if p[4]
    )

    assert opened.transaction.type2["nik"] == record.subject.nik
    assert "Siti" not in opened.transaction_bytes.decode("latin-1")  # no name in the package


def test_manifest_is_signed_summary(sealed, station, centre):
    opened = open_package(sealed.data, centre.private_key, trusted(station))
    manifest = opened.manifest
    assert manifest["subject"]["nik"] == "3174010101900001"
    assert manifest["operator"] == "op-siti" and manifest["supervisor"] == "sup-budi"
    assert manifest["transaction"]["size"] == len(opened.transaction_bytes)
    assert {"position": "left_little", "exception": "amputated"} in manifest["exceptions"]
    by_position = {s["position"]: s for s in manifest["samples"]}
    assert by_position["right_thumb"]["encoding"] == "WSQ20"
    assert by_position["face"]["encoding"] == "JP2"
    assert by_position["left_little"]["encoded_bytes"] == 0
    assert manifest["station_key_id"] == station.key_id.hex()
    assert "name" not in manifest["subject"]


def test_sealed_package_hides_the_biometrics(record, sealed):
    assert sealed.data.startswith(MAGIC)
    assert record.subject.nik.encode() not in sealed.data
    assert b"WSQ20" not in sealed.data and b"1.001:" not in sealed.data
    assert sealed.size == len(sealed.data)


def test_verify_without_centre_key(sealed, station):
    header = verify_package(sealed.data, trusted(station))
    assert header.record_id == "REC-0001"
    assert header.station_key_id == station.key_id


def test_flipped_ciphertext_byte_is_signature_invalid(sealed, station, centre):
    damaged = bytearray(sealed.data)
    damaged[len(damaged) // 2] ^= 0x01
    with pytest.raises(errors.SignatureInvalid):
        open_package(bytes(damaged), centre.private_key, trusted(station))
    with pytest.raises(errors.SignatureInvalid):
        verify_package(bytes(damaged), trusted(station))


def test_every_flipped_byte_is_a_package_error(sealed, station, centre):
    header_end = len(MAGIC) + 6 + len(read_header(sealed.data).station_id) + 100
    positions = (
        list(range(header_end))
        + list(range(header_end, len(sealed.data), max(1, len(sealed.data) // 150)))
        + list(range(len(sealed.data) - 64, len(sealed.data)))
    )
    for position in positions:
        damaged = bytearray(sealed.data)
        damaged[position] ^= 0x40
        with pytest.raises(errors.PackageError):
            open_package(bytes(damaged), centre.private_key, trusted(station))


@pytest.mark.parametrize("cut", [0, 5, 12, 40, 200, -1000, -65, -1])
def test_truncated_package(sealed, station, centre, cut):
    data = sealed.data[:cut]
    with pytest.raises(errors.TruncatedPackage if cut > 8 or cut < 0 else errors.PackageError):
        open_package(data, centre.private_key, trusted(station))


def test_trailing_bytes_are_malformed(sealed, station, centre):
    with pytest.raises(errors.MalformedPackage):
        open_package(sealed.data + b"\x00", centre.private_key, trusted(station))


def test_bad_magic_and_version(sealed, station, centre):
    with pytest.raises(errors.NotAPackage):
        open_package(b"PK\x03\x04" + sealed.data[4:], centre.private_key, trusted(station))
    newer = sealed.data[:8] + struct.pack(">H", 3) + sealed.data[10:]
    with pytest.raises(errors.UnsupportedVersion):
        open_package(newer, centre.private_key, trusted(station))


def test_wrong_centre_key(sealed, station):
    other = CentreKeys.generate()
    with pytest.raises(errors.WrongRecipient):
        open_package(sealed.data, other.private_key, trusted(station))


def test_unknown_station_and_rotated_key(sealed, station, centre):
    with pytest.raises(errors.UnknownStation):
        open_package(sealed.data, centre.private_key, {"KIT-99": station.public_key})
    with pytest.raises(errors.UnknownStation):
        verify_package(sealed.data, {"KIT-01": StationKeys.generate().public_key})


def test_invalid_content_is_refused(station, centre):
    bad_id = full_record(record_id="../etc/passwd")
    with pytest.raises(ValueError):
        seal(bad_id, station, centre.public_key)
    bad_image = full_record()
    bad_image.samples[0].image = bad_image.samples[0].image.astype(np.float32)
    with pytest.raises(TransactionError):
        seal(bad_image, station, centre.public_key)


def test_transaction_parser_rejects_garbage():
    with pytest.raises(TransactionError):
        parse_transaction(b"1.001:99\x1d1.002:0400\x1c14.001:garbage")


def test_separator_characters_cannot_reach_the_transaction(station, centre):
    record = full_record()
    record.subject.demographics_ref = "ref\x1d2.999:injected"
    with pytest.raises(TransactionError):
        seal(record, station, centre.public_key)
    record = full_record()
    record.samples[0].image = None
    record.samples[0].exception = "amputated\x1c"
    with pytest.raises(TransactionError):
        seal(record, station, centre.public_key)


def test_cannot_sign_leaves_out_type_8(station, centre):
    record = full_record(record_id="REC-NOSIGN")
    record.signature.exception = "cannot_sign"
    opened = open_package(
        seal(record, station, centre.public_key).data, centre.private_key, trusted(station)
    )
    assert opened.signature_vectors == []
    assert opened.manifest["signature"]["present"] is False
    assert {"position": "signature", "exception": "cannot_sign"} in opened.manifest["exceptions"]


def test_random_mutations_only_raise_package_errors(sealed, station, centre):
    rng = np.random.default_rng(2024)
    for _ in range(200):
        data = bytearray(sealed.data)
        kind = rng.integers(0, 3)
        at = int(rng.integers(0, len(data)))
        if kind == 0:
            data[at : at + 4] = rng.integers(0, 256, 4, dtype=np.uint8).tobytes()
        elif kind == 1:
            del data[at : at + int(rng.integers(1, 64))]
        else:
            data[at:at] = rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
        with pytest.raises(errors.PackageError):
            open_package(bytes(data), centre.private_key, trusted(station))
