"""The uploader: delivery worker + status tracker over one outbox and one centre."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable

from uploader.centre_client import CentreClient
from uploader.centre_trust import CentreTrust
from uploader.delivery import DeliveryWorker
from uploader.outbox import (
    DELIVERABLE_STATES,
    Cause,
    Outbox,
    OutboxError,
    OutboxRecord,
    RecordState,
    StatusChange,
)
from uploader.retry import BackgroundWorker, Backoff
from uploader.sink import Sink
from uploader.tracker import StatusTracker

log = logging.getLogger(__name__)

# States an operator may send again: still waiting to be sent (SEALED, or CARRIED on a drive
# that may be lost: the kit asks the centre before sending its body), dead-lettered, or failed
# at the centre. A record the centre holds or has decided on is not sent again.
RETRYABLE_BY_OPERATOR = frozenset(
    {
        RecordState.SEALED,
        RecordState.CARRIED,
        RecordState.DEAD_LETTER,
        RecordState.ENROLL_FAILURE_AT_CENTRAL,
        RecordState.SEARCH_FAILURE_AT_CENTRAL,
    }
)


def can_retry(record: OutboxRecord) -> bool:
    """Whether the operator's RetryDelivery may send ``record`` again."""
    return record.state in RETRYABLE_BY_OPERATOR


def send_again(outbox: Outbox, record_id: str, reason: str) -> OutboxRecord:
    """Make a retryable record due now, with ``reason`` in its history: a waiting or carried
    one keeps its state, a failed or dead-lettered one goes back to SEALED. OutboxError when
    its package is gone."""
    record = outbox.get(record_id)
    if record is not None and record.state in DELIVERABLE_STATES:
        return outbox.reschedule(record_id, 0.0, detail=reason, cause=Cause.RETRY_REQUESTED)
    return outbox.requeue(record_id, reason)


class PackagePurger(BackgroundWorker):
    """Deletes local packages of records the centre settled over ``retention`` seconds ago."""

    name = "rekam-purger"

    def __init__(
        self,
        outbox: Outbox,
        retention: float,
        interval: float = 3600.0,
        on_purged: Callable[[list[str]], None] | None = None,
    ) -> None:
        super().__init__()
        self.outbox = outbox
        self.retention = retention
        self.interval = interval
        self.on_purged = on_purged
        self.purged = 0

    def run_once(self, now: float | None = None) -> int:
        try:
            purged = self.outbox.purge_packages(self.retention, now=now)
        except OutboxError:
            log.exception("purging packages failed")
            return 0
        if purged:
            log.info("purged %d delivered packages past retention", len(purged))
            if self.on_purged is not None:
                self.on_purged(purged)
        self.purged += len(purged)
        return len(purged)

    def next_wait(self) -> float:
        return self.interval


