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
from functools import partial

from uploader.outbox import (
    Cause,
    Outbox,
    OutboxError,
    OutboxRecord,
    PackageMissing,
    RecordState,
    StorageFailure,
)
from uploader.retry import BackgroundWorker, Backoff, LinkPause
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
    (full-jitter backoff over consecutive outages; the uploads in flight when the link went down
    are one outage, not one each: :class:`LinkPause`); "retry later" reschedules only that
    record (honouring Retry-After; a busy receiver also pauses the link); a permanent rejection
    sends the record to DEAD_LETTER with the sink's detail. "Already held" (the receiver has
    these exact bytes) counts as delivered. A record carried to the centre on a flash disk is
    first asked about (the sink's optional ``held(record_id, sha256)``, a signed answer): when
    the centre holds it already, it is settled without sending its body.

    While the link rests, ``probe`` (a cheap question to the receiver, e.g. its health check)
    is asked every ``probe_interval`` seconds (jittered); the first success ends the pause, so
    deliveries resume within seconds of the receiver coming back, whatever the backoff had
    reached. :meth:`resume` ends it too (an operator's retry).

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
        probe: Callable[[], bool] | None = None,
        probe_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
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
        self.link = LinkPause(self.backoff, clock)
        self.probe = probe
        self.probe_interval = probe_interval
        self._next_probe_at = 0.0
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
        storage_paused = self._storage_paused_until - time.monotonic()
        if storage_paused > 0:
            return storage_paused
        paused = self.link.remaining()
        if paused > 0:
            if self.probe is None:
                return paused
            return min(paused, max(0.0, self._next_probe_at - self.link.clock()))
        if self.in_flight >= self.max_concurrent:
            return self.idle_interval  # a finishing upload kicks the worker
        now = time.time()  # records' next attempts are wall-clock times in the outbox
        due = self.outbox.next_due_time()
        if due is None:
            return self.idle_interval
        return min(self.idle_interval, max(0.0, due - now))

    def run_once(self, now: float | None = None) -> int:
        """Start uploads of due records, oldest first, into the free slots (in the calling
        thread, one after another, when the worker is not running). Returns uploads started."""
        now = time.time() if now is None else now
        if self._storage_paused_until > time.monotonic():
            return 0
        if self.link.remaining() > 0 and not self._probed():
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
        attempt = self.link.attempt()  # uploads started together meet the same outage
        started = 0
        for record in due:
            if started >= free or self.stopping.is_set():
                break
            if record.record_id in busy or record.record_id in self._unsaved:
                continue
            with self._counter_lock:
                self._in_flight.add(record.record_id)
            self._pool.submit(self._deliver_in_slot, record, attempt)
            started += 1
        return started

    def _probed(self) -> bool:
        """Whether a probe due now found the link back (ending the pause)."""
        now = self.link.clock()
        if self.probe is None or now < self._next_probe_at:
            return False
        jitter = self.backoff.rng.uniform(0.5, 1.0)
        self._next_probe_at = now + self.probe_interval * jitter
        if not self.probe():
            return False
        log.info("the link is back (probe answered); resuming deliveries")
        self.link.succeeded()
        return True

    def resume(self) -> None:
        """End the link's pause now and deliver (an operator asked to retry)."""
        self.link.succeeded()
        self.kick()

    def _run_inline(self, now: float) -> int:
        handled = 0
        for record in self.outbox.due_for_delivery(now, self.batch):
            if self.stopping.is_set() or self._unsaved:
                break
            handled += 1
            if not self._deliver(record, self.link.attempt()):
                break
        return handled

    def _deliver_in_slot(self, record: OutboxRecord, attempt: int) -> None:
        try:
            self._deliver(record, attempt)
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

    def _deliver(self, record: OutboxRecord, attempt: int) -> bool:
        """Upload one record (``attempt``: the link's round it started in). Returns False when
        the link should rest before the next one."""
        record_id = record.record_id
        if record.state is RecordState.CARRIED and self._held_at_centre(record):
            return True
        try:
            data = self.outbox.read_package(record_id)
        except PackageMissing as exc:
            damaged = partial(self.outbox.mark_dead, cause=Cause.PACKAGE_DAMAGED)
            self._apply(damaged, record_id, f"LOCAL_PACKAGE_DAMAGED: {exc}")
            self._count("dead_letters")
            return True
        result = self.sink.deliver(record_id, data, record.sha256)
        if result.outcome is DeliveryOutcome.TRANSPORT_FAILED:
            self._count("network_errors")
            # The link's pause paces retries after a network failure, not the record's own
            # history: when the link is back, every record it held back is due at once.
            self._reschedule(record, f"NETWORK: {result.detail}", None, failures=1)
            self.link.failed(attempt)
            return False
        if result.outcome in (DeliveryOutcome.DELIVERED, DeliveryOutcome.ALREADY_HELD):
            self._delivered(record_id, len(data), result)
            return True
        if result.outcome is DeliveryOutcome.RETRY_LATER:
            self._count("retryable_failures")
            self._reschedule(record, result.detail, result.retry_after)
            if result.receiver_busy:
                self.link.failed(attempt, result.retry_after)
                return False
            return True
        self._count("dead_letters")
        log.warning(
            "record %s rejected permanently (%s): %s", record_id, result.reason, result.detail
        )
        self._apply(self.outbox.mark_dead, record_id, result.detail)
        return True

    def _held_at_centre(self, record: OutboxRecord) -> bool:
        """Whether the centre says it holds this record's exact package; settled if so."""
        held = getattr(self.sink, "held", None)
        if held is None or not held(record.record_id, record.sha256):
            return False
        result = DeliveryResult.already_held("the centre already holds the carried package")
        self._delivered(record.record_id, 0, result)
        return True

    def _delivered(self, record_id: str, size: int, result: DeliveryResult) -> None:
        self.link.succeeded()
        self._count("bytes_sent", size)
        if result.outcome is DeliveryOutcome.ALREADY_HELD:
            self._count("already_at_centre")
        else:
            self._count("uploads_accepted")
        self._apply(self.outbox.mark_delivered, record_id, result.detail)

    def _reschedule(
        self,
        record: OutboxRecord,
        error: str,
        retry_after: float | None,
        failures: int | None = None,
    ) -> None:
        """The record's next attempt, after ``failures`` (default: its attempts so far + 1)."""
        delay = self.backoff.delay(failures or record.attempts + 1, retry_after)
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
        self._storage_paused_until = time.monotonic() + delay
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
