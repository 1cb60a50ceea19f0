import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from station.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EnrollmentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENROLLMENT_STATE_UNSPECIFIED: _ClassVar[EnrollmentState]
    ENROLLMENT_STATE_IN_PROGRESS: _ClassVar[EnrollmentState]
    ENROLLMENT_STATE_COMPLETED: _ClassVar[EnrollmentState]
    ENROLLMENT_STATE_CANCELLED: _ClassVar[EnrollmentState]

class ExceptionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXCEPTION_KIND_UNSPECIFIED: _ClassVar[ExceptionKind]
    EXCEPTION_KIND_AMPUTATED: _ClassVar[ExceptionKind]
    EXCEPTION_KIND_BANDAGED: _ClassVar[ExceptionKind]
    EXCEPTION_KIND_UNUSABLE: _ClassVar[ExceptionKind]
    EXCEPTION_KIND_BLIND: _ClassVar[ExceptionKind]
    EXCEPTION_KIND_EYE_ABSENT: _ClassVar[ExceptionKind]
    EXCEPTION_KIND_SIGNATURE_LINE: _ClassVar[ExceptionKind]
    EXCEPTION_KIND_CANNOT_SIGN: _ClassVar[ExceptionKind]

class PreviewDelivery(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PREVIEW_DELIVERY_STREAM: _ClassVar[PreviewDelivery]
    PREVIEW_DELIVERY_PULL: _ClassVar[PreviewDelivery]

class CapturePurpose(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CAPTURE_PURPOSE_UNSPECIFIED: _ClassVar[CapturePurpose]
    CAPTURE_PURPOSE_PROOF_PHOTO: _ClassVar[CapturePurpose]

class OverrideAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OVERRIDE_ACTION_UNSPECIFIED: _ClassVar[OverrideAction]
    OVERRIDE_ACTION_FORCE_CAPTURE: _ClassVar[OverrideAction]
    OVERRIDE_ACTION_MARK_EXCEPTION: _ClassVar[OverrideAction]
ENROLLMENT_STATE_UNSPECIFIED: EnrollmentState
ENROLLMENT_STATE_IN_PROGRESS: EnrollmentState
ENROLLMENT_STATE_COMPLETED: EnrollmentState
ENROLLMENT_STATE_CANCELLED: EnrollmentState
EXCEPTION_KIND_UNSPECIFIED: ExceptionKind
EXCEPTION_KIND_AMPUTATED: ExceptionKind
EXCEPTION_KIND_BANDAGED: ExceptionKind
EXCEPTION_KIND_UNUSABLE: ExceptionKind
EXCEPTION_KIND_BLIND: ExceptionKind
EXCEPTION_KIND_EYE_ABSENT: ExceptionKind
EXCEPTION_KIND_SIGNATURE_LINE: ExceptionKind
EXCEPTION_KIND_CANNOT_SIGN: ExceptionKind
PREVIEW_DELIVERY_STREAM: PreviewDelivery
PREVIEW_DELIVERY_PULL: PreviewDelivery
CAPTURE_PURPOSE_UNSPECIFIED: CapturePurpose
CAPTURE_PURPOSE_PROOF_PHOTO: CapturePurpose
OVERRIDE_ACTION_UNSPECIFIED: OverrideAction
OVERRIDE_ACTION_FORCE_CAPTURE: OverrideAction
OVERRIDE_ACTION_MARK_EXCEPTION: OverrideAction

class Subject(_message.Message):
    __slots__ = ("nik", "name", "birth_date", "sex", "category", "demographics_ref")
    NIK_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    DEMOGRAPHICS_REF_FIELD_NUMBER: _ClassVar[int]
    nik: str
    name: str
    birth_date: str
    sex: _common_pb2.Sex
    category: _common_pb2.ResidentCategory
    demographics_ref: str
    def __init__(self, nik: _Optional[str] = ..., name: _Optional[str] = ..., birth_date: _Optional[str] = ..., sex: _Optional[_Union[_common_pb2.Sex, str]] = ..., category: _Optional[_Union[_common_pb2.ResidentCategory, str]] = ..., demographics_ref: _Optional[str] = ...) -> None: ...

class Sample(_message.Message):
    __slots__ = ("position", "modality", "quality", "attempts", "forced", "forced_reason", "approved", "device_id", "captured_at", "relaxed_threshold", "thumbnail")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    MODALITY_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    FORCED_FIELD_NUMBER: _ClassVar[int]
    FORCED_REASON_FIELD_NUMBER: _ClassVar[int]
    APPROVED_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_AT_FIELD_NUMBER: _ClassVar[int]
    RELAXED_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    THUMBNAIL_FIELD_NUMBER: _ClassVar[int]
    position: _common_pb2.Position
    modality: _common_pb2.Modality
    quality: _common_pb2.QualityReport
    attempts: int
    forced: bool
    forced_reason: str
    approved: bool
    device_id: str
    captured_at: _timestamp_pb2.Timestamp
    relaxed_threshold: bool
    thumbnail: _common_pb2.EncodedImage
    def __init__(self, position: _Optional[_Union[_common_pb2.Position, str]] = ..., modality: _Optional[_Union[_common_pb2.Modality, str]] = ..., quality: _Optional[_Union[_common_pb2.QualityReport, _Mapping]] = ..., attempts: _Optional[int] = ..., forced: _Optional[bool] = ..., forced_reason: _Optional[str] = ..., approved: _Optional[bool] = ..., device_id: _Optional[str] = ..., captured_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., relaxed_threshold: _Optional[bool] = ..., thumbnail: _Optional[_Union[_common_pb2.EncodedImage, _Mapping]] = ...) -> None: ...

class SampleException(_message.Message):
    __slots__ = ("position", "kind", "note", "approved_by", "has_proof_photo")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    HAS_PROOF_PHOTO_FIELD_NUMBER: _ClassVar[int]
    position: _common_pb2.Position
    kind: ExceptionKind
    note: str
    approved_by: str
    has_proof_photo: bool
    def __init__(self, position: _Optional[_Union[_common_pb2.Position, str]] = ..., kind: _Optional[_Union[ExceptionKind, str]] = ..., note: _Optional[str] = ..., approved_by: _Optional[str] = ..., has_proof_photo: _Optional[bool] = ...) -> None: ...

class EnrollmentRecord(_message.Message):
    __slots__ = ("enrollment_id", "subject", "state", "plan", "samples", "exceptions", "missing", "operator", "started_at", "record_id", "flags")
    ENROLLMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    EXCEPTIONS_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    enrollment_id: str
    subject: Subject
    state: EnrollmentState
    plan: _containers.RepeatedScalarFieldContainer[_common_pb2.Position]
    samples: _containers.RepeatedCompositeFieldContainer[Sample]
    exceptions: _containers.RepeatedCompositeFieldContainer[SampleException]
    missing: _containers.RepeatedScalarFieldContainer[_common_pb2.Position]
    operator: str
    started_at: _timestamp_pb2.Timestamp
    record_id: str
    flags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, enrollment_id: _Optional[str] = ..., subject: _Optional[_Union[Subject, _Mapping]] = ..., state: _Optional[_Union[EnrollmentState, str]] = ..., plan: _Optional[_Iterable[_Union[_common_pb2.Position, str]]] = ..., samples: _Optional[_Iterable[_Union[Sample, _Mapping]]] = ..., exceptions: _Optional[_Iterable[_Union[SampleException, _Mapping]]] = ..., missing: _Optional[_Iterable[_Union[_common_pb2.Position, str]]] = ..., operator: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., record_id: _Optional[str] = ..., flags: _Optional[_Iterable[str]] = ...) -> None: ...

class StartEnrollmentRequest(_message.Message):
    __slots__ = ("subject", "request_id")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    subject: Subject
    request_id: str
    def __init__(self, subject: _Optional[_Union[Subject, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CaptureRequest(_message.Message):
    __slots__ = ("enrollment_id", "position", "preview_fps", "timeout_seconds", "force", "force_reason", "preview_jpeg_quality", "approval_id", "device_id", "purpose", "preview_delivery")
    ENROLLMENT_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_FPS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    FORCE_REASON_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_JPEG_QUALITY_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_DELIVERY_FIELD_NUMBER: _ClassVar[int]
    enrollment_id: str
    position: _common_pb2.Position
    preview_fps: int
    timeout_seconds: float
    force: bool
    force_reason: str
    preview_jpeg_quality: int
    approval_id: str
    device_id: str
    purpose: CapturePurpose
    preview_delivery: PreviewDelivery
    def __init__(self, enrollment_id: _Optional[str] = ..., position: _Optional[_Union[_common_pb2.Position, str]] = ..., preview_fps: _Optional[int] = ..., timeout_seconds: _Optional[float] = ..., force: _Optional[bool] = ..., force_reason: _Optional[str] = ..., preview_jpeg_quality: _Optional[int] = ..., approval_id: _Optional[str] = ..., device_id: _Optional[str] = ..., purpose: _Optional[_Union[CapturePurpose, str]] = ..., preview_delivery: _Optional[_Union[PreviewDelivery, str]] = ...) -> None: ...

class CapturePrompt(_message.Message):
    __slots__ = ("position", "instruction", "message", "device_id")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    position: _common_pb2.Position
    instruction: str
    message: str
    device_id: str
    def __init__(self, position: _Optional[_Union[_common_pb2.Position, str]] = ..., instruction: _Optional[str] = ..., message: _Optional[str] = ..., device_id: _Optional[str] = ...) -> None: ...

class PreviewFrame(_message.Message):
    __slots__ = ("sequence", "image", "quality", "captured_at", "dropped")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_AT_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    image: _common_pb2.EncodedImage
    quality: _common_pb2.QualityReport
    captured_at: _timestamp_pb2.Timestamp
    dropped: int
    def __init__(self, sequence: _Optional[int] = ..., image: _Optional[_Union[_common_pb2.EncodedImage, _Mapping]] = ..., quality: _Optional[_Union[_common_pb2.QualityReport, _Mapping]] = ..., captured_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., dropped: _Optional[int] = ...) -> None: ...

class CaptureResult(_message.Message):
    __slots__ = ("sample", "accepted", "attempts_left", "message", "reason", "conflicting_position")
    SAMPLE_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_LEFT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CONFLICTING_POSITION_FIELD_NUMBER: _ClassVar[int]
    sample: Sample
    accepted: bool
    attempts_left: int
    message: str
    reason: str
    conflicting_position: _common_pb2.Position
    def __init__(self, sample: _Optional[_Union[Sample, _Mapping]] = ..., accepted: _Optional[bool] = ..., attempts_left: _Optional[int] = ..., message: _Optional[str] = ..., reason: _Optional[str] = ..., conflicting_position: _Optional[_Union[_common_pb2.Position, str]] = ...) -> None: ...

class CaptureEvent(_message.Message):
    __slots__ = ("prompt", "preview", "result")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    prompt: CapturePrompt
    preview: PreviewFrame
    result: CaptureResult
    def __init__(self, prompt: _Optional[_Union[CapturePrompt, _Mapping]] = ..., preview: _Optional[_Union[PreviewFrame, _Mapping]] = ..., result: _Optional[_Union[CaptureResult, _Mapping]] = ...) -> None: ...

class MarkExceptionRequest(_message.Message):
    __slots__ = ("enrollment_id", "position", "kind", "note", "proof_photo", "approval_id", "proof_from_capture")
    ENROLLMENT_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    PROOF_PHOTO_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    PROOF_FROM_CAPTURE_FIELD_NUMBER: _ClassVar[int]
    enrollment_id: str
    position: _common_pb2.Position
    kind: ExceptionKind
    note: str
    proof_photo: bytes
    approval_id: str
    proof_from_capture: bool
    def __init__(self, enrollment_id: _Optional[str] = ..., position: _Optional[_Union[_common_pb2.Position, str]] = ..., kind: _Optional[_Union[ExceptionKind, str]] = ..., note: _Optional[str] = ..., proof_photo: _Optional[bytes] = ..., approval_id: _Optional[str] = ..., proof_from_capture: _Optional[bool] = ...) -> None: ...

class ApproveOverrideRequest(_message.Message):
    __slots__ = ("enrollment_id", "position", "action", "exception_kind")
    ENROLLMENT_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    EXCEPTION_KIND_FIELD_NUMBER: _ClassVar[int]
    enrollment_id: str
    position: _common_pb2.Position
    action: OverrideAction
    exception_kind: ExceptionKind
    def __init__(self, enrollment_id: _Optional[str] = ..., position: _Optional[_Union[_common_pb2.Position, str]] = ..., action: _Optional[_Union[OverrideAction, str]] = ..., exception_kind: _Optional[_Union[ExceptionKind, str]] = ...) -> None: ...

class OverrideApproval(_message.Message):
    __slots__ = ("approval_id", "expires_at", "approved_by")
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    approval_id: str
    expires_at: _timestamp_pb2.Timestamp
    approved_by: str
    def __init__(self, approval_id: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., approved_by: _Optional[str] = ...) -> None: ...

class ApproveSampleRequest(_message.Message):
    __slots__ = ("enrollment_id", "position", "approved")
    ENROLLMENT_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    APPROVED_FIELD_NUMBER: _ClassVar[int]
    enrollment_id: str
    position: _common_pb2.Position
    approved: bool
    def __init__(self, enrollment_id: _Optional[str] = ..., position: _Optional[_Union[_common_pb2.Position, str]] = ..., approved: _Optional[bool] = ...) -> None: ...

class GetEnrollmentRequest(_message.Message):
    __slots__ = ("enrollment_id", "include_thumbnails")
    ENROLLMENT_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_THUMBNAILS_FIELD_NUMBER: _ClassVar[int]
    enrollment_id: str
    include_thumbnails: bool
    def __init__(self, enrollment_id: _Optional[str] = ..., include_thumbnails: _Optional[bool] = ...) -> None: ...

class ListEnrollmentsRequest(_message.Message):
    __slots__ = ("states", "page_size", "page_token", "operator", "started_after", "started_before")
    STATES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    STARTED_AFTER_FIELD_NUMBER: _ClassVar[int]
    STARTED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    states: _containers.RepeatedScalarFieldContainer[EnrollmentState]
    page_size: int
    page_token: str
    operator: str
    started_after: _timestamp_pb2.Timestamp
    started_before: _timestamp_pb2.Timestamp
    def __init__(self, states: _Optional[_Iterable[_Union[EnrollmentState, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., operator: _Optional[str] = ..., started_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListEnrollmentsResponse(_message.Message):
    __slots__ = ("enrollments", "next_page_token")
    ENROLLMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    enrollments: _containers.RepeatedCompositeFieldContainer[EnrollmentRecord]
    next_page_token: str
    def __init__(self, enrollments: _Optional[_Iterable[_Union[EnrollmentRecord, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CompleteEnrollmentRequest(_message.Message):
    __slots__ = ("enrollment_id",)
    ENROLLMENT_ID_FIELD_NUMBER: _ClassVar[int]
    enrollment_id: str
    def __init__(self, enrollment_id: _Optional[str] = ...) -> None: ...

class CompleteEnrollmentResponse(_message.Message):
    __slots__ = ("enrollment", "record_id", "package_sha256", "package_size")
    ENROLLMENT_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_SHA256_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    enrollment: EnrollmentRecord
    record_id: str
    package_sha256: str
    package_size: int
    def __init__(self, enrollment: _Optional[_Union[EnrollmentRecord, _Mapping]] = ..., record_id: _Optional[str] = ..., package_sha256: _Optional[str] = ..., package_size: _Optional[int] = ...) -> None: ...

class GetPreviewRequest(_message.Message):
    __slots__ = ("enrollment_id", "position", "after_sequence", "wait_ms")
    ENROLLMENT_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    WAIT_MS_FIELD_NUMBER: _ClassVar[int]
    enrollment_id: str
    position: _common_pb2.Position
    after_sequence: int
    wait_ms: int
    def __init__(self, enrollment_id: _Optional[str] = ..., position: _Optional[_Union[_common_pb2.Position, str]] = ..., after_sequence: _Optional[int] = ..., wait_ms: _Optional[int] = ...) -> None: ...

class GetPreviewResponse(_message.Message):
    __slots__ = ("frame", "capture_ended")
    FRAME_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_ENDED_FIELD_NUMBER: _ClassVar[int]
    frame: PreviewFrame
    capture_ended: bool
    def __init__(self, frame: _Optional[_Union[PreviewFrame, _Mapping]] = ..., capture_ended: _Optional[bool] = ...) -> None: ...

class CancelEnrollmentRequest(_message.Message):
    __slots__ = ("enrollment_id", "reason")
    ENROLLMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    enrollment_id: str
    reason: str
    def __init__(self, enrollment_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
