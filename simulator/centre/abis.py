"""The centre's decision step: deduplicate each received record against the gallery.

After ``decision_delay`` seconds a RECEIVED_AT_CENTRAL record becomes DUPLICATE_RECORD when
its prints match a record already enrolled (under any NIK), ADJUDICATE_RECORD when it has no
usable prints, or PRINT_READY_RECORD (and joins the gallery).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from quality.matching import FingerprintMatcher, FingerTemplate
from simulator.centre.store import CentreStore

log = logging.getLogger(__name__)

RECEIVED = "RECEIVED_AT_CENTRAL"
PRINT_READY = "PRINT_READY_RECORD"
DUPLICATE = "DUPLICATE_RECORD"
ADJUDICATE = "ADJUDICATE_RECORD"
ENROLL_FAILURE = "ENROLL_FAILURE_AT_CENTRAL"
SEARCH_FAILURE = "SEARCH_FAILURE_AT_CENTRAL"


class Abis:
    """Gallery of enrolled prints plus the background thread that takes decisions."""

    def __init__(
        self,
        store: CentreStore,
        matcher: FingerprintMatcher,
        *,
        forced_outcome: Callable[[str], str | None] | None = None,
        templates_of: Callable[[str], dict[str, bytes]] | None = None,
    ) -> None:
        """``templates_of`` extracts a received record's minutiae records (kept once found)."""
        self.store = store
        self.templates_of = templates_of
        self.matcher = matcher
        self.forced_outcome = forced_outcome or (lambda nik: None)
        self._gallery: dict[str, dict[str, FingerTemplate]] = {}
        self._wake = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        for record in store.records_with_status(PRINT_READY):
            self._gallery[record.record_id] = self._load(record.record_id)

    def _load(self, record_id: str) -> dict[str, FingerTemplate]:
        stored = self.store.templates(record_id)
        if not stored and self.templates_of is not None:
            stored = self.templates_of(record_id)
            self.store.add_templates(record_id, stored)
        return {position: FingerTemplate.from_bytes(data) for position, data in stored.items()}

    @property
    def gallery_size(self) -> int:
        return len(self._gallery)

    def start(self) -> None:
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="centre-abis", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._wake:
            self._stop = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def notify(self) -> None:
        """A record was received or resubmitted: re-read the decision schedule."""
        with self._wake:
            self._wake.notify_all()

    def _run(self) -> None:
        while True:
            with self._wake:
                if self._stop:
                    return
                pending = self.store.pending_decisions()
                now = time.time()
                due = [record_id for record_id, at in pending if at <= now]
                if not due:
                    wait = (pending[0][1] - now) if pending else 1.0
                    self._wake.wait(min(max(wait, 0.001), 1.0))
                    continue
            for record_id in due:
                if self._stop:
                    return
                try:
                    self.decide(record_id)
                except Exception:
                    log.exception("decision failed for %s", record_id)
                    self.store.set_status(record_id, SEARCH_FAILURE, "internal error in search")

    def decide(self, record_id: str) -> str:
        """Take the decision for one record now; returns the new status."""
        record = self.store.get(record_id)
        if record is None:
            return ""
        forced = self.forced_outcome(record.nik)
        if forced:
            self.store.set_status(record_id, forced, "forced by the simulator")
            return forced
        gallery_side = self._load(record_id)
        duplicate_of = ""
        if not gallery_side:
            status, detail = ADJUDICATE, "no usable fingerprints; manual adjudication"
        else:
            probe = gallery_side
            status, detail = PRINT_READY, "no match in the gallery"
            for other_id, other in list(self._gallery.items()):
                if other_id == record_id:
                    continue
                result = self.matcher.compare_records(probe, other)
                if result.same_person:
                    other_record = self.store.get(other_id)
                    other_nik = other_record.nik if other_record else "?"
                    which = "the same NIK" if other_nik == record.nik else f"NIK {other_nik}"
                    status, duplicate_of = DUPLICATE, other_id
                    detail = (
                        f"same person as record {other_id} ({which}); "
                        f"{result.matched_fingers}/{result.compared_fingers} fingers match"
                    )
                    break
            if status == PRINT_READY:
                self._gallery[record_id] = gallery_side
        self.store.set_status(record_id, status, detail, duplicate_of=duplicate_of)
        log.info("record %s: %s (%s)", record_id, status, detail)
        return status
