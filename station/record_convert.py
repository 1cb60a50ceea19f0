"""Conversions of outbox records and their status history into station.v1 messages: typed
per-position quality, and history entries with a machine-readable cause, the record a duplicate
matched, and a sentence in the caller's language."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from domain.messages import Message, sentence
from domain.vocabulary import ALL_POSITIONS, Category, Position
from station import convert
from station.v1 import records_pb2
from uploader.outbox import Cause, OutboxRecord, RecordState, StatusChange

STATUS_TO_PB: dict[RecordState, int] = {
    s: records_pb2.RecordStatus.Value(f"RECORD_STATUS_{s.name}") for s in RecordState
}
STATUS_FROM_PB: dict[int, RecordState] = {v: k for k, v in STATUS_TO_PB.items()}


def moment(seconds: float | None) -> Timestamp | None:
    """A wall-clock reading as a Timestamp; None for none (0 or less)."""
    if seconds is None or seconds <= 0:
        return None
    return convert.timestamp(datetime.fromtimestamp(seconds, UTC))


def position_scores(meta: dict) -> list[records_pb2.PositionScore]:
    """The record's quality per position, typed, in capture-plan order; positions this
    version does not know are left out."""
    scores = meta.get("quality", {})
    thresholds = meta.get("thresholds", {})
    return [
        records_pb2.PositionScore(
            position=convert.POSITION_TO_PB[position],
            score=int(scores[position]),
            threshold=int(thresholds.get(position, 0)),
        )
        for position in ALL_POSITIONS
        if position in scores
    ]


def change_message(change: StatusChange) -> Message | None:
    """The catalogue sentence of a history entry; None for one without a cause (written
    before causes were kept) or whose cause this version has no sentence for."""
    if not change.cause:
        return None
    if change.cause == Cause.CENTRE_STATUS:
        code = f"RECORD_CHANGE_CENTRE_{change.state.value}"
    elif change.cause == Cause.RECEIPT_SETTLED:
        code = f"RECORD_CHANGE_RECEIPT_{change.facts.get('outcome', '')}"
    else:
        code = f"RECORD_CHANGE_{change.cause}"
    if sentence(code, "en") is None:
        return None
    return Message(code, tuple(sorted(change.facts.items())))


def change_to_pb(change: StatusChange, language: str) -> records_pb2.StatusChange:
    """One history entry: ``detail`` in ``language`` (the stored text when there is no
    sentence for it), the stored text also as ``centre_detail``."""
    message = change_message(change)
    entry = records_pb2.StatusChange(
        status=STATUS_TO_PB[change.state],
        time=moment(change.at),
        detail=message.render(language) if message is not None else change.detail,
        reason_code=change.cause,
        centre_detail=change.detail,
    )
    if change.cause == Cause.DUPLICATE_OF:
        entry.duplicate_of.record_id = change.facts.get("record_id", "")
        entry.duplicate_of.nik = change.facts.get("nik", "")
    return entry


def record_to_pb(
    record: OutboxRecord, history: list[StatusChange] | None, language: str
) -> records_pb2.Record:
    """A sealed record; with its ``history`` when one is given."""
    meta = record.meta or {}
    message = records_pb2.Record(
        record_id=record.record_id,
        enrollment_id=str(meta.get("enrollment_id", "")),
        category=convert.CATEGORY_TO_PB.get(_category(record.category), 0),
        status=STATUS_TO_PB[record.state],
        delivery_attempts=record.attempts,
        last_error=record.last_error,
        sealed_at=moment(record.created_at),
        updated_at=moment(record.updated_at),
        package_sha256=record.sha256,
        package_size=record.size,
        quality_scores=position_scores(meta),
    )
    for score in message.quality_scores:  # the deprecated map, equal to the typed list
        message.quality[Position(convert.POSITION_FROM_PB[score.position]).value] = score.score
    if record.state is RecordState.SEALED:
        stamp = moment(record.next_attempt_at)
        if stamp is not None:
            message.next_attempt_at.CopyFrom(stamp)
    for change in history or ():
        message.history.append(change_to_pb(change, language))
    return message


def _category(value: str) -> Category | None:
    """The record's category, or None for one this version does not know."""
    try:
        return Category(value)
    except ValueError:
        return None
