"""The transaction field by field: build it, parse it back with nistitl, check every field of
every record, decode every image against its original, and tie the manifest's hashes to it."""

from __future__ import annotations

import base64
import hashlib
import warnings
from datetime import UTC, datetime

import imagecodecs
import numpy as np
import pytest
from sample_records import full_record

from domain.vocabulary import FINGERS, finger_at
from uploader.keys import CentreKeys, StationKeys
from uploader.nist import build_transaction, decode_wsq, parse_transaction, signature_vectors
from uploader.package import open_package, seal

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import nistitl

DAY = "20240501"
# Worst acceptable peak signal-to-noise ratio after each codec, in dB.
MIN_PSNR = {"WSQ20": 30.0, "JP2 face": 30.0, "JP2 iris": 30.0}


def psnr(decoded: np.ndarray, original: np.ndarray) -> float:
    error = np.mean((decoded.astype(np.float64) - original.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else 10 * np.log10(255.0**2 / error)


@pytest.fixture(scope="module")
def record():
    content = full_record(amputated=("left_little",), blind=("left_eye",))
    by_position = {s.position: s for s in content.samples}
    by_position["right_little"].image = None
    by_position["right_little"].exception = "unusable"
    by_position["left_ring"].exception = "worn"  # kept with its best image
    return content


@pytest.fixture(scope="module")
def built(record):
    data, summaries = build_transaction(record)
    message = nistitl.Message()
    message.parse(data)
    return data, summaries, list(message)


def fields(record) -> dict[int, object]:
    """A parsed ASCII record's fields by tag number (binary values as bytes)."""
    return {f.tag: f.value for f in record._fields}


def test_record_types_in_order(built):
    _, _, records = built
    assert [r.type for r in records] == [1, 2] + [14] * 10 + [10, 17, 17, 8]
    contents = fields(records[0])[3]
    assert contents[0] == ["1", str(len(records) - 1)]
    assert [c[0] for c in contents[1:]] == [str(r.type) for r in records[1:]]
    assert [int(c[1]) for c in contents[1:]] == list(range(len(records) - 1))  # IDC 0, 1, ...


def test_type1_and_type2_fields(built, record):
    _, _, records = built
    type1 = fields(records[0])
    assert {k: v for k, v in type1.items() if k not in (1, 3)} == {
        2: "0400",
        4: "KTPEL",
        5: DAY,
        7: "KTPEL-PUSAT",
        8: "KIT-01",
        9: "REC-0001",
        11: "19.69",
        12: "19.69",
        13: [["REKAM", "1.0"]],
        14: "20240501090600Z",
    }
    type2 = fields(records[1])
    assert {k: v for k, v in type2.items() if k != 1} == {
        2: 0,
        10: record.subject.nik,
        11: record.subject.demographics_ref,
        12: "regular",
        13: "19900101",
    }
    assert type2[1] == len(records[1].NIST)  # 2.001 LEN is the record's length


def test_type14_fields_for_every_finger(built, record):
    _, _, records = built
    originals = {s.position: s for s in record.samples}
    prints = {int(fields(r)[13]): fields(r) for r in records if r.type == 14}
    assert sorted(prints) == list(range(1, 11))
    for name, code in ((f, f.finger_code) for f in FINGERS):
        found, sample = prints[code], originals[name]
        common = {3: "0", 4: "KIT-01", 5: DAY, 13: str(code)}
        assert {k: found[k] for k in common} == common
        if sample.image is None:
            expected_amp = {"amputated": "XX", "unusable": "UP"}[sample.exception]
            assert found[18] == [[str(code), expected_amp]]
            assert found[20] == sample.exception
            assert 999 not in found and 24 not in found
            continue
        assert {k: found[k] for k in (6, 7, 8, 9, 10, 11, 12)} == {
            6: "256",
            7: "288",
            8: "1",
            9: "500",
            10: "500",
            11: "WSQ20",
            12: "8",
        }
        assert found[24] == [[str(code), str(sample.quality), "0000", "1"]]
        assert 18 not in found
        assert found.get(20) == (sample.exception or None)
        decoded = decode_wsq(bytes(found[999]))
        assert decoded.shape == sample.image.shape
        assert psnr(decoded, sample.image) >= MIN_PSNR["WSQ20"]


def test_type10_face_fields_and_image(built, record):
    _, _, records = built
    face = next(s for s in record.samples if s.position == "face")
    found = fields(next(r for r in records if r.type == 10))
    height, width = face.image.shape[:2]
    assert {k: v for k, v in found.items() if k not in (1, 2, 999)} == {
        3: "FACE",
        4: "KIT-01",
        5: DAY,
        6: str(width),
        7: str(height),
        8: "0",
        9: "1",
        10: "1",
        11: "JP2",
        12: "SRGB",
        13: "14",
        20: "F",
        24: [[str(face.quality), "0000", "1"]],
    }
    rgb = imagecodecs.jpeg2k_decode(bytes(found[999]))
    assert rgb.shape == face.image.shape
    assert psnr(rgb[:, :, ::-1], face.image) >= MIN_PSNR["JP2 face"]


def test_type17_iris_fields_image_and_exception(built, record):
    _, _, records = built
    eyes = {fields(r)[3]: fields(r) for r in records if r.type == 17}
    right = next(s for s in record.samples if s.position == "right_eye")
    found = eyes["1"]
    assert {k: v for k, v in found.items() if k not in (1, 2, 999)} == {
        3: "1",
        4: "KIT-01",
        5: DAY,
        6: "640",
        7: "480",
        8: "0",
        9: "1",
        10: "1",
        11: "JP2",
        12: "8",
        13: "GRAY",
        24: [[str(right.quality), "0000", "1"]],
    }
    grey = imagecodecs.jpeg2k_decode(bytes(found[999]))
    assert grey.shape == right.image.shape
    assert psnr(grey, right.image) >= MIN_PSNR["JP2 iris"]
    blind = eyes["2"]
    assert {k: v for k, v in blind.items() if k not in (1, 2)} == {
        3: "2",
        4: "KIT-01",
        5: DAY,
        21: "blind",
        28: "UC",
    }


def test_type8_signature_vectors_are_exact(built, record):
    _, _, records = built
    body = bytes(next(r for r in records if r.type == 8).value)
    assert body[:7] == b"\x00\x02\x00\x00\x00\x00\x00"  # subject's signature, vector data
    assert body[-5:] == b"\x00\x00\x00\x00\xff"  # end of the vector list
    decoded = parse_transaction(built[0]).signature_vectors
    assert decoded == signature_vectors(record)
    assert len(decoded) == len(record.signature.points)


def test_missing_eye_is_coded_ma(record):
    content = full_record(blind=("left_eye",))
    next(s for s in content.samples if s.position == "left_eye").exception = "eye_absent"
    data, _ = build_transaction(content)
    assert parse_transaction(data).eye_exceptions == {"left_eye": "eye_absent"}
    message = nistitl.Message()
    message.parse(data)
    left = next(r for r in message if r.type == 17 and fields(r)[3] == "2")
    assert fields(left)[28] == "MA"


def test_manifest_hashes_and_sizes_match_the_transaction(record):
    station, centre = StationKeys.generate(), CentreKeys.generate()
    sealed = seal(
        record, station, centre.public_key, sealed_at=datetime(2024, 5, 1, 9, 7, tzinfo=UTC)
    )
    opened = open_package(sealed.data, centre.private_key, {"KIT-01": station.public_key})
    message = nistitl.Message()
    message.parse(opened.transaction_bytes)
    images = {}
    for r in message:
        found = fields(r) if r.type != 8 else {}
        if 999 not in found:
            continue
        if r.type == 14:
            position = finger_at(int(found[13]))
        elif r.type == 10:
            position = "face"
        else:
            position = "right_eye" if found[3] == "1" else "left_eye"
        images[position] = bytes(found[999])
    manifest = opened.manifest
    assert manifest["transaction"]["sha256"] == hashlib.sha256(opened.transaction_bytes).hexdigest()
    for sample in manifest["samples"]:
        data = images.get(sample["position"], b"")
        assert sample["encoded_bytes"] == len(data)
        assert sample["sha256"] == (hashlib.sha256(data).hexdigest() if data else "")
    assert manifest["quality"]["fingerprint"]["captured"] == 8
    assert manifest["quality"]["fingerprint"]["min"] == min(
        s.quality for s in record.samples if s.modality == "fingerprint" and s.image is not None
    )
    assert {"position": "right_little", "exception": "unusable"} in manifest["exceptions"]
    assert {"position": "left_ring", "exception": "worn"} in manifest["exceptions"]
    assert manifest["sealed_at"] == "2024-05-01T09:07:00+00:00"


def test_nfiq2_travels_in_fqm_with_nist_identifiers_and_in_the_manifest():
    content = full_record()
    prints = [s for s in content.samples if s.modality == "fingerprint" and s.image is not None]
    for value, sample in enumerate(prints):
        sample.nfiq2 = sample.quality = 30 + value
    data, summaries = build_transaction(content)
    decoded = parse_transaction(data, decode_images=False)
    for sample in prints:
        assert decoded.finger_quality[sample.position] == sample.nfiq2
        # ISO/IEC JTC 1/SC 37 (0x0101) and NFIQ 2.3 (0x39 = 57), as NIST's NFIQ 2 declares them.
        assert decoded.finger_quality_algorithm[sample.position] == ("0101", "57")
    face = next(s for s in summaries if s.position == "face")
    assert "nfiq2" not in face.to_dict()
    assert {s.position: s.to_dict()["nfiq2"] for s in summaries if s.nfiq2 is not None} == {
        s.position: s.nfiq2 for s in prints
    }
    station, centre = StationKeys.generate(), CentreKeys.generate()
    sealed = seal(content, station, centre.public_key)
    manifest = open_package(sealed.data, centre.private_key, {"KIT-01": station.public_key})
    summary = manifest.manifest["quality"]["fingerprint"]["nfiq2"]
    assert summary == {
        "measured": len(prints),
        "min": 30,
        "mean": round(sum(s.nfiq2 for s in prints) / len(prints), 1),
    }


def test_a_print_without_nfiq2_keeps_the_station_quality_identifiers(built, record):
    decoded = parse_transaction(built[0], decode_images=False)
    assert set(decoded.finger_quality_algorithm.values()) == {("0000", "1")}


def test_card_finger_minutiae_travel_in_type9_records_beside_their_prints():
    from domain.vocabulary import Position
    from quality.matching import extract, minutiae_count
    from simulator.synth import FingerSpec, render_capture

    content = full_record()
    by_position = {s.position: s for s in content.samples}
    templates = {}
    for seed, name in enumerate(("right_index", "left_index")):
        sample = by_position[name]
        sample.image = render_capture(FingerSpec.random(seed), 0)  # a print with real minutiae
        templates[name] = extract(sample.image, Position(name).finger_code, 70).to_bytes()
        sample.minutiae = templates[name]
    data, _ = build_transaction(content)
    message = nistitl.Message()
    message.parse(data)
    records = list(message)
    type9 = [r for r in records if r.type == 9]
    assert len(type9) == 2
    idc_of_print = {int(fields(r)[13]): int(fields(r)[2]) for r in records if r.type == 14}
    for record in type9:
        tags = fields(record)
        assert tags[3] == "0" and tags[4] == "U"
        assert tags[176] == "ISO/IEC JTC 1/SC 37" and tags[178] == content.station_id
        finger_code = base64.b64decode(tags[180])[24]  # the record's finger position
        assert int(tags[2]) == idc_of_print[finger_code]  # the Type-14 of the same finger
    parsed = parse_transaction(data, decode_images=False)
    assert parsed.minutiae == templates
    assert all(minutiae_count(t) >= 12 for t in parsed.minutiae.values())
    station, centre = StationKeys.generate(), CentreKeys.generate()
    sealed = seal(content, station, centre.public_key)
    opened = open_package(sealed.data, centre.private_key, {"KIT-01": station.public_key})
    assert opened.transaction.minutiae == templates


def test_a_type9_that_is_not_an_iso_record_is_refused():
    content = full_record()
    content.samples[1].minutiae = b"not a template"
    with pytest.raises(ValueError, match="ISO/IEC 19794-2"):
        build_transaction(content)
