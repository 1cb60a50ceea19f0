"""The uploader: delivery worker + status tracker over one outbox and one centre."""

from __future__ import annotations

import random
import threading

from uploader.centre_client import CentreClient
from uploader.delivery import DeliveryWorker
from uploader.outbox import Outbox, OutboxRecord, RecordState, StatusChange
from uploader.retry import Backoff
from uploader.tracker import StatusTracker

RETRYABLE_BY_OPERATOR = frozenset(
    {
        RecordState.DEAD_LETTER,
        RecordState.ENROLL_FAILURE_AT_CENTRAL,
        RecordState.SEARCH_FAILURE_AT_CENTRAL,
    }
)


class Uploader:
    """Delivers the outbox to the centre and follows every record to its outcome.

    Intervals are in seconds; the demo uses sub-second ``poll_interval`` and ``idle_interval``.
    ``stop()`` returns within about ``timeout`` seconds (an HTTP request in flight is bounded
    by it).
    """

    def __init__(
        self,
        outbox: Outbox,
        centre_url: str,
        *,
        timeout: float = 10.0,
        poll_interval: float = 5.0,
        idle_interval: float = 1.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 300.0,
        max_bytes_per_second: float | None = None,
        max_resends: int = 3,
        rng: random.Random | None = None,
    ) -> None:
        self.outbox = outbox
        self._cancel = threading.Event()
        self.client = CentreClient(
            centre_url,
            timeout=timeout,
            max_bytes_per_second=max_bytes_per_second,
            cancel=self._cancel,
        )
        rng = rng or random.Random()
        self.delivery = DeliveryWorker(
            outbox,
            self.client,
            backoff=Backoff(base=backoff_base, cap=backoff_cap, rng=rng),
            idle_interval=idle_interval,
        )
        self.tracker = StatusTracker(
            outbox,
            self.client,
            poll_interval=poll_interval,
            backoff=Backoff(base=backoff_base, cap=backoff_cap, rng=rng),
            max_resends=max_resends,
            on_resend=self.delivery.kick,
        )
        self._listener = self._on_change

    def _on_change(self, change: StatusChange) -> None:
        if change.state == RecordState.SEALED:
            self.delivery.kick()
        elif change.state == RecordState.SENT_FOR_ENROLLMENT:
            self.tracker.kick()

    def start(self) -> None:
        self.outbox.remove_listener(self._listener)
        self.outbox.add_listener(self._listener)
        self._cancel.clear()
        self.delivery.start()
        self.tracker.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop both workers and wait for their threads."""
        self._cancel.set()
        self.delivery.stop(timeout)
        self.tracker.stop(timeout)
        self.outbox.remove_listener(self._listener)

    def kick(self) -> None:
        """Deliver due records now and poll statuses now."""
        self.delivery.kick()
        self.tracker.kick()

    def provision(self, station_id: str, public_key_pem: bytes) -> None:
        """Register this station's Ed25519 public key with the centre (idempotent)."""
        self.client.provision_station(station_id, public_key_pem)

    def retry(self, record_id: str, reason: str = "operator retry") -> OutboxRecord:
        """Operator's RetryDelivery: send a dead-lettered or failed record again, now."""
        record = self.outbox.get(record_id)
        if record is None:
            raise KeyError(record_id)
        if record.state == RecordState.SEALED:
            self.outbox.reschedule(record_id, 0.0)
        elif record.state in RETRYABLE_BY_OPERATOR:
            self.outbox.requeue(record_id, reason)
        else:
            raise ValueError(f"record {record_id} is {record.state}; nothing to retry")
        self.delivery.kick()
        updated = self.outbox.get(record_id)
        assert updated is not None
        return updated

    def counters(self) -> dict[str, int]:
        """Delivery and tracking counters plus the outbox's count per state."""
        out: dict[str, int] = {}
        out.update({f"delivery_{k}": v for k, v in self.delivery.counters.snapshot().items()})
        out.update({f"tracker_{k}": v for k, v in self.tracker.counters.snapshot().items()})
        out.update({f"records_{s.value.lower()}": n for s, n in self.outbox.counts().items()})
        return out

    def __enter__(self) -> Uploader:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
