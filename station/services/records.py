"""station.v1.Records: the outbox, delivery, and the centre's status of every sealed record."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from domain.messages import SOURCE_LANGUAGE, msg
from station.auth import TokenStore
from station.export_paths import ExportPathRefused, open_export_folder
from station.paging import PageTokens
from station.record_convert import STATUS_FROM_PB, STATUS_TO_PB, record_to_pb
from station.services.base import StationServicer
from station.v1 import records_pb2, records_pb2_grpc
from uploader.bundle import BundleError, WriteProgress, export_bundle
from uploader.bundle_receipt import BundleReceipt, Settlement, read_receipt, settle, summary
from uploader.keys import StationSigner
from uploader.outbox import Outbox, OutboxError, OutboxRecord, RecordState
from uploader.service import can_retry, send_again

log = logging.getLogger(__name__)

DEFAULT_PAGE = 100
MAX_PAGE = 500
# Bounds the walk over the current records of a WatchRecords call (50 million records).
MAX_WATCH_PAGES = 100_000


class BundleExporter:
    """The flash-disk desk: writes records of the outbox into a signed USB bundle (see
    :mod:`uploader.bundle`) and marks them CARRIED; settles them from the centre's signed
    receipt (:mod:`uploader.bundle_receipt`) when the drive comes back."""

    def __init__(
        self,
        outbox: Outbox,
        station_id: str,
        keys: StationSigner,
        receipt_key: Ed25519PublicKey | None = None,
    ) -> None:
        self.outbox = outbox
        self.station_id = station_id
        self.keys = keys
        self.receipt_key = receipt_key
        self._lock = threading.Lock()

    def pending(self, include_carried: bool = False) -> list[str]:
        """Records waiting for delivery; with ``include_carried`` also those already carried."""
        states = [RecordState.SEALED]
        if include_carried:
            states.append(RecordState.CARRIED)
        return [r.record_id for r in self.outbox.list(states)]

    def export(self, destination: Path, record_ids: list[str]) -> Iterator[WriteProgress]:
        """Write the bundle, one progress step per record; once it is complete on the drive,
        every record is CARRIED with the bundle's name in its history, then the last step
        (with the path) is yielded. A record carried earlier is exported again only when the
        caller names it (or asks for the carried ones)."""
        with self._lock:
            for step in export_bundle(
                self.outbox, record_ids, destination, self.station_id, self.keys
            ):
                if step.path is not None:
                    for record_id in record_ids:
                        self.outbox.mark_carried(record_id, step.path.name)
                    log.info("exported %d records to %s", len(record_ids), step.path)
                yield step

    def import_receipt(self, folder: Path) -> tuple[BundleReceipt, list[Settlement]]:
        """Verify the centre's ``receipt.json`` in the bundle folder and settle the records it
        names; raises BundleError for a missing, foreign or forged receipt."""
        if self.receipt_key is None:
            raise BundleError("no centre receipt key is configured ([centre] receipt_key)")
        receipt = read_receipt(folder, self.receipt_key)
        with self._lock:
            settlements = settle(self.outbox, receipt, self.station_id)
        log.info("receipt of bundle %s: %s", receipt.bundle, summary(settlements))
        return receipt, settlements


class RecordsService(StationServicer, records_pb2_grpc.RecordsServicer):
    def __init__(
        self,
        outbox: Outbox,
        tokens: TokenStore,
        kick_delivery: Callable[[], None],
        stopping: threading.Event,
        exporter: BundleExporter | None = None,
        language: str = SOURCE_LANGUAGE,
        export_roots: list[Path] | None = None,
    ) -> None:
        self.language = language  # the station's, for callers that ask for none we have
        self.export_roots = export_roots or []  # bundles are written only below these
        self.outbox = outbox
        self.tokens = tokens
        self.kick_delivery = kick_delivery
        self.stopping = stopping
        self.exporter = exporter
        self.pages = PageTokens()

    def _not_found(self, context: grpc.ServicerContext, record_id: str) -> None:
        self.refuse(
            context,
            grpc.StatusCode.NOT_FOUND,
            "RECORD_NOT_FOUND",
            msg("RECORD_NOT_FOUND", record_id=repr(record_id)),
        )

    def to_pb(
        self, record: OutboxRecord, language: str, with_history: bool = True
    ) -> records_pb2.Record:
        history = self.outbox.history(record.record_id) if with_history else None
        return record_to_pb(record, history, language)

    def ListRecords(self, request, context):
        """One page, oldest first: one indexed query for ``page_size + 1`` rows after the
        token's record (see ``station.paging``), whatever the outbox holds; the history too
        with RECORD_VIEW_FULL."""
        operator = self.caller(context)
        states = sorted({STATUS_FROM_PB[s] for s in request.statuses if s in STATUS_FROM_PB})
        query = "records:" + ",".join(s.value for s in states)
        size, after = self.page_bounds(
            context, self.pages, operator.name, query, request, DEFAULT_PAGE, MAX_PAGE
        )
        records = self.outbox.list(states or None, size + 1, after_seq=after)
        page = records[:size]
        more = len(records) > size
        full = request.view == records_pb2.RECORD_VIEW_FULL
        language = self.language_of(context)
        return records_pb2.ListRecordsResponse(
            records=[self.to_pb(r, language, with_history=full) for r in page],
            next_page_token=self.pages.token(operator.name, query, page[-1].seq) if more else "",
        )

    def GetRecord(self, request, context):
        self.caller(context)
        record = self.outbox.get(request.record_id)
        if record is None:
            self._not_found(context, request.record_id)
        return self.to_pb(record, self.language_of(context))

    def WatchRecords(self, request, context):
        self.caller(context)
        language = self.language_of(context)
        wanted = set(request.record_ids)
        seq = self.outbox.last_seq
        if request.include_current:
            for record in self._current(wanted):
                yield records_pb2.RecordEvent(record=self.to_pb(record, language))
        while context.is_active() and not self.stopping.is_set():
            for change in self.outbox.wait_for_change(seq, timeout=0.5):
                seq = max(seq, change.seq)
                if wanted and change.record_id not in wanted:
                    continue
                record = self.outbox.get(change.record_id)
                if record is None:
                    continue
                event = self.to_pb(record, language)
                event.status = STATUS_TO_PB[change.state]  # this change, even if another followed
                yield records_pb2.RecordEvent(
                    record=event,
                    previous_status=STATUS_TO_PB[change.previous] if change.previous else 0,
                )

    def _current(self, wanted: set[str]) -> Iterator[OutboxRecord]:
        """The records as they are now (only ``wanted`` ones, if any are named), a page at a
        time: the stream holds one page in memory, not the outbox."""
        if wanted:
            for record_id in sorted(wanted):
                record = self.outbox.get(record_id)
                if record is not None:
                    yield record
            return
        after = 0
        for _ in range(MAX_WATCH_PAGES):
            page = self.outbox.list(limit=MAX_PAGE, after_seq=after)
            yield from page
            if len(page) < MAX_PAGE:
                return
            after = page[-1].seq

    def ExportBundle(self, request, context):
        self.caller(context)
        exporter = self._exporter(context)
        folder = self._export_folder(context, request.destination)
        try:
            records = self._exportable(context, list(request.record_ids), request.include_carried)
            bytes_total = sum(record.size for record in records)
            for step in exporter.export(folder.path, [record.record_id for record in records]):
                path = "" if step.path is None else str(Path(request.destination) / step.path.name)
                yield records_pb2.ExportBundleResponse(
                    bundle_path=path,
                    record_count=step.records,
                    records_total=len(records),
                    bytes_written=step.size,
                    bytes_total=bytes_total,
                )
        except (BundleError, OutboxError, OSError) as exc:
            self.refuse(
                context,
                grpc.StatusCode.UNAVAILABLE,
                "EXPORT_FAILED",
                msg("EXPORT_FAILED", detail=str(exc)),
            )
        finally:
            folder.close()

    def ImportReceipt(self, request, context):
        self.caller(context)
        exporter = self._exporter(context)
        folder = self._export_folder(context, request.bundle_path)
        try:
            receipt, settlements = exporter.import_receipt(folder.path)
        except BundleError as exc:
            self.refuse(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                "CARRY_RECEIPT_INVALID",
                msg("CARRY_RECEIPT_INVALID", bundle=repr(request.bundle_path), detail=str(exc)),
            )
        finally:
            folder.close()
        counts = summary(settlements)
        response = records_pb2.ImportReceiptResponse(bundle_name=receipt.bundle, **counts)
        for item in settlements:
            response.outcomes.add(
                record_id=item.entry.record_id,
                outcome=item.entry.outcome,
                reason=item.entry.reason,
                status=STATUS_TO_PB[item.state] if item.state is not None else 0,
                applied=item.applied,
            )
        return response

    def _exporter(self, context: grpc.ServicerContext) -> BundleExporter:
        if self.exporter is None:
            self.refuse(
                context,
                grpc.StatusCode.UNIMPLEMENTED,
                "EXPORT_NOT_AVAILABLE",
                msg("EXPORT_NOT_AVAILABLE"),
            )
        assert self.exporter is not None
        return self.exporter

    def _exportable(
        self, context: grpc.ServicerContext, requested: list[str], include_carried: bool
    ) -> list[OutboxRecord]:
        """The records to export (by default those waiting for delivery), each with its
        package still on the kit; a CARRIED record only with ``include_carried``."""
        assert self.exporter is not None
        records = []
        for record_id in requested or self.exporter.pending(include_carried):
            record = self.outbox.get(record_id)
            if record is None:
                self._not_found(context, record_id)
            if record.package_path is None:
                self.refuse(
                    context,
                    grpc.StatusCode.FAILED_PRECONDITION,
                    "PACKAGE_MISSING",
                    msg("PACKAGE_ALREADY_REMOVED", record_id=record_id),
                )
            if record.state is RecordState.CARRIED and not include_carried:
                self.refuse(
                    context,
                    grpc.StatusCode.FAILED_PRECONDITION,
                    "EXPORT_ALREADY_CARRIED",
                    msg("EXPORT_ALREADY_CARRIED", record_id=record_id),
                )
            records.append(record)
        if not records:
            self.refuse(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                "NOTHING_TO_EXPORT",
                msg("NOTHING_TO_EXPORT"),
            )
        return records

    def _export_folder(self, context: grpc.ServicerContext, destination: str):  # type: ignore[no-untyped-def]
        """The checked destination folder, opened; refused (INVALID_ARGUMENT) when it is not
        a folder below a configured removable-media root, passes through a link, or is
        missing."""
        try:
            return open_export_folder(destination, self.export_roots)
        except ExportPathRefused as exc:
            if exc.reason == "EXPORT_OUTSIDE_ROOTS":
                roots = ", ".join(str(r) for r in self.export_roots) or "-"
                message = msg("EXPORT_OUTSIDE_ROOTS", roots=roots, destination=repr(destination))
            elif exc.reason == "EXPORT_SYMLINK":
                message = msg("EXPORT_SYMLINK", destination=repr(destination))
            else:
                message = msg("EXPORT_DESTINATION_INVALID", destination=repr(destination))
            self.refuse(context, grpc.StatusCode.INVALID_ARGUMENT, exc.reason, message)
        raise AssertionError("unreachable")

    def RetryDelivery(self, request, context):
        self.caller(context)
        record = self.outbox.get(request.record_id)
        if record is None:
            self._not_found(context, request.record_id)
        if not can_retry(record):
            self.refuse(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                "RECORD_NOT_RETRYABLE",
                msg("RECORD_NOT_RETRYABLE", state=record.state.value),
            )
        try:
            record = send_again(self.outbox, request.record_id, "retry requested by operator")
        except OutboxError as exc:
            self.refuse(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                "PACKAGE_MISSING",
                msg("RECORD_NOT_RESENDABLE", detail=str(exc)),
            )
        self.kick_delivery()
        return self.to_pb(record, self.language_of(context))
