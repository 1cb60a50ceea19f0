"""Exceptions' proof photos in the transaction: one Type-21 associated-context record each,
referenced from the excepted finger's Type-14 or eye's Type-17, read back with nistitl itself
and through a sealed, opened package."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest
from sample_records import full_record

from uploader.keys import CentreKeys, StationKeys
from uploader.nist import TransactionError, build_transaction
from uploader.package import open_package, seal

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import nistitl


def picture(fmt: str) -> bytes:
    rng = np.random.default_rng(5)
    return cv2.imencode(fmt, rng.integers(0, 255, (80, 96, 3), dtype=np.uint8))[1].tobytes()


@pytest.fixture(scope="module")
def record():
    content = full_record(amputated=("left_little",), blind=("left_eye",))
    content.proof_photos = {"left_little": picture(".jpg"), "left_eye": picture(".png")}
    return content


def test_each_proof_photo_is_a_type21_record_its_exception_refers_to(record):
    data, _ = build_transaction(record)
    message = nistitl.Message()
    message.parse(data)
    records = list(message)
    contexts = {}
    for r in records:
        if r.type == 21:
            contexts[str(r[21].value)] = r
    assert len(contexts) == 2
    referring = {str(r[995].value): r for r in records if r.type in (14, 17) and r[995] is not None}
    assert set(referring) == set(contexts)
    for acn, context in contexts.items():
        excepted = referring[acn]
        position = str(context[20].value).removeprefix("PROOF ")
        if excepted.type == 14:
            assert position == "left_little" and excepted["AMP"] is not None
            assert str(context[15].value) == "JPG"
        else:
            assert position == "left_eye" and excepted[28] is not None
            assert str(context[15].value) == "PNG"
        assert bytes(context[999].value) == record.proof_photos[position]
    # Every record after the Type-1 has an IDC of its own.
    idcs = [int(r.IDC) for r in records[1:]]
    assert len(set(idcs)) == len(idcs)


def test_proof_photos_travel_sealed_and_open_at_the_centre(record):
    station, centre = StationKeys.generate(), CentreKeys.generate()
    sealed = seal(record, station, centre.public_key)
    opened = open_package(sealed.data, centre.private_key, {record.station_id: station.public_key})
    assert opened.transaction.proof_photos == record.proof_photos


def test_a_proof_photo_that_is_no_picture_is_refused():
    content = full_record(amputated=("left_little",))
    content.proof_photos = {"left_little": b"not a picture"}
    with pytest.raises(TransactionError):
        build_transaction(content)
