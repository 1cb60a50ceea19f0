"""The delivery worker: uploads due records oldest first, several at a time, each with its own
backoff timer, to a sink (the centre's ingest API, an S3-compatible object store, a bundle
directory ...: see ``uploader.sink``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields

from uploader.outbox import Outbox, OutboxError, OutboxRecord, PackageMissing, StorageFailure
from uploader.retry import BackgroundWorker, Backoff
from uploader.sink import DeliveryOutcome, DeliveryResult, Sink

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
    storage_failures: int = 0

    def snapshot(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class DeliveryWorker(BackgroundWorker):
    """Delivers SEALED records whose next attempt time has come, up to ``max_concurrent`` at
    once, so a slow or stuck record holds one slot and never the rest.

    It acts on the sink's :class:`DeliveryResult`: a transport failure pauses the whole link
    (full-jitter backoff over consecutive link failures); "retry later" reschedules only that
    record (honouring Retry-After; a busy receiver also pauses the link); a permanent rejection
    sends the record to DEAD_LETTER with the sink's detail. "Already held" (the receiver has
    these exact bytes) counts as delivered.

    When the outbox cannot commit an outcome (the disk is full or failing), the outcome is held
    in memory and delivery pauses with backoff: the held outcomes are committed first when it
    resumes, so a record the centre accepted is never uploaded again, and nothing loops.
    ``storage_fault`` is the failure while delivery is paused for it (the outbox itself tells
    its ``on_storage`` listener).
    """

    name = "rekam-delivery"

    def __init__(
        self,
        outbox: Outbox,
        sink: Sink,
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
        self.sink = sink
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
        # Outcomes the outbox could not commit, by record: (outbox method, its arguments).
        self._unsaved: dict[str, tuple[Callable[..., object], tuple[object, ...]]] = {}
        self._storage_failures = 0
        self._storage_paused_until = 0.0
        self.storage_fault: StorageFailure | None = None

    def _count(self, name: str, amount: int = 1) -> None:
        with self._counter_lock:
            setattr(self.counters, name, getattr(self.counters, name) + amount)

    def next_wait(self) -> float:
        now = time.time()
        paused_until = max(self._link_paused_until, self._storage_paused_until)
        if paused_until > now:
            return paused_until - now
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
        if self._link_paused_until > now or self._storage_paused_until > now:
            return 0
        if not self._commit_unsaved():
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
            if record.record_id in busy or record.record_id in self._unsaved:
                continue
            with self._counter_lock:
                self._in_flight.add(record.record_id)
            self._pool.submit(self._deliver_in_slot, record)
            started += 1
        return started

    def _run_inline(self, now: float) -> int:
        handled = 0
        for record in self.outbox.due_for_delivery(now, self.batch):
            if self.stopping.is_set() or self._unsaved:
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
            self._apply(self.outbox.mark_dead, record_id, f"LOCAL_PACKAGE_DAMAGED: {exc}")
            self._count("dead_letters")
            return True
        result = self.sink.deliver(record_id, data, record.sha256)
        if result.outcome is DeliveryOutcome.TRANSPORT_FAILED:
            self._count("network_errors")
            self._reschedule(record, f"NETWORK: {result.detail}", None)
            self._pause_link()
            return False
        if result.outcome in (DeliveryOutcome.DELIVERED, DeliveryOutcome.ALREADY_HELD):
            self._delivered(record_id, len(data), result)
            return True
        if result.outcome is DeliveryOutcome.RETRY_LATER:
            self._count("retryable_failures")
            self._reschedule(record, result.detail, result.retry_after)
            if result.receiver_busy:
                self._pause_link(result.retry_after)
                return False
            return True
        self._count("dead_letters")
        log.warning(
            "record %s rejected permanently (%s): %s", record_id, result.reason, result.detail
        )
        self._apply(self.outbox.mark_dead, record_id, result.detail)
        return True

    def _delivered(self, record_id: str, size: int, result: DeliveryResult) -> None:
        self._link_failures = 0
        self._count("bytes_sent", size)
        if result.outcome is DeliveryOutcome.ALREADY_HELD:
            self._count("already_at_centre")
        else:
            self._count("uploads_accepted")
        self._apply(self.outbox.mark_delivered, record_id, result.detail)

    def _reschedule(self, record: OutboxRecord, error: str, retry_after: float | None) -> None:
        delay = self.backoff.delay(record.attempts + 1, retry_after)
        log.info("record %s: %s; next attempt in %.2f s", record.record_id, error, delay)
        self._apply(self.outbox.mark_attempt, record.record_id, error, time.time() + delay)

    def _apply(self, method: Callable[..., object], record_id: str, *args: object) -> None:
        """Commit one outcome; when the disk refuses it, hold it and pause delivery."""
        try:
            method(record_id, *args)
        except StorageFailure as exc:
            with self._counter_lock:
                self._unsaved[record_id] = (method, args)
            self._storage_failed(exc)
        except OutboxError:
            log.exception("outbox update failed for %s", record_id)

    def _commit_unsaved(self) -> bool:
        """Commit the held outcomes, oldest first; False (and paused again) while the disk
        still refuses them."""
        with self._counter_lock:
            held = list(self._unsaved.items())
        for record_id, (method, args) in held:
            try:
                method(record_id, *args)
            except StorageFailure as exc:
                self._storage_failed(exc)
                return False
            except OutboxError:
                log.exception("outbox update failed for %s", record_id)
            with self._counter_lock:
                self._unsaved.pop(record_id, None)
        if self.storage_fault is not None:
            log.warning("the outbox commits again; delivery resumes")
            self._storage_failures = 0
            self.storage_fault = None
        return True

    def _storage_failed(self, exc: StorageFailure) -> None:
        self._count("storage_failures")
        self._storage_failures += 1
        delay = self.backoff.delay(self._storage_failures)
        self._storage_paused_until = time.time() + delay
        first = self.storage_fault is None
        self.storage_fault = exc
        if first:
            log.error("the outbox cannot commit (%s); delivery paused", exc)
        else:
            log.info("the outbox still cannot commit; next try in %.1f s", delay)

    @property
    def unsaved(self) -> int:
        """Outcomes held in memory until the outbox can commit them."""
        with self._counter_lock:
            return len(self._unsaved)
