"""The delivery worker: uploads due records oldest first, several at a time, each with its own
backoff timer, to a sink (the centre's ingest API or an S3-compatible object store)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import Protocol

from uploader.centre_client import CentreUnreachable, UploadResult
from uploader.outbox import Outbox, OutboxError, OutboxRecord, PackageMissing
from uploader.retry import BackgroundWorker, Backoff

log = logging.getLogger(__name__)


@dataclass
class DeliveryCounters:
    """What the delivery worker has done since it was created."""

    uploads_accepted: int = 0
    already_at_centre: int = 0
    retryable_failures: int = 0
    network_errors: int = 0
    dead_letters: int = 0
    bytes_sent: int = 0

    def snapshot(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Sink(Protocol):
    """Where packages go. ``upload`` is idempotent by record id and content hash: a copy the
    sink already holds answers 200; it raises CentreUnreachable for network failures."""

    name: str

    def upload(self, record_id: str, data: bytes, sha256: str) -> UploadResult: ...


class DeliveryWorker(BackgroundWorker):
    """Delivers SEALED records whose next attempt time has come, up to ``max_concurrent`` at
    once, so a slow or stuck record holds one slot and never the rest.

    A network failure pauses the whole link (full-jitter backoff over consecutive link
    failures); a 5xx/429 reschedules only that record (honouring Retry-After; 429 and 503 also
    pause the link); a permanent 4xx sends the record to DEAD_LETTER with the sink's message.
    The sink answering 200 ("already have these bytes") counts as delivered.
    """

    name = "rekam-delivery"

    def __init__(
        self,
        outbox: Outbox,
        client: Sink,
        *,
        backoff: Backoff | None = None,
        idle_interval: float = 1.0,
        batch: int = 50,
        max_concurrent: int = 2,
    ) -> None:
        super().__init__()
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.outbox = outbox
        self.client = client
        self.backoff = backoff or Backoff()
        self.idle_interval = idle_interval
        self.batch = batch
        self.max_concurrent = max_concurrent
        self.counters = DeliveryCounters()
        self._counter_lock = threading.Lock()
        self._link_failures = 0
        self._link_paused_until = 0.0
        self._in_flight: set[str] = set()
        self._pool: ThreadPoolExecutor | None = None

    def _count(self, name: str, amount: int = 1) -> None:
        with self._counter_lock:
            setattr(self.counters, name, getattr(self.counters, name) + amount)

    def next_wait(self) -> float:
        now = time.time()
        if self._link_paused_until > now:
            return self._link_paused_until - now
        if self.in_flight >= self.max_concurrent:
            return self.idle_interval  # a finishing upload kicks the worker
        due = self.outbox.next_due_time()
        if due is None:
            return self.idle_interval
        return min(self.idle_interval, max(0.0, due - now))

    def run_once(self, now: float | None = None) -> int:
        """Start uploads of due records, oldest first, into the free slots (in the calling
        thread, one after another, when the worker is not running). Returns uploads started."""
        now = time.time() if now is None else now
        if self._link_paused_until > now:
            return 0
        if self._pool is None:
            return self._run_inline(now)
        with self._counter_lock:
            free = self.max_concurrent - len(self._in_flight)
            busy = set(self._in_flight)
        if free <= 0:
            return 0
        due = self.outbox.due_for_delivery(now, self.batch + len(busy))
        started = 0
        for record in due:
            if started >= free or self.stopping.is_set():
                break
            if record.record_id in busy:
                continue
            with self._counter_lock:
                self._in_flight.add(record.record_id)
            self._pool.submit(self._deliver_in_slot, record)
            started += 1
        return started

    def _run_inline(self, now: float) -> int:
        handled = 0
        for record in self.outbox.due_for_delivery(now, self.batch):
            if self.stopping.is_set():
                break
            handled += 1
            if not self._deliver(record):
                break
        return handled

    def _deliver_in_slot(self, record: OutboxRecord) -> None:
        try:
            self._deliver(record)
        except Exception:
            log.exception("delivery of %s failed", record.record_id)
        finally:
            with self._counter_lock:
                self._in_flight.discard(record.record_id)
            self.kick()

    @property
    def in_flight(self) -> int:
        """Uploads running now."""
        with self._counter_lock:
            return len(self._in_flight)

    def start(self) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.max_concurrent, thread_name_prefix=self.name)
        super().start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop starting uploads, then wait for those in flight (cancel them first to be quick)."""
        super().stop(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _pause_link(self, retry_after: float | None = None) -> None:
        self._link_failures += 1
        delay = self.backoff.delay(self._link_failures, retry_after)
        self._link_paused_until = time.time() + delay

    def _deliver(self, record: OutboxRecord) -> bool:
        """Upload one record. Returns False when the link should rest before the next one."""
        record_id = record.record_id
        try:
            data = self.outbox.read_package(record_id)
        except PackageMissing as exc:
            self.outbox.mark_dead(record_id, f"LOCAL_PACKAGE_DAMAGED: {exc}")
            self._count("dead_letters")
            return True
        try:
            result = self.client.upload(record_id, data, record.sha256)
        except CentreUnreachable as exc:
            self._count("network_errors")
            self._reschedule(record, f"NETWORK: {exc}", None)
            self._pause_link()
            return False
        if result.accepted:
            self._link_failures = 0
            self._count("bytes_sent", len(data))
            if result.status == 200:
                self._count("already_at_centre")
            else:
                self._count("uploads_accepted")
            detail = f"HTTP {result.status} {result.code}".strip()
            self._apply(self.outbox.mark_delivered, record_id, detail)
            return True
        if result.retryable:
            self._count("retryable_failures")
            error = f"HTTP {result.status} {result.code}: {result.message}".strip()
            self._reschedule(record, error, result.retry_after)
            if result.status in (429, 503):
                self._pause_link(result.retry_after)
                return False
            return True
        self._count("dead_letters")
        message = f"HTTP {result.status} {result.code}: {result.message}".strip()
        log.warning("record %s rejected permanently: %s", record_id, message)
        self._apply(self.outbox.mark_dead, record_id, message)
        return True

    def _reschedule(self, record: OutboxRecord, error: str, retry_after: float | None) -> None:
        delay = self.backoff.delay(record.attempts + 1, retry_after)
        log.info("record %s: %s; next attempt in %.2f s", record.record_id, error, delay)
        self._apply(self.outbox.mark_attempt, record.record_id, error, time.time() + delay)

    @staticmethod
    def _apply(method: Callable[..., object], *args: object) -> None:
        try:
            method(*args)
        except OutboxError:
            log.exception("outbox update failed for %s", args[0])
