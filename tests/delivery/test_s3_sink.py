"""The S3 sink against a real SeaweedFS server on loopback: conditional PUT, SHA-256 checksums,
idempotent redelivery, and the uploader delivering through it into the centre's landing zone."""

from __future__ import annotations

import random

import pytest
from botocore.exceptions import ClientError
from delivery_helpers import wait_until

from uploader.centre_client import CentreClient
from uploader.outbox import RecordState
from uploader.s3 import S3Sink
from uploader.service import Uploader
from uploader.sink import DeliveryOutcome, InvalidSinkSettings, SinkContext
from uploader.sink_registry import sink_factory


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

    stored = sink.deliver("S-1", first.data, first.sha256)
    assert stored.outcome is DeliveryOutcome.DELIVERED
    assert stored.detail == "stored as s3://kit-idem/incoming/S-1.pkg"
    again = sink.deliver("S-1", first.data, first.sha256)
    assert again.outcome is DeliveryOutcome.ALREADY_HELD
    conflict = sink.deliver("S-1", other.data, other.sha256)
    assert conflict.outcome is DeliveryOutcome.REJECTED and conflict.reason == "RECORD_CONFLICT"

    body = seaweed.client().get_object(Bucket="kit-idem", Key="incoming/S-1.pkg")["Body"].read()
    assert body == first.data  # the conflicting upload did not overwrite it
    assert sink.stored_sha256("S-1") == first.sha256
    assert sink.stored_sha256("S-404") is None


def test_checksum_mismatch_is_refused_by_the_store_and_retryable(seaweed, sealer):
    sink = sink_for(seaweed, "kit-digest")
    package = sealer("S-2", 3)
    damaged = bytearray(package.data)
    damaged[100] ^= 0xFF
    answer = sink.deliver("S-2", bytes(damaged), package.sha256)
    assert answer.outcome is DeliveryOutcome.RETRY_LATER
    assert answer.reason == "CONTENT_HASH_MISMATCH" and not answer.receiver_busy
    assert sink.stored_sha256("S-2") is None
    assert sink.deliver("S-2", package.data, package.sha256).outcome is DeliveryOutcome.DELIVERED


def test_unreachable_store_is_a_network_error(sealer):
    sink = S3Sink(
        "nowhere", endpoint_url="http://127.0.0.1:9", access_key="a", secret_key="b", timeout=1
    )
    package = sealer("S-3", 4)
    answer = sink.deliver("S-3", package.data, package.sha256)
    assert answer.outcome is DeliveryOutcome.TRANSPORT_FAILED
    assert "S3 PUT S-3" in answer.detail


def test_uploader_delivers_through_s3_and_the_centre_imports(seaweed, sealer, centre, outbox):
    sink = sink_for(seaweed, "landing", prefix="kits/KIT-01/")
    ids = [f"L-{i}" for i in range(6)]
    for index, record_id in enumerate(ids):
        outbox.enqueue(sealer(record_id, 10 + index), category="regular")
    uploader = Uploader(
        outbox,
        centre.url,
        trust=centre.trust,
        make_sink=lambda _centre: sink,
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


def test_a_refused_put_is_a_permanent_rejection_with_the_store_code(seaweed, sealer):
    sink = S3Sink(
        "no-such-bucket",
        endpoint_url=seaweed.endpoint_url,
        access_key="rekam-test",
        secret_key="rekam-test-secret",
        timeout=5,
    )
    package = sealer("S-4", 5)
    with pytest.raises(ClientError) as refused:
        seaweed.client().put_object(Bucket="no-such-bucket", Key="S-4.pkg", Body=package.data)
    code = refused.value.response["Error"]["Code"]
    status = refused.value.response["ResponseMetadata"]["HTTPStatusCode"]
    assert 400 <= status < 500  # neither retryable nor a busy store

    answer = sink.deliver("S-4", package.data, package.sha256)
    assert answer.outcome is DeliveryOutcome.REJECTED
    assert answer.reason == code and f"S3 {status} {code}" in answer.detail


def test_the_s3_plugin_builds_from_its_table(seaweed, sealer, centre, station_keys, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "rekam-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "rekam-test-secret")
    seaweed.create_bucket("kit-idem")
    table = {"bucket": "kit-idem", "endpoint_url": seaweed.endpoint_url, "prefix": "table/"}
    make_sink = sink_factory("s3", table)
    client = CentreClient(centre.url, trust=centre.trust)
    sink = make_sink(SinkContext(client, "KIT-01", station_keys))
    package = sealer("S-5", 6)
    assert sink.deliver("S-5", package.data, package.sha256).outcome is DeliveryOutcome.DELIVERED
    assert sink.stored_sha256("S-5") == package.sha256
    assert sink.key("S-5") == "table/S-5.pkg"


def test_s3_settings_refuse_a_table_without_a_bucket_or_with_a_bad_url():
    with pytest.raises(InvalidSinkSettings, match=r"\[sinks.s3\] bucket: missing"):
        sink_factory("s3", {"prefix": "kits/"})
    with pytest.raises(InvalidSinkSettings, match="endpoint_url"):
        sink_factory("s3", {"bucket": "b", "endpoint_url": "seaweed:8333"})
    with pytest.raises(InvalidSinkSettings, match=r"s3_bucket: unknown key; did you mean bucket"):
        sink_factory("s3", {"bucket": "b", "s3_bucket": "b"})
