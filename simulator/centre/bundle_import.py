"""Importing a USB bundle at the centre: every record's outcome by id, with progress, resumable
after an interruption, and the centre's signed receipt written back onto the drive.

The bundle is opened with :func:`uploader.bundle.open_bundle` (signature first, no links).
Each record is ingested like an upload (``via="bundle"``), so a record already held answers
ALREADY_RECEIVED and is never stored twice. A journal in ``centre.sqlite`` (keyed by the
manifest's SHA-256) remembers each record's outcome: importing the same bundle after a crash
or a SIGKILL resumes, keeps the outcomes already reached, and reports a record whose ingest
committed just before the interruption as accepted, not as a duplicate. Once every record has
an outcome, ``receipt.json`` (see :mod:`uploader.bundle_receipt`) goes into the bundle's folder
and the import is complete; importing it again afterwards is a new import, whose records are
then all duplicates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from uploader.bundle import Bundle, BundleEntry, BundleError, open_bundle
from uploader.bundle_receipt import BundleReceipt, ImportOutcome, ReceiptEntry, write_receipt

if TYPE_CHECKING:
    from simulator.centre.server import CentreServer
    from simulator.centre.store import CentreStore

log = logging.getLogger(__name__)

DAMAGED_IN_BUNDLE = "DAMAGED_IN_BUNDLE"
_ACCEPTED_CODES = frozenset({"RECEIVED", "RESUBMITTED"})
_HELD_CODE = "ALREADY_RECEIVED"


@dataclass(frozen=True)
class RecordOutcome:
    """What the import did with one record: ``code`` is the ingest answer's code, ``resumed``
    says the outcome was reached by an earlier, interrupted run of this import."""

    record_id: str
    sha256: str
    outcome: ImportOutcome
    reason: str
    code: str
    resumed: bool = False


@dataclass(frozen=True)
class ImportResult:
    bundle: Bundle
    outcomes: tuple[RecordOutcome, ...]
    receipt_path: Path | None  # None when the receipt could not be written (drive read-only?)
    receipt_error: str = ""

    def counts(self) -> dict[str, int]:
        """How many records got each ingest code (RECEIVED, ALREADY_RECEIVED, ...)."""
        counts: dict[str, int] = {}
        for item in self.outcomes:
            counts[item.code] = counts.get(item.code, 0) + 1
        return counts


# Called after each record: (records done, records in the bundle, the record's outcome).
Progress = Callable[[int, int, RecordOutcome], None]


class BundleImporter:
    """Imports bundles into one centre (started, or only opened with ``CentreServer.open``)."""

    def __init__(self, centre: CentreServer) -> None:
        self.centre = centre

    @property
    def _store(self) -> CentreStore:
        assert self.centre.store is not None, "open or start the centre first"
        return self.centre.store

    def run(self, path: str | Path, on_progress: Progress | None = None) -> ImportResult:
        """Import every record of the bundle at ``path`` and write its receipt.

        Raises :class:`uploader.bundle.BundleError` for a bundle that is unsigned, tampered or
        foreign (nothing is imported).
        """
        bundle = open_bundle(Path(path), self.centre.bundle_key)
        journal = self._store.begin_import(bundle.manifest_sha256, bundle.path.name)
        outcomes = []
        for done, entry in enumerate(bundle.entries, start=1):
            step = journal.get(entry.record_id)
            if step is not None and step.outcome is not None:
                outcome = RecordOutcome(
                    entry.record_id,
                    entry.sha256,
                    ImportOutcome(step.outcome),
                    step.reason,
                    step.code,
                    resumed=True,
                )
            else:
                outcome = self._import_one(bundle, entry)
            outcomes.append(outcome)
            if on_progress is not None:
                on_progress(done, len(bundle.entries), outcome)
        return self._finish(bundle, tuple(outcomes))

    def _import_one(self, bundle: Bundle, entry: BundleEntry) -> RecordOutcome:
        store = self._store
        began = store.import_started(bundle.manifest_sha256, entry.record_id)
        try:
            data = bundle.read_package(entry)
        except BundleError as exc:
            outcome = RecordOutcome(
                entry.record_id,
                entry.sha256,
                ImportOutcome.DAMAGED,
                f"{DAMAGED_IN_BUNDLE}: {exc}",
                DAMAGED_IN_BUNDLE,
            )
        else:
            _status, answer = self.centre.ingest(entry.record_id, data, entry.sha256, "bundle")
            outcome = self._judge(entry, str(answer.get("code", "")), answer, began)
        store.import_finished(
            bundle.manifest_sha256,
            entry.record_id,
            outcome.outcome.value,
            outcome.reason,
            outcome.code,
        )
        return outcome

    def _judge(self, entry: BundleEntry, code: str, answer: dict, began: float) -> RecordOutcome:
        if code in _ACCEPTED_CODES:
            kind = ImportOutcome.ACCEPTED
        elif code == _HELD_CODE:
            held = self._store.get(entry.record_id)
            # Stored since this import began on the record: an interrupted run of it did that.
            ours = held is not None and held.received_at >= began
            kind = ImportOutcome.ACCEPTED if ours else ImportOutcome.DUPLICATE
        else:
            reason = f"{code}: {answer.get('message', '')}".strip(": ")
            return RecordOutcome(entry.record_id, entry.sha256, ImportOutcome.DAMAGED, reason, code)
        return RecordOutcome(entry.record_id, entry.sha256, kind, "", code)

    def _finish(self, bundle: Bundle, outcomes: tuple[RecordOutcome, ...]) -> ImportResult:
        store = self._store
        entries = []
        for item in outcomes:
            held = store.get(item.record_id)
            status = held.status if held is not None and held.sha256 == item.sha256 else ""
            entries.append(
                ReceiptEntry(item.record_id, item.sha256, item.outcome.value, item.reason, status)
            )
        receipt = BundleReceipt(
            bundle=bundle.path.name,
            station_id=bundle.station_id,
            manifest_sha256=bundle.manifest_sha256,
            issued_at=datetime.now(UTC).isoformat(),
            records=tuple(entries),
        )
        try:
            receipt_path = write_receipt(bundle.path, self.centre.identity.receipt_key, receipt)
        except OSError as exc:
            log.warning("bundle %s imported; its receipt was not written: %s", bundle.path, exc)
            return ImportResult(bundle, outcomes, None, str(exc))
        store.complete_import(bundle.manifest_sha256)
        return ImportResult(bundle, outcomes, receipt_path)
