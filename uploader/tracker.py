"""The status tracker: polls the centre for every record whose outcome is still pending."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields

from uploader.centre_client import CentreClient, CentreError, CentreUnreachable
from uploader.outbox import (
    CENTRE_STATES,
    TRACKED_STATES,
    Outbox,
    OutboxError,
    OutboxRecord,
    RecordState,
)
from uploader.retry import BackgroundWorker, Backoff

log = logging.getLogger(__name__)


@dataclass
class TrackerCounters:
    polls: int = 0
    status_changes: int = 0
    poll_failures: int = 0
    resends: int = 0

    def snapshot(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class _Schedule:
    next_poll_at: float = 0.0
    failures: int = 0
    not_found: int = 0


class StatusTracker(BackgroundWorker):
    """Polls ``GET /v1/records/{id}`` for SENT_FOR_ENROLLMENT, RECEIVED_AT_CENTRAL and
    ADJUDICATE_RECORD records and writes what the centre says into the outbox.

    Only the centre's signed receipt for this record's own package moves a record (the client
    refuses anything else as a network fault), so the states after which a package is purged
    are reached only on the centre's verified word.

    ENROLL_FAILURE_AT_CENTRAL is resent automatically (up to ``max_resends`` times); a record
    the centre keeps answering 404 for (``resend_after_not_found`` polls) is resent too.
    ``on_resend`` is called after a resend (the uploader kicks delivery with it).
    """

    name = "rekam-tracker"

    def __init__(
        self,
        outbox: Outbox,
        client: CentreClient,
        *,
        poll_interval: float = 5.0,
        adjudication_poll_interval: float | None = None,
        backoff: Backoff | None = None,
        max_resends: int = 3,
        resend_after_not_found: int = 3,
        on_resend: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.outbox = outbox
        self.client = client
        self.poll_interval = poll_interval
        self.adjudication_poll_interval = adjudication_poll_interval or poll_interval * 4
        self.backoff = backoff or Backoff()
        self.max_resends = max_resends
        self.resend_after_not_found = resend_after_not_found
        self.on_resend = on_resend
        self.counters = TrackerCounters()
        self._schedule: dict[str, _Schedule] = {}
        self._lock = threading.Lock()
        self._link_failures = 0
        self._link_paused_until = 0.0

    def next_wait(self) -> float:
        now = time.time()
        if self._link_paused_until > now:
            return self._link_paused_until - now
        with self._lock:
            upcoming = [s.next_poll_at for s in self._schedule.values()]
        soonest = min(upcoming, default=now + self.poll_interval)
        return min(self.poll_interval, max(0.0, soonest - now))

    def run_once(self, now: float | None = None) -> int:
        now = time.time() if now is None else now
        if self._link_paused_until > now:
            return 0
        records = self.outbox.list(states=TRACKED_STATES)
        with self._lock:
            live = {r.record_id for r in records}
            for gone in set(self._schedule) - live:
                del self._schedule[gone]
        polled = 0
        for record in records:
            if self.stopping.is_set():
                break
            with self._lock:
                schedule = self._schedule.setdefault(record.record_id, _Schedule())
            if schedule.next_poll_at > now:
                continue
            polled += 1
            if not self._poll(record, schedule):
                break
        return polled

    def _poll(self, record: OutboxRecord, schedule: _Schedule) -> bool:
        """Poll one record; returns False when the centre is unreachable."""
        self.counters.polls += 1
        try:
            status = self.client.status(record.record_id, record.sha256)
        except CentreUnreachable as exc:
            self.counters.poll_failures += 1
            self._link_failures += 1
            self._link_paused_until = time.time() + self.backoff.delay(self._link_failures)
            log.info("status poll for %s failed: %s", record.record_id, exc)
            return False
        except CentreError as exc:
            self.counters.poll_failures += 1
            schedule.failures += 1
            delay = self.backoff.delay(schedule.failures, exc.retry_after)
            schedule.next_poll_at = time.time() + max(delay, self.poll_interval)
            return True
        self._link_failures = 0
        schedule.failures = 0
        interval = (
            self.adjudication_poll_interval
            if record.state == RecordState.ADJUDICATE_RECORD
            else self.poll_interval
        )
        schedule.next_poll_at = time.time() + interval
        try:
            if status is None:
                self._not_found(record, schedule)
            else:
                schedule.not_found = 0
                self._apply_status(record, status.status, status.detail)
        except OutboxError:
            log.exception("outbox update failed for %s", record.record_id)
        return True

    def _not_found(self, record: OutboxRecord, schedule: _Schedule) -> None:
        schedule.not_found += 1
        if schedule.not_found >= self.resend_after_not_found:
            schedule.not_found = 0
            self._resend(record, "centre does not know this record")

    def _apply_status(self, record: OutboxRecord, reported: str, detail: str) -> None:
        try:
            state = RecordState(reported)
        except ValueError:
            log.warning("centre reported unknown status %r for %s", reported, record.record_id)
            return
        if state not in CENTRE_STATES:
            return
        if state != record.state or detail != record.detail:
            self.outbox.set_status(record.record_id, state, detail)
            self.counters.status_changes += 1
        if state == RecordState.ENROLL_FAILURE_AT_CENTRAL:
            if record.resends < self.max_resends:
                self._resend(record, f"resend after enroll failure: {detail}")
            else:
                log.warning(
                    "record %s: enroll failure after %d resends", record.record_id, record.resends
                )

    def _resend(self, record: OutboxRecord, reason: str) -> None:
        self.outbox.requeue(record.record_id, reason)
        self.counters.resends += 1
        if self.on_resend is not None:
            self.on_resend()
