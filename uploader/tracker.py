"""The status tracker: follows every record pending at the centre to its outcome, asking about
many records per request (a batch) and, when the centre keeps one, following its change feed
with a long-poll, so the centre's decisions reach the kit as they happen."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import datetime

from uploader.centre_client import (
    STATUS_BATCH,
    CentreClient,
    CentreError,
    CentreStatus,
    CentreUnreachable,
)
from uploader.outbox import (
    CENTRE_STATES,
    TRACKED_STATES,
    Cause,
    Outbox,
    OutboxError,
    OutboxRecord,
    RecordState,
)
from uploader.retry import BackgroundWorker, Backoff, LinkPause

log = logging.getLogger(__name__)

MAX_BATCHES_PER_PASS = 8  # a pass asks about at most this many batches before it rests
FEED_IDLE_GAP = 1.0  # seconds between two long-polls when the last one brought nothing
MAX_EARLY_CHANGES = 1000  # feed changes kept for records whose upload answer is on its way


@dataclass
class TrackerCounters:
    polls: int = 0  # records asked about
    requests: int = 0  # requests sent (batches and long-polls)
    feed_changes: int = 0  # changes the feed brought
    status_changes: int = 0
    poll_failures: int = 0
    resends: int = 0

    def snapshot(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class StatusTracker(BackgroundWorker):
    """Asks the centre about SENT_FOR_ENROLLMENT, RECEIVED_AT_CENTRAL and ADJUDICATE_RECORD
    records and writes what it says into the outbox.

    Each wake reads only the records whose poll is due (``Outbox.due_for_tracking``, an index),
    with those falling due within half an interval, and asks about up to ``STATUS_BATCH`` of
    them in one request. A record is asked about again
    after ``poll_interval`` seconds, backing off to ``max_poll_interval`` the longer it has been
    at the centre (an eighth of its time there). When the centre keeps a change feed and the
    tracker knows its ``station_id``, it holds a long-poll of up to ``feed_wait`` seconds open,
    and the centre answers as soon as one of the station's records changes; the batch poll then
    only reconciles, every ``reconcile_interval`` seconds per record.

    Only the centre's signed receipt for a record's own package moves it (the client refuses
    anything else as a network fault), so the states after which a package is purged are reached
    only on the centre's verified word. ENROLL_FAILURE_AT_CENTRAL is resent automatically (up
    to ``max_resends`` times); a record the centre keeps answering 404 for
    (``resend_after_not_found`` polls) is resent too; ``on_resend`` is called after a resend.
    Timers run on ``clock`` (monotonic); a new tracker finds every pending record due.
    """

    name = "rekam-tracker"

    def __init__(
        self,
        outbox: Outbox,
        client: CentreClient,
        *,
        station_id: str | None = None,
        poll_interval: float = 5.0,
        max_poll_interval: float = 600.0,
        adjudication_poll_interval: float | None = None,
        reconcile_interval: float = 3600.0,
        feed_wait: float = 25.0,
        backoff: Backoff | None = None,
        max_resends: int = 3,
        resend_after_not_found: int = 3,
        on_resend: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.outbox = outbox
        self.client = client
        self.station_id = station_id
        self.poll_interval = poll_interval
        self.max_poll_interval = max(poll_interval, max_poll_interval)
        self.adjudication_poll_interval = adjudication_poll_interval or poll_interval * 4
        self.reconcile_interval = reconcile_interval
        self.feed_wait = feed_wait
        self.link = LinkPause(backoff or Backoff(), clock)
        self.max_resends = max_resends
        self.resend_after_not_found = resend_after_not_found
        self.on_resend = on_resend
        self.clock = clock
        self.counters = TrackerCounters()
        self.cursor = ""  # where the tracker stands in the centre's change feed ("": no feed)
        self._not_found: dict[str, int] = {}
        self._early: dict[str, CentreStatus] = {}
        self._early_lock = threading.Lock()
        self._feed_rests_until = 0.0
        outbox.reset_polls(clock())

    @property
    def following_feed(self) -> bool:
        """Whether status changes arrive through the centre's change feed."""
        return bool(self.cursor and self.station_id)

    def next_wait(self) -> float:
        now = self.clock()
        paused = self.link.remaining()
        if paused > 0:
            return paused
        due = self.outbox.next_poll_time()
        wait = self.max_poll_interval if due is None else max(0.0, due - now)
        if self.following_feed:
            wait = min(wait, max(0.0, self._feed_rests_until - now))
        return min(wait, self.max_poll_interval)

    def run_once(self, now: float | None = None) -> int:
        """Ask about the records due (in batches), then wait on the feed if there is one.
        Returns how many records were asked about or changed."""
        now = self.clock() if now is None else now
        if self.link.remaining() > 0:
            return 0
        handled = 0
        horizon = now + self._coalesce()
        for _ in range(MAX_BATCHES_PER_PASS):
            due = self.outbox.due_for_tracking(horizon, STATUS_BATCH)
            if not due or self.stopping.is_set():
                break
            if not self._poll(due, now):
                return handled
            handled += len(due)
            if len(due) < STATUS_BATCH:
                break
        if self.following_feed and not self.stopping.is_set() and now >= self._feed_rests_until:
            handled += self._follow_feed()
        return handled

    def _coalesce(self) -> float:
        """Records due within this many seconds are asked about with those due now: one
        request per half interval at most, rather than one per record as each falls due."""
        return (self.reconcile_interval if self.following_feed else self.poll_interval) / 2

    def delivered(self, record_id: str) -> None:
        """``record_id`` was just delivered: without the feed it is asked about now (which
        also finds out whether the centre keeps a feed); with it, a change the feed brought
        while the upload's answer was on its way applies now, and it is reconciled later."""
        first = self.reconcile_interval if self.following_feed else 0.0
        self.outbox.schedule_polls([(record_id, self.clock() + first)])
        with self._early_lock:
            early = self._early.pop(record_id, None)
        if early is not None:
            self._apply_change(early)
        self.kick()

    # -- batch polls ---------------------------------------------------------------------------

    def _poll(self, records: list[OutboxRecord], now: float) -> bool:
        """Ask about ``records`` in one request; returns False when the link failed."""
        self.counters.polls += len(records)
        self.counters.requests += 1
        attempt = self.link.attempt()
        try:
            answer = self.client.status_batch([(r.record_id, r.sha256) for r in records])
        except CentreUnreachable as exc:
            return self._failed(records, attempt, exc, None)
        except CentreError as exc:
            return self._failed(records, attempt, exc, exc.retry_after)
        self.link.succeeded()
        self._note_centre_time(answer.statuses.values())
        if answer.cursor and not self.cursor:
            self.cursor = answer.cursor
        for record in records:
            if record.record_id not in answer.statuses:
                self.counters.poll_failures += 1
            else:
                self._answered(record, answer.statuses[record.record_id])
        self._schedule(records, now)
        return True

    def _failed(
        self, records: list[OutboxRecord], attempt: int, exc: Exception, retry_after: float | None
    ) -> bool:
        self.counters.poll_failures += len(records)
        self.link.failed(attempt, retry_after)
        log.info("status of %d records: %s", len(records), exc)
        return False

    def _schedule(self, records: list[OutboxRecord], now: float) -> None:
        try:
            self.outbox.schedule_polls([(r.record_id, now + self._interval(r)) for r in records])
        except OutboxError:
            log.exception("scheduling status polls failed")

    def _interval(self, record: OutboxRecord) -> float:
        """Seconds until ``record`` is asked about again: longer the longer it has been at the
        centre, and only to reconcile while the feed brings changes."""
        if self.following_feed:
            return self.reconcile_interval
        base = self.poll_interval
        if record.state == RecordState.ADJUDICATE_RECORD:
            base = self.adjudication_poll_interval
        at_centre = max(0.0, time.time() - (record.delivered_at or time.time()))
        return min(max(base, at_centre / 8), max(base, self.max_poll_interval))

    def _answered(self, record: OutboxRecord, status: CentreStatus | None) -> None:
        try:
            if status is None:
                self._unknown(record)
            else:
                self._not_found.pop(record.record_id, None)
                self._apply_status(record, status)
        except OutboxError:
            log.exception("outbox update failed for %s", record.record_id)

    def _unknown(self, record: OutboxRecord) -> None:
        count = self._not_found.get(record.record_id, 0) + 1
        self._not_found[record.record_id] = count
        if count >= self.resend_after_not_found:
            self._not_found.pop(record.record_id, None)
            self._resend(record, "centre does not know this record", Cause.RESENT_UNKNOWN_AT_CENTRE)

    # -- the change feed -------------------------------------------------------------------------

    def _follow_feed(self) -> int:
        """One long-poll on the feed; returns how many changes it brought."""
        assert self.station_id is not None
        self.counters.requests += 1
        attempt = self.link.attempt()
        try:
            feed = self.client.status_feed(self.station_id, self.cursor, self.feed_wait)
        except CentreError as exc:
            if exc.status == 404:  # the centre keeps no feed (any more): poll everything
                log.info("the centre keeps no change feed; polling in batches")
                self.cursor = ""
                self.outbox.reset_polls(self.clock())
            else:
                self.link.failed(attempt, exc.retry_after)
            return 0
        except CentreUnreachable as exc:
            self.link.failed(attempt)
            log.info("status feed: %s", exc)
            return 0
        self.link.succeeded()
        self._note_centre_time(feed.changes)
        for change in feed.changes:
            self._apply_change(change)
        self.counters.feed_changes += len(feed.changes)
        self.cursor = feed.cursor or self.cursor
        self._feed_rests_until = 0.0 if feed.changes else self.clock() + FEED_IDLE_GAP
        return len(feed.changes)

    def _note_centre_time(self, statuses: Iterable[CentreStatus]) -> None:
        """Tell the kit's clock the latest time the centre stated in verified answers (its
        sanity bound: a kit far ahead of or behind its centre refuses to seal)."""
        stated = []
        for status in statuses:
            try:
                stated.append(datetime.fromisoformat(status.updated_at))
            except (TypeError, ValueError):
                continue
        clock = getattr(self.outbox, "clock", None)
        if stated and clock is not None:
            clock.saw_centre_time(max(stated))

    def _apply_change(self, change: CentreStatus) -> None:
        record = self.outbox.get(change.record_id)
        if record is None or record.sha256 != change.sha256:
            return  # not this kit's, or about another package of the record
        if record.state == RecordState.SEALED:  # the centre took it; the answer is on its way
            with self._early_lock:
                if len(self._early) < MAX_EARLY_CHANGES:
                    self._early[change.record_id] = change
            return
        if record.state in TRACKED_STATES:
            self._answered(record, change)

    # -- applying the centre's word ----------------------------------------------------------------

    def _apply_status(self, record: OutboxRecord, reported: CentreStatus) -> None:
        try:
            state = RecordState(reported.status)
        except ValueError:
            log.warning(
                "centre reported unknown status %r for %s", reported.status, record.record_id
            )
            return
        if state not in CENTRE_STATES:
            return
        detail = reported.detail
        if state != record.state or detail != record.detail:
            cause, facts = _cause_of(reported)
            self.outbox.set_status(record.record_id, state, detail, cause=cause, facts=facts)
            self.counters.status_changes += 1
        if state == RecordState.ENROLL_FAILURE_AT_CENTRAL:
            if record.resends < self.max_resends:
                self._resend(
                    record, f"resend after enroll failure: {detail}", Cause.RESENT_AFTER_FAILURE
                )
            else:
                log.warning(
                    "record %s: enroll failure after %d resends", record.record_id, record.resends
                )

    def _resend(self, record: OutboxRecord, reason: str, cause: Cause) -> None:
        self.outbox.requeue(record.record_id, reason, cause=cause)
        self.counters.resends += 1
        if self.on_resend is not None:
            self.on_resend()


def _cause_of(reported: CentreStatus) -> tuple[Cause, dict[str, str]]:
    """The cause of a status the centre reported, and its facts: DUPLICATE_OF naming the
    earlier record (and its NIK) when the centre's deduplication matched one."""
    if reported.status == RecordState.DUPLICATE_RECORD and reported.duplicate_of:
        facts = {"record_id": reported.duplicate_of, "nik": reported.duplicate_of_nik}
        return Cause.DUPLICATE_OF, facts
    return Cause.CENTRE_STATUS, {}
