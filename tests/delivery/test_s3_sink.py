"""The S3 sink against a real SeaweedFS server on loopback: conditional PUT, SHA-256 checksums,
idempotent redelivery, and the uploader delivering through it into the centre's landing zone."""

from __future__ import annotations

import random

from delivery_helpers import wait_until

from uploader.centre_client import CentreUnreachable
from uploader.outbox import RecordState
from uploader.s3 import S3Sink
from uploader.service import Uploader


def sink_for(seaweed, bucket: str, prefix: str = "incoming/") -> S3Sink:
    seaweed.create_bucket(bucket)
    return S3Sink(
        bucket,
        endpoint_url=seaweed.endpoint_url,
        prefix=prefix,
        access_key="rekam-test",
        secret_key="rekam-test-secret",
        timeout=5,
    )


def test_conditional_put_is_idempotent_and_never_overwrites(seaweed, sealer):
    sink = sink_for(seaweed, "kit-idem")
    first, other = sealer("S-1", 1), sealer("S-1", 2)

    stored = sink.upload("S-1", first.data, first.sha256)
    assert stored.status == 201 and stored.accepted
    again = sink.upload("S-1", first.data, first.sha256)
    assert again.status == 200 and again.accepted and again.code == "ALREADY_STORED"
    conflict = sink.upload("S-1", other.data, other.sha256)
    assert conflict.status == 409 and conflict.permanent

    body = seaweed.client().get_object(Bucket="kit-idem", Key="incoming/S-1.pkg")["Body"].read()
    assert body == first.data  # the conflicting upload did not overwrite it
    assert sink.stored_sha256("S-1") == first.sha256
    assert sink.stored_sha256("S-404") is None


def test_checksum_mismatch_is_refused_by_the_store_and_retryable(seaweed, sealer):
    sink = sink_for(seaweed, "kit-digest")
    package = sealer("S-2", 3)
    damaged = bytearray(package.data)
    damaged[100] ^= 0xFF
    answer = sink.upload("S-2", bytes(damaged), package.sha256)
    assert answer.code == "CONTENT_HASH_MISMATCH" and answer.retryable
    assert sink.stored_sha256("S-2") is None
    assert sink.upload("S-2", package.data, package.sha256).status == 201


def test_unreachable_store_is_a_network_error(sealer):
    sink = S3Sink(
        "nowhere", endpoint_url="http://127.0.0.1:9", access_key="a", secret_key="b", timeout=1
    )
    package = sealer("S-3", 4)
    try:
        sink.upload("S-3", package.data, package.sha256)
    except CentreUnreachable as exc:
        assert "S3 PUT S-3" in str(exc)
    else:
        raise AssertionError("an unreachable store must raise CentreUnreachable")


def test_uploader_delivers_through_s3_and_the_centre_imports(seaweed, sealer, centre, outbox):
    sink = sink_for(seaweed, "landing", prefix="kits/KIT-01/")
    ids = [f"L-{i}" for i in range(6)]
    for index, record_id in enumerate(ids):
        outbox.enqueue(sealer(record_id, 10 + index), category="regular")
    uploader = Uploader(
        outbox,
        centre.url,
        sink=sink,
        max_concurrent_uploads=3,
        poll_interval=0.1,
        idle_interval=0.05,
        backoff_base=0.05,
        backoff_cap=0.3,
        rng=random.Random(5),
    )
    with uploader:
        assert wait_until(
            lambda: all(outbox.get(r).state != RecordState.SEALED for r in ids), timeout=30
        )
        assert uploader.counters()["delivery_uploads_accepted"] == len(ids)
        counts = centre.import_from_store(seaweed.client(), "landing", "kits/KIT-01/")
        assert counts == {"RECEIVED": len(ids)}
        assert centre.import_from_store(seaweed.client(), "landing", "kits/KIT-01/") == {
            "ALREADY_RECEIVED": len(ids)
        }
        assert wait_until(
            lambda: all(outbox.get(r).state == RecordState.PRINT_READY_RECORD for r in ids),
            timeout=30,
        )
    assert centre.store.count() == len(ids)
