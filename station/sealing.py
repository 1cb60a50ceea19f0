"""Turns a finished enrollment into a sealed package committed to the outbox."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from capture.enrollment import Enrollment, utcnow
from capture.errors import ErrorKind, WorkflowError
from capture.subject import ClockWrong, check_clock
from capture.workflow import SealedEnrollment
from domain.clock import SYSTEM_CLOCK, KitClock
from domain.messages import msg
from domain.vocabulary import CARD_FINGERS, ExceptionKind, Position
from quality.matching import extract
from station.devices import DeviceManager
from uploader.content import ImageSample, RecordContent, SignatureSample, Subject
from uploader.keys import StationSigner, load_centre_public_key
from uploader.outbox import DiskSpaceLow, Outbox, OutboxError, StorageFailure, storage_guard
from uploader.package import seal

log = logging.getLogger(__name__)

# Room kept free for each enrollment in progress: its encrypted journal (about 1 MB for ten
# prints, two irises, a face and proof photos) and then its sealed package. A new enrollment
# starts only when the floor and every open enrollment's share still fit.
JOURNAL_RESERVE_BYTES = 4 * 2**20


@dataclass(frozen=True)
class SealReceipt:
    """What sealing an enrollment left in the outbox."""

    record_id: str
    sha256: str
    size: int


def approvers(enrollment: Enrollment) -> list[str]:
    """Every supervisor who approved an exception or a forced capture, in order, once each."""
    names = [m.approved_by for m in enrollment.exceptions.values()]
    names += [s.forced_approved_by for s in enrollment.samples.values() if s.forced]
    return list(dict.fromkeys(n for n in names if n))


def record_id_for(station_id: str, enrollment: Enrollment) -> str:
    """Stable per enrollment, so sealing the same enrollment twice never makes two records."""
    return f"{station_id}-{enrollment.started_at:%Y%m%d}-{enrollment.enrollment_id[:16]}"


def record_content(
    enrollment: Enrollment, station_id: str, operator: str, devices: list[dict]
) -> RecordContent:
    """The uploader's view of an enrollment: every sample, exception and flag."""
    subject = enrollment.subject
    samples: list[ImageSample] = []
    signature: SignatureSample | None = None
    for position in enrollment.plan.positions:
        mark = enrollment.exceptions.get(position)
        sample = enrollment.samples.get(position)
        exception = mark.kind if mark is not None else ""
        if position == Position.SIGNATURE:
            if sample is not None and sample.trace is not None:
                trace = sample.trace
                signature = SignatureSample(
                    [(p.t_ms, p.x, p.y, p.pressure, p.touching) for p in trace.points],
                    trace.max_x,
                    trace.max_y,
                    trace.max_pressure,
                    exception,
                )
            elif mark is not None:
                signature = SignatureSample([], 0, 0, 0, exception)
            continue
        if mark is not None:
            samples.append(
                ImageSample(
                    position,
                    position.modality,
                    None,
                    0,
                    enrollment.attempts.get(position, 0),
                    False,
                    exception,
                )
            )
        elif sample is not None:
            samples.append(
                ImageSample(
                    position,
                    position.modality,
                    sample.image,
                    sample.quality.score,
                    sample.attempts,
                    sample.forced,
                    nfiq2=_nfiq2(sample.quality.measures),
                    minutiae=_card_template(position, sample.image, sample.quality.score),
                )
            )
    samples.extend(
        ImageSample(position, position.modality, None, 0, 0, False, ExceptionKind.NOT_REQUIRED)
        for position in enrollment.plan.skipped_positions
        if position != Position.SIGNATURE
    )
    flags = list(enrollment.flags)
    flags.extend(
        f"FORCED:{s.position}:{s.forced_approved_by}"
        for s in enrollment.samples.values()
        if s.forced
    )
    flags.extend(
        f"RELAXED_THRESHOLD:{s.position}"
        for s in enrollment.samples.values()
        if s.relaxed_threshold
    )
    return RecordContent(
        record_id="",
        station_id=station_id,
        operator=operator,
        supervisor=", ".join(approvers(enrollment)),
        subject=Subject(
            nik=subject.nik,
            name=subject.name,
            birth_date=subject.birth_date,
            sex=subject.sex,
            category=subject.category,
            demographics_ref=subject.demographics_ref,
        ),
        samples=samples,
        signature=signature,
        devices=devices,
        started_at=enrollment.started_at,
        # Sealing completes the enrollment: the record is complete as of now.
        completed_at=enrollment.completed_at or utcnow(),
        flags=flags,
        proof_photos={p: m.proof_photo for p, m in enrollment.exceptions.items() if m.proof_photo},
    )


def _card_template(position: Position, image, quality: int) -> bytes:
    """The ISO/IEC 19794-2 minutiae record of a finger the card chip holds (else empty)."""
    if position not in CARD_FINGERS or image is None:
        return b""
    return extract(image, position.finger_code, max(0, min(100, int(quality)))).to_bytes()


