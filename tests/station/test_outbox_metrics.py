"""The outbox figures a scrape reads: every record the centre has not accepted counts as
waiting, whether it sits in the outbox or travels on a drive."""

from __future__ import annotations

import hashlib

from station.metrics import _ScrapeTimeCollector
from uploader.outbox import Outbox
from uploader.package import SealedPackage


def sealed(record_id: str) -> SealedPackage:
    data = b"REKAMPKG" + record_id.encode() + b"x" * 100
    return SealedPackage(record_id, data, hashlib.sha256(data).hexdigest(), len(data))


def gauges(outbox: Outbox) -> dict[str, float]:
    collector = _ScrapeTimeCollector(outbox, devices=list, delivery_counters=dict)
    return {
        metric.name: metric.samples[0].value
        for metric in collector.collect()
        if metric.name in {"rekam_outbox_depth", "rekam_outbox_oldest_age_seconds"}
    }


def test_carried_records_count_as_waiting_and_their_age_is_on_the_kit_timeline(tmp_path):
    with Outbox(tmp_path) as outbox:
        created = outbox.clock.now() - 600.0
        outbox.enqueue(sealed("CARRIED-1"), category="adult", now=created)
        outbox.enqueue(sealed("SEALED-1"), category="adult")
        outbox.mark_carried("CARRIED-1", "B-1")
        figures = gauges(outbox)
    assert figures["rekam_outbox_depth"] == 2
    assert figures["rekam_outbox_oldest_age_seconds"] >= 600.0
