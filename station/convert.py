"""Conversions between station.v1 messages and the domain objects of capture/ and drivers/."""

from __future__ import annotations

from datetime import date, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from capture.engine import encode_preview
from capture.enrollment import Enrollment, EnrollmentState, ExceptionMark, Sample
from capture.signature_image import render_signature
from capture.subject import Subject, SubjectInvalid
from domain.messages import msg
from domain.vocabulary import (
    ALL_POSITIONS,
    EXCEPTION_KINDS,
    Category,
    ExceptionKind,
    Modality,
    Position,
    Sex,
)
from drivers.base import Device, DeviceStatus
from quality.base import QualityResult
from station.v1 import common_pb2, devices_pb2, enrollment_pb2

POSITION_TO_PB: dict[Position, int] = {
    p: common_pb2.Position.Value(f"POSITION_{p.name}") for p in ALL_POSITIONS
}
POSITION_FROM_PB: dict[int, Position] = {value: p for p, value in POSITION_TO_PB.items()}
CATEGORY_TO_PB: dict[Category, int] = {
    c: common_pb2.ResidentCategory.Value(f"RESIDENT_CATEGORY_{c.name}") for c in Category
}
CATEGORY_FROM_PB: dict[int, Category] = {v: k for k, v in CATEGORY_TO_PB.items()}
MODALITY_TO_PB: dict[Modality, int] = {
    m: common_pb2.Modality.Value(f"MODALITY_{m.name}") for m in Modality
}
STATE_TO_PB: dict[EnrollmentState, int] = {
    s: enrollment_pb2.EnrollmentState.Value(f"ENROLLMENT_STATE_{s.name}") for s in EnrollmentState
}
STATE_FROM_PB: dict[int, EnrollmentState] = {v: k for k, v in STATE_TO_PB.items()}
DEVICE_STATUS_TO_PB: dict[DeviceStatus, int] = {
    s: devices_pb2.DeviceStatus.Value(f"DEVICE_STATUS_{s.name}") for s in DeviceStatus
}
# The kinds an operator may mark (NOT_REQUIRED comes from the category policy, not the API).
EXCEPTION_TO_PB: dict[ExceptionKind, int] = {
    k: enrollment_pb2.ExceptionKind.Value(f"EXCEPTION_KIND_{k.name}")
    for k in sorted(set().union(*EXCEPTION_KINDS.values()))
}
EXCEPTION_FROM_PB: dict[int, ExceptionKind] = {v: k for k, v in EXCEPTION_TO_PB.items()}
SEX_TO_PB: dict[Sex, int] = {s: common_pb2.Sex.Value(f"SEX_{s.name}") for s in Sex}
SEX_FROM_PB: dict[int, Sex] = {v: k for k, v in SEX_TO_PB.items()}


def timestamp(moment: datetime | None) -> Timestamp | None:
    if moment is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def quality_to_pb(result: QualityResult, threshold: int, language: str) -> common_pb2.QualityReport:
    return common_pb2.QualityReport(
        score=int(result.score),
        measures={k: float(v) for k, v in result.measures.items()},
        reasons=[
            common_pb2.QualityReason(code=r.code, message=r.message.render(language))
            for r in result.reasons
        ],
        threshold=threshold,
    )


# A sample's thumbnail: a JPEG no larger than this on its longer side.
THUMBNAIL_MAX_SIDE = 240
THUMBNAIL_JPEG_QUALITY = 80


def thumbnail(sample: Sample) -> common_pb2.EncodedImage | None:
    """The sample as a small JPEG: its image, or the signature drawn from its strokes; None
    when the sample holds neither (nothing captured, or the enrollment was sealed)."""
    if sample.trace is not None and sample.trace.points:
        picture = render_signature(sample.trace, THUMBNAIL_MAX_SIDE)
    elif sample.image is not None:
        picture = sample.image
    else:
        return None
    try:
        data, width, height = encode_preview(picture, THUMBNAIL_MAX_SIDE, THUMBNAIL_JPEG_QUALITY)
    except ValueError:
        return None
    return common_pb2.EncodedImage(data=data, media_type="image/jpeg", width=width, height=height)


