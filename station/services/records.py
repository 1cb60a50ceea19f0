"""station.v1.Records: the outbox, delivery, and the centre's status of every sealed record."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import grpc

from capture.plan import Category
from drivers.errors import OperatorText
from station import convert
from station.auth import TokenStore, caller
from station.errors import abort
from station.v1 import records_pb2, records_pb2_grpc
from uploader.outbox import Outbox, OutboxError, OutboxRecord, RecordState

STATUS_TO_PB: dict[RecordState, int] = {
    s: records_pb2.RecordStatus.Value(f"RECORD_STATUS_{s.name}") for s in RecordState
}
STATUS_FROM_PB: dict[int, RecordState] = {v: k for k, v in STATUS_TO_PB.items()}
MAX_PAGE = 500


def _moment(seconds: float | None):
    if seconds is None or seconds <= 0:
        return None
    return convert.timestamp(datetime.fromtimestamp(seconds, UTC))


def _not_found(context: grpc.ServicerContext, record_id: str) -> None:
    abort(
        context,
        grpc.StatusCode.NOT_FOUND,
        "RECORD_NOT_FOUND",
        OperatorText(
            f"No record {record_id!r} in this kit's outbox.",
            f"Tidak ada rekaman {record_id!r} di kotak keluar perangkat ini.",
        ),
    )


class RecordsService(records_pb2_grpc.RecordsServicer):
    def __init__(
        self,
        outbox: Outbox,
        tokens: TokenStore,
        kick_delivery: Callable[[], None],
        stopping: threading.Event,
    ) -> None:
        self.outbox = outbox
        self.tokens = tokens
        self.kick_delivery = kick_delivery
        self.stopping = stopping

    def to_pb(self, record: OutboxRecord, with_history: bool = True) -> records_pb2.Record:
        meta = record.meta or {}
        category = convert.CATEGORY_TO_PB.get(Category(record.category)) if record.category else 0
        message = records_pb2.Record(
            record_id=record.record_id,
            enrollment_id=str(meta.get("enrollment_id", "")),
            category=category or 0,
            status=STATUS_TO_PB[record.state],
            delivery_attempts=record.attempts,
            last_error=record.last_error,
            sealed_at=_moment(record.created_at),
            updated_at=_moment(record.updated_at),
            quality={str(k): int(v) for k, v in meta.get("quality", {}).items()},
            package_sha256=record.sha256,
            package_size=record.size,
        )
        if record.state is RecordState.SEALED:
            stamp = _moment(record.next_attempt_at)
            if stamp is not None:
                message.next_attempt_at.CopyFrom(stamp)
        if with_history:
            for change in self.outbox.history(record.record_id):
                message.history.add(
                    status=STATUS_TO_PB[change.state], time=_moment(change.at), detail=change.detail
                )
        return message

    def ListRecords(self, request, context):
        caller(context, self.tokens)
        states = [STATUS_FROM_PB[s] for s in request.statuses if s in STATUS_FROM_PB] or None
        page_size = min(request.page_size or 100, MAX_PAGE)
        try:
            offset = int(request.page_token or 0)
        except ValueError:
            offset = -1
        if offset < 0:
            abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                "PAGE_TOKEN_INVALID",
                OperatorText(
                    "The page token is not one this station gave out.",
                    "Token halaman bukan dari stasiun ini.",
                ),
            )
        records = self.outbox.list(states)
        page = records[offset : offset + page_size]
        next_token = str(offset + page_size) if offset + page_size < len(records) else ""
        return records_pb2.ListRecordsResponse(
            records=[self.to_pb(r, with_history=False) for r in page], next_page_token=next_token
        )

    def GetRecord(self, request, context):
        caller(context, self.tokens)
        record = self.outbox.get(request.record_id)
        if record is None:
            _not_found(context, request.record_id)
        return self.to_pb(record)

    def WatchRecords(self, request, context):
        caller(context, self.tokens)
        wanted = set(request.record_ids)
        seq = self.outbox.last_seq
        if request.include_current:
            for record in self.outbox.list():
                if not wanted or record.record_id in wanted:
                    yield records_pb2.RecordEvent(record=self.to_pb(record))
        while context.is_active() and not self.stopping.is_set():
            for change in self.outbox.wait_for_change(seq, timeout=0.5):
                seq = max(seq, change.seq)
                if wanted and change.record_id not in wanted:
                    continue
                record = self.outbox.get(change.record_id)
                if record is None:
                    continue
                yield records_pb2.RecordEvent(
                    record=self.to_pb(record),
                    previous_status=STATUS_TO_PB[change.previous] if change.previous else 0,
                )

    def ExportBundle(self, request, context):
        caller(context, self.tokens)
        abort(
            context,
            grpc.StatusCode.UNIMPLEMENTED,
            "EXPORT_NOT_AVAILABLE",
            OperatorText(
                "Export to a USB bundle is not available in this version; records are kept "
                "safely in the outbox until the network returns.",
                "Ekspor ke bundel USB belum tersedia di versi ini; rekaman tetap aman di kotak "
                "keluar sampai jaringan kembali.",
            ),
        )

    def RetryDelivery(self, request, context):
        caller(context, self.tokens)
        record = self.outbox.get(request.record_id)
        if record is None:
            _not_found(context, request.record_id)
        if record.state not in (RecordState.SEALED, RecordState.DEAD_LETTER):
            abort(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                "RECORD_NOT_RETRYABLE",
                OperatorText(
                    f"The centre already has this record ({record.state.value}).",
                    f"Pusat sudah menerima rekaman ini ({record.state.value}).",
                ),
            )
        try:
            record = self.outbox.requeue(request.record_id, "retry requested by operator")
        except OutboxError as exc:
            abort(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                "PACKAGE_MISSING",
                OperatorText(
                    f"The record cannot be resent: {exc}.",
                    f"Rekaman tidak dapat dikirim ulang: {exc}.",
                ),
            )
        self.kick_delivery()
        return self.to_pb(record)