class RecordSealer:
    """Seals enrollments for the centre and commits them to the outbox before returning."""

    def __init__(
        self,
        station_id: str,
        keys: StationSigner,
        centre_key_path: Path,
        outbox: Outbox,
        devices: DeviceManager,
        on_sealed: Callable[[], None] | None = None,
        audit_head: Callable[[], str] | None = None,
        clock: KitClock = SYSTEM_CLOCK,
    ) -> None:
        """``clock``: the kit's clock, which must be trusted before a record is stamped."""
        self.station_id = station_id
        self.audit_head = audit_head  # signs the audit head now and returns it
        self.keys = keys
        self.centre_key = load_centre_public_key(centre_key_path)
        self.outbox = outbox
        self.devices = devices
        self.on_sealed = on_sealed
        self.clock = clock

    def _device_list(self) -> list[dict]:
        return [
            {
                "id": d.device_id,
                "vendor": d.identity.vendor,
                "model": d.identity.model,
                "serial": d.identity.serial,
                "firmware": d.identity.firmware,
            }
            for d in self.devices.devices()
        ]

    def check_space(self, open_enrollments: int = 0) -> None:
        """Refuse (RESOURCE_EXHAUSTED) while the outbox's disk, less the room reserved for
        ``open_enrollments`` enrollments in progress, is below its free-space floor."""
        try:
            self.outbox.check_space(open_enrollments * JOURNAL_RESERVE_BYTES)
        except DiskSpaceLow as exc:
            raise WorkflowError(
                ErrorKind.RESOURCE_EXHAUSTED,
                "DISK_SPACE_LOW",
                msg("DISK_SPACE_LOW", free_mib=exc.free_bytes // 2**20),
                {"free_bytes": str(exc.free_bytes), "floor_bytes": str(exc.floor_bytes)},
            ) from exc

    def sealed(self, enrollment_id: str) -> SealedEnrollment | None:
        """The record ``enrollment_id`` was sealed into, from the outbox (None if none)."""
        record = self.outbox.for_enrollment(enrollment_id)
        if record is None:
            return None
        owner = str(record.meta.get("operator", ""))
        return SealedEnrollment(
            enrollment_id, record.record_id, owner, record.sha256, record.size
        )

    def __call__(self, enrollment: Enrollment, operator: str) -> SealReceipt:
        """Seal and commit; a disk that refuses answers RESOURCE_EXHAUSTED (full) or
        UNAVAILABLE (failing), and the enrollment stays open to be completed again."""
        try:
            return self._seal(enrollment, operator)
        except StorageFailure as exc:
            log.error("sealing %s: the disk refused: %s", enrollment.enrollment_id, exc)
            if exc.full:
                raise WorkflowError(
                    ErrorKind.RESOURCE_EXHAUSTED, "STORAGE_FULL", msg("STORAGE_FULL_NOT_SEALED")
                ) from exc
            raise WorkflowError(
                ErrorKind.UNAVAILABLE, "STORAGE_FAILED", msg("STORAGE_FAILED_NOT_SEALED")
            ) from exc

    def _seal(self, enrollment: Enrollment, operator: str) -> SealReceipt:
        record_id = record_id_for(self.station_id, enrollment)
        with storage_guard("reading the outbox"):
            existing = self.outbox.get(record_id)
        if existing is not None:
            # Sealed before a crash that came before the enrollment was closed: same record.
            return SealReceipt(existing.record_id, existing.sha256, existing.size)
        self.check_space()
        try:
            check_clock(self.clock)
        except ClockWrong as exc:
            raise WorkflowError(ErrorKind.FAILED_PRECONDITION, exc.reason, exc.message) from exc
        content = record_content(enrollment, self.station_id, operator, self._device_list())
        content.record_id = record_id
        with storage_guard("signing the audit head"):
            content.audit_head = self.audit_head() if self.audit_head is not None else ""
        try:
            sealed = seal(content, self.keys, self.centre_key)
            self.outbox.enqueue(
                sealed,
                category=enrollment.subject.category.value,
                meta={
                    "enrollment_id": enrollment.enrollment_id,
                    "operator": enrollment.operator,
                    "quality": {s.position: s.quality.score for s in enrollment.samples.values()},
                    "thresholds": {s.position: s.threshold for s in enrollment.samples.values()},
                },
            )
        except StorageFailure:
            raise
        except (OSError, OutboxError, ValueError) as exc:
            log.error("sealing %s failed: %s", content.record_id, exc)
            raise WorkflowError(
                ErrorKind.INTERNAL,
                "SEAL_FAILED",
                msg("SEAL_FAILED"),
            ) from exc
        if self.on_sealed is not None:
            self.on_sealed()
        return SealReceipt(sealed.record_id, sealed.sha256, sealed.size)


def _nfiq2(measures: dict[str, float]) -> int | None:
    """The sample's NFIQ 2 score, when it was measured."""
    value = measures.get("nfiq2")
    return None if value is None else int(value)