def sample_to_pb(
    sample: Sample, language: str, with_thumbnail: bool = False
) -> enrollment_pb2.Sample:
    message = enrollment_pb2.Sample(
        position=POSITION_TO_PB[sample.position],
        modality=MODALITY_TO_PB[sample.modality],
        quality=quality_to_pb(sample.quality, sample.threshold, language),
        attempts=sample.attempts,
        forced=sample.forced,
        forced_reason=sample.forced_reason,
        approved=sample.approved,
        device_id=sample.device_id,
        captured_at=timestamp(sample.captured_at),
        relaxed_threshold=sample.relaxed_threshold,
    )
    if with_thumbnail:
        image = thumbnail(sample)
        if image is not None:
            message.thumbnail.CopyFrom(image)
    return message


def exception_to_pb(mark: ExceptionMark) -> enrollment_pb2.SampleException:
    return enrollment_pb2.SampleException(
        position=POSITION_TO_PB[mark.position],
        kind=EXCEPTION_TO_PB[mark.kind],
        note=mark.note,
        approved_by=mark.approved_by,
        has_proof_photo=bool(mark.proof_photo),
    )


def subject_to_pb(subject: Subject) -> enrollment_pb2.Subject:
    return enrollment_pb2.Subject(
        nik=subject.nik,
        name=subject.name,
        birth_date=subject.birth_date.isoformat() if subject.birth_date != date.min else "",
        sex=SEX_TO_PB.get(subject.sex, common_pb2.SEX_UNSPECIFIED),
        category=CATEGORY_TO_PB[subject.category],
        demographics_ref=subject.demographics_ref,
    )


def subject_from_pb(message: enrollment_pb2.Subject) -> Subject:
    """Raises SubjectInvalid (SUBJECT_INVALID, metadata ``field`` naming the bad field) with
    a sentence for the operator."""
    try:
        birth_date = date.fromisoformat(message.birth_date)
    except ValueError as exc:
        raise SubjectInvalid(
            "SUBJECT_INVALID",
            msg("BIRTH_DATE_NOT_A_DATE", given=repr(message.birth_date)),
            {"field": "subject.birth_date"},
        ) from exc
    category = CATEGORY_FROM_PB.get(message.category)
    if category is None:
        raise SubjectInvalid(
            "SUBJECT_INVALID", msg("CATEGORY_MISSING"), {"field": "subject.category"}
        )
    return Subject(
        nik=message.nik.strip(),
        name=message.name.strip(),
        birth_date=birth_date,
        sex=SEX_FROM_PB.get(message.sex, ""),
        category=category,
        demographics_ref=message.demographics_ref.strip(),
    )


def enrollment_to_pb(
    enrollment: Enrollment, language: str, with_thumbnails: bool = False
) -> enrollment_pb2.EnrollmentRecord:
    return enrollment_pb2.EnrollmentRecord(
        enrollment_id=enrollment.enrollment_id,
        subject=subject_to_pb(enrollment.subject),
        state=STATE_TO_PB[enrollment.state],
        plan=[POSITION_TO_PB[p] for p in enrollment.plan.positions],
        samples=[sample_to_pb(s, language, with_thumbnails) for s in enrollment.samples.values()],
        exceptions=[exception_to_pb(m) for m in enrollment.exceptions.values()],
        missing=[POSITION_TO_PB[p] for p in enrollment.missing()],
        operator=enrollment.operator,
        started_at=timestamp(enrollment.started_at),
        record_id=enrollment.record_id,
        flags=enrollment.flags,
    )


def device_to_pb(device: Device, driver: str) -> devices_pb2.Device:
    identity = device.identity
    caps = device.capabilities
    return devices_pb2.Device(
        id=device.device_id,
        driver=driver,
        status=DEVICE_STATUS_TO_PB[device.status],
        identity=devices_pb2.DeviceIdentity(
            vendor=identity.vendor,
            model=identity.model,
            serial=identity.serial,
            firmware=identity.firmware,
            transport=identity.transport,
            port=identity.port,
        ),
        capabilities=devices_pb2.DeviceCapabilities(
            modality=MODALITY_TO_PB[caps.modality],
            positions=[POSITION_TO_PB[p] for p in caps.positions if p in POSITION_TO_PB],
            width=caps.width,
            height=caps.height,
            ppi=caps.ppi,
            live_preview=caps.live_preview,
        ),
    )