class Uploader:
    """Delivers the outbox to a sink (by default the centre's ingest API) and follows every
    record to its outcome at the centre; purges settled packages after ``package_retention``
    seconds (None: keep them). ``trust`` is what the kit pins for its centre: a record's state
    moves, and its package is eventually purged, only on the centre's verified receipt.

    ``make_sink`` builds the sink from the uploader's centre client (which it may reuse, as the
    ``centre`` sink does, so stopping the uploader also cancels its uploads).

    ``station_id`` lets the tracker follow the centre's change feed of this station's records
    (a long-poll of ``feed_wait`` seconds); without it, or when the centre keeps no feed, it
    asks about due records in batches every ``poll_interval`` seconds (backing off to
    ``max_poll_interval`` for records long at the centre). While the centre cannot be reached,
    deliveries probe its health check every ``probe_interval`` seconds and resume at the first
    answer.

    Intervals are in seconds; the demo uses sub-second ``poll_interval`` and ``idle_interval``.
    ``stop()`` returns within about ``timeout`` seconds (an HTTP request in flight is bounded
    by it).
    """

    def __init__(
        self,
        outbox: Outbox,
        centre_url: str,
        *,
        trust: CentreTrust,
        timeout: float = 10.0,
        station_id: str | None = None,
        poll_interval: float = 5.0,
        max_poll_interval: float = 600.0,
        feed_wait: float = 25.0,
        probe_interval: float = 5.0,
        idle_interval: float = 1.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 300.0,
        max_bytes_per_second: float | None = None,
        max_concurrent_uploads: int = 2,
        transfer_timeout: float = 600.0,
        max_resends: int = 3,
        package_retention: float | None = None,
        purge_interval: float = 3600.0,
        on_purged: Callable[[list[str]], None] | None = None,
        make_sink: Callable[[CentreClient], Sink] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.outbox = outbox
        self._cancel = threading.Event()
        self.client = CentreClient(
            centre_url,
            trust=trust,
            timeout=timeout,
            transfer_timeout=transfer_timeout,
            max_bytes_per_second=max_bytes_per_second,
            cancel=self._cancel,
        )
        self.sink: Sink = make_sink(self.client) if make_sink is not None else self.client
        rng = rng or random.Random()
        self.delivery = DeliveryWorker(
            outbox,
            self.sink,
            backoff=Backoff(base=backoff_base, cap=backoff_cap, rng=rng),
            idle_interval=idle_interval,
            max_concurrent=max_concurrent_uploads,
            probe=self.client.reachable if self.sink is self.client else None,
            probe_interval=probe_interval,
        )
        self.purger = (
            PackagePurger(outbox, package_retention, purge_interval, on_purged)
            if package_retention is not None
            else None
        )
        self.tracker = StatusTracker(
            outbox,
            self.client,
            station_id=station_id,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            feed_wait=feed_wait,
            # the tracker's questions are small: it never rests longer than one poll interval
            backoff=Backoff(base=backoff_base, cap=min(backoff_cap, poll_interval), rng=rng),
            max_resends=max_resends,
            on_resend=self.delivery.kick,
        )
        self._listener = self._on_change

    def _on_change(self, change: StatusChange) -> None:
        if change.state == RecordState.SEALED:
            self.delivery.kick()
        elif change.state == RecordState.SENT_FOR_ENROLLMENT:
            self.tracker.delivered(change.record_id)

    def start(self) -> None:
        self.outbox.remove_listener(self._listener)
        self.outbox.add_listener(self._listener)
        self._cancel.clear()
        self.delivery.start()
        self.tracker.start()
        if self.purger is not None:
            self.purger.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every worker and wait for their threads."""
        self._cancel.set()
        self.client.abort_in_flight()
        self.delivery.stop(timeout)
        self.tracker.stop(timeout)
        if self.purger is not None:
            self.purger.stop(timeout)
        self.outbox.remove_listener(self._listener)

    def kick(self) -> None:
        """Deliver due records now and poll statuses now."""
        self.delivery.kick()
        self.tracker.kick()

    def enroll(self, station_id: str, code: str, public_key_pem: bytes) -> None:
        """Register this station's public key at the centre with a one-time enrollment code."""
        self.client.enroll(station_id, code, public_key_pem)

    def retry(self, record_id: str, reason: str = "operator retry") -> OutboxRecord:
        """Operator's RetryDelivery: send a waiting, carried, dead-lettered or failed record now."""
        record = self.outbox.get(record_id)
        if record is None:
            raise KeyError(record_id)
        if not can_retry(record):
            raise ValueError(f"record {record_id} is {record.state}; nothing to retry")
        send_again(self.outbox, record_id, reason)
        self.delivery.resume()
        updated = self.outbox.get(record_id)
        assert updated is not None
        return updated

    def counters(self) -> dict[str, int]:
        """Delivery and tracking counters plus the outbox's count per state."""
        out: dict[str, int] = {}
        out.update({f"delivery_{k}": v for k, v in self.delivery.counters.snapshot().items()})
        out.update({f"tracker_{k}": v for k, v in self.tracker.counters.snapshot().items()})
        out["delivery_wire_bytes"] = self.client.wire_bytes
        out["delivery_resumed_bytes"] = self.client.resumed_bytes
        out["delivery_unsaved_outcomes"] = self.delivery.unsaved
        out["purged_packages"] = self.purger.purged if self.purger is not None else 0
        out.update({f"records_{s.value.lower()}": n for s, n in self.outbox.counts().items()})
        return out

    def __enter__(self) -> Uploader:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
