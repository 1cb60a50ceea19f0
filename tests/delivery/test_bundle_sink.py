"""The bundle sink end to end: the uploader delivers each record as a signed bundle into a
directory (a USB drive), the simulated centre imports those bundles, and the kit then follows
the records to their outcome there."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
from delivery_helpers import STATION, wait_until

from uploader.bundle import open_bundle
from uploader.bundle_sink import BundleSink
from uploader.centre_client import CentreClient
from uploader.outbox import RecordState
from uploader.service import Uploader
from uploader.sink import DeliveryOutcome, InvalidSinkSettings, Sink, SinkContext
from uploader.sink_registry import sink_factory

FAST = dict(
    poll_interval=0.1,
    idle_interval=0.05,
    backoff_base=0.05,
    backoff_cap=0.3,
    rng=random.Random(7),
)


def bundle_factory(usb: Path, station_keys) -> Callable[[CentreClient], Sink]:
    """The ``bundle`` plug-in as the daemon builds it, from its ``[sinks.bundle]`` table."""
    make_sink = sink_factory("bundle", {"directory": str(usb)})
    return lambda centre_client: make_sink(SinkContext(centre_client, STATION, station_keys))


def bundle_sink(usb: Path, centre, station_keys) -> BundleSink:
    sink = bundle_factory(usb, station_keys)(CentreClient(centre.url, trust=centre.trust))
    assert isinstance(sink, BundleSink)
    return sink


def test_delivered_bundles_are_imported_by_the_centre(
    tmp_path, centre, sealer, outbox, station_keys
):
    usb = tmp_path / "usb"
    usb.mkdir()
    ids = [f"B-{i}" for i in range(4)]
    for index, record_id in enumerate(ids):
        outbox.enqueue(sealer(record_id, 20 + index), category="regular")
    uploader = Uploader(
        outbox,
        centre.url,
        trust=centre.trust,
        make_sink=bundle_factory(usb, station_keys),
        **FAST,
    )
    with uploader:
        assert wait_until(lambda: all(outbox.get(r).state != RecordState.SEALED for r in ids))
        assert uploader.counters()["delivery_uploads_accepted"] == len(ids)
        bundles = sorted(usb.iterdir())
        assert [p.name for p in bundles] == [f"rekam-{STATION}-{r}" for r in ids]  # no staging
        imported = [centre.import_bundle(path) for path in bundles]
        assert imported == [{"RECEIVED": 1}] * len(ids)
        assert wait_until(
            lambda: all(outbox.get(r).state == RecordState.PRINT_READY_RECORD for r in ids),
            timeout=30,
        )
    assert centre.store.count() == len(ids)
    bundle = open_bundle(bundles[0], {STATION: station_keys.public_key})
    assert [e.record_id for e in bundle.entries] == ["B-0"]
    assert bundle.read_package(bundle.entries[0]) == outbox.read_package("B-0")


def test_redelivery_is_idempotent_and_other_bytes_conflict(tmp_path, centre, sealer, station_keys):
    usb = tmp_path / "usb"
    usb.mkdir()
    sink = bundle_sink(usb, centre, station_keys)
    first, other = sealer("B-10", 30), sealer("B-10", 31)

    assert sink.deliver("B-10", first.data, first.sha256).outcome is DeliveryOutcome.DELIVERED
    again = sink.deliver("B-10", first.data, first.sha256)
    assert again.outcome is DeliveryOutcome.ALREADY_HELD
    conflict = sink.deliver("B-10", other.data, other.sha256)
    assert conflict.outcome is DeliveryOutcome.REJECTED and conflict.reason == "RECORD_CONFLICT"
    assert centre.import_bundle(sink.bundle_path("B-10")) == {"RECEIVED": 1}
    assert centre.store.get("B-10") is not None


def test_an_unmounted_drive_is_a_transport_failure_until_it_is_there(
    tmp_path, centre, sealer, station_keys
):
    usb = tmp_path / "usb"
    sink = bundle_sink(usb, centre, station_keys)
    package = sealer("B-20", 40)
    missing = sink.deliver("B-20", package.data, package.sha256)
    assert missing.outcome is DeliveryOutcome.TRANSPORT_FAILED and str(usb) in missing.detail
    usb.mkdir()
    assert sink.deliver("B-20", package.data, package.sha256).outcome is DeliveryOutcome.DELIVERED


def test_a_damaged_bundle_in_the_way_is_rejected(tmp_path, centre, sealer, station_keys):
    usb = tmp_path / "usb"
    usb.mkdir()
    sink = bundle_sink(usb, centre, station_keys)
    sink.bundle_path("B-30").mkdir()  # something else under the record's bundle name
    package = sealer("B-30", 50)
    answer = sink.deliver("B-30", package.data, package.sha256)
    assert answer.outcome is DeliveryOutcome.REJECTED and answer.reason == "BUNDLE_UNREADABLE"


def test_bundle_settings_need_a_directory():
    with pytest.raises(InvalidSinkSettings, match=r"\[sinks.bundle\] directory: missing"):
        sink_factory("bundle", {})
    with pytest.raises(InvalidSinkSettings, match=r"directory: expected a string"):
        sink_factory("bundle", {"directory": 7})
    with pytest.raises(InvalidSinkSettings, match="set directory"):
        sink_factory("bundle", {"directory": ""})
