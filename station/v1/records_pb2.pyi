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

class RecordStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECORD_STATUS_UNSPECIFIED: _ClassVar[RecordStatus]
    RECORD_STATUS_SEALED: _ClassVar[RecordStatus]
    RECORD_STATUS_SENT_FOR_ENROLLMENT: _ClassVar[RecordStatus]
    RECORD_STATUS_RECEIVED_AT_CENTRAL: _ClassVar[RecordStatus]
    RECORD_STATUS_PRINT_READY_RECORD: _ClassVar[RecordStatus]
    RECORD_STATUS_DUPLICATE_RECORD: _ClassVar[RecordStatus]
    RECORD_STATUS_ADJUDICATE_RECORD: _ClassVar[RecordStatus]
    RECORD_STATUS_ENROLL_FAILURE_AT_CENTRAL: _ClassVar[RecordStatus]
    RECORD_STATUS_SEARCH_FAILURE_AT_CENTRAL: _ClassVar[RecordStatus]
    RECORD_STATUS_DEAD_LETTER: _ClassVar[RecordStatus]
    RECORD_STATUS_CARRIED: _ClassVar[RecordStatus]

class RecordView(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECORD_VIEW_UNSPECIFIED: _ClassVar[RecordView]
    RECORD_VIEW_BASIC: _ClassVar[RecordView]
    RECORD_VIEW_FULL: _ClassVar[RecordView]
RECORD_STATUS_UNSPECIFIED: RecordStatus
RECORD_STATUS_SEALED: RecordStatus
RECORD_STATUS_SENT_FOR_ENROLLMENT: RecordStatus
RECORD_STATUS_RECEIVED_AT_CENTRAL: RecordStatus
RECORD_STATUS_PRINT_READY_RECORD: RecordStatus
RECORD_STATUS_DUPLICATE_RECORD: RecordStatus
RECORD_STATUS_ADJUDICATE_RECORD: RecordStatus
RECORD_STATUS_ENROLL_FAILURE_AT_CENTRAL: RecordStatus
RECORD_STATUS_SEARCH_FAILURE_AT_CENTRAL: RecordStatus
RECORD_STATUS_DEAD_LETTER: RecordStatus
RECORD_STATUS_CARRIED: RecordStatus
RECORD_VIEW_UNSPECIFIED: RecordView
RECORD_VIEW_BASIC: RecordView
RECORD_VIEW_FULL: RecordView

class StatusChange(_message.Message):
    __slots__ = ("status", "time", "detail", "reason_code", "duplicate_of", "centre_detail")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_OF_FIELD_NUMBER: _ClassVar[int]
    CENTRE_DETAIL_FIELD_NUMBER: _ClassVar[int]
    status: RecordStatus
    time: _timestamp_pb2.Timestamp
    detail: str
    reason_code: str
    duplicate_of: DuplicateOf
    centre_detail: str
    def __init__(self, status: _Optional[_Union[RecordStatus, str]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., detail: _Optional[str] = ..., reason_code: _Optional[str] = ..., duplicate_of: _Optional[_Union[DuplicateOf, _Mapping]] = ..., centre_detail: _Optional[str] = ...) -> None: ...

class DuplicateOf(_message.Message):
    __slots__ = ("record_id", "nik")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    NIK_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    nik: str
    def __init__(self, record_id: _Optional[str] = ..., nik: _Optional[str] = ...) -> None: ...

class PositionScore(_message.Message):
    __slots__ = ("position", "score", "threshold")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    position: _common_pb2.Position
    score: int
    threshold: int
    def __init__(self, position: _Optional[_Union[_common_pb2.Position, str]] = ..., score: _Optional[int] = ..., threshold: _Optional[int] = ...) -> None: ...

class Record(_message.Message):
    __slots__ = ("record_id", "enrollment_id", "category", "status", "delivery_attempts", "last_error", "sealed_at", "updated_at", "history", "quality", "package_sha256", "package_size", "next_attempt_at", "quality_scores")
    class QualityEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    ENROLLMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    SEALED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_SHA256_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_AT_FIELD_NUMBER: _ClassVar[int]
    QUALITY_SCORES_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    enrollment_id: str
    category: _common_pb2.ResidentCategory
    status: RecordStatus
    delivery_attempts: int
    last_error: str
    sealed_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    history: _containers.RepeatedCompositeFieldContainer[StatusChange]
    quality: _containers.ScalarMap[str, int]
    package_sha256: str
    package_size: int
    next_attempt_at: _timestamp_pb2.Timestamp
    quality_scores: _containers.RepeatedCompositeFieldContainer[PositionScore]
    def __init__(self, record_id: _Optional[str] = ..., enrollment_id: _Optional[str] = ..., category: _Optional[_Union[_common_pb2.ResidentCategory, str]] = ..., status: _Optional[_Union[RecordStatus, str]] = ..., delivery_attempts: _Optional[int] = ..., last_error: _Optional[str] = ..., sealed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., history: _Optional[_Iterable[_Union[StatusChange, _Mapping]]] = ..., quality: _Optional[_Mapping[str, int]] = ..., package_sha256: _Optional[str] = ..., package_size: _Optional[int] = ..., next_attempt_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., quality_scores: _Optional[_Iterable[_Union[PositionScore, _Mapping]]] = ...) -> None: ...

class ListRecordsRequest(_message.Message):
    __slots__ = ("statuses", "page_size", "page_token", "view")
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedScalarFieldContainer[RecordStatus]
    page_size: int
    page_token: str
    view: RecordView
    def __init__(self, statuses: _Optional[_Iterable[_Union[RecordStatus, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., view: _Optional[_Union[RecordView, str]] = ...) -> None: ...

class ListRecordsResponse(_message.Message):
    __slots__ = ("records", "next_page_token")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[Record]
    next_page_token: str
    def __init__(self, records: _Optional[_Iterable[_Union[Record, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetRecordRequest(_message.Message):
    __slots__ = ("record_id",)
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    def __init__(self, record_id: _Optional[str] = ...) -> None: ...

class WatchRecordsRequest(_message.Message):
    __slots__ = ("record_ids", "include_current")
    RECORD_IDS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_CURRENT_FIELD_NUMBER: _ClassVar[int]
    record_ids: _containers.RepeatedScalarFieldContainer[str]
    include_current: bool
    def __init__(self, record_ids: _Optional[_Iterable[str]] = ..., include_current: _Optional[bool] = ...) -> None: ...

class RecordEvent(_message.Message):
    __slots__ = ("record", "previous_status")
    RECORD_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATUS_FIELD_NUMBER: _ClassVar[int]
    record: Record
    previous_status: RecordStatus
    def __init__(self, record: _Optional[_Union[Record, _Mapping]] = ..., previous_status: _Optional[_Union[RecordStatus, str]] = ...) -> None: ...

class ExportBundleRequest(_message.Message):
    __slots__ = ("destination", "record_ids", "include_carried")
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    RECORD_IDS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_CARRIED_FIELD_NUMBER: _ClassVar[int]
    destination: str
    record_ids: _containers.RepeatedScalarFieldContainer[str]
    include_carried: bool
    def __init__(self, destination: _Optional[str] = ..., record_ids: _Optional[_Iterable[str]] = ..., include_carried: _Optional[bool] = ...) -> None: ...

class ExportBundleResponse(_message.Message):
    __slots__ = ("bundle_path", "record_count", "records_total", "bytes_written", "bytes_total")
    BUNDLE_PATH_FIELD_NUMBER: _ClassVar[int]
    RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    RECORDS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    BYTES_WRITTEN_FIELD_NUMBER: _ClassVar[int]
    BYTES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    bundle_path: str
    record_count: int
    records_total: int
    bytes_written: int
    bytes_total: int
    def __init__(self, bundle_path: _Optional[str] = ..., record_count: _Optional[int] = ..., records_total: _Optional[int] = ..., bytes_written: _Optional[int] = ..., bytes_total: _Optional[int] = ...) -> None: ...

class ImportReceiptRequest(_message.Message):
    __slots__ = ("bundle_path",)
    BUNDLE_PATH_FIELD_NUMBER: _ClassVar[int]
    bundle_path: str
    def __init__(self, bundle_path: _Optional[str] = ...) -> None: ...

class ReceiptOutcome(_message.Message):
    __slots__ = ("record_id", "outcome", "reason", "status", "applied")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    outcome: str
    reason: str
    status: RecordStatus
    applied: bool
    def __init__(self, record_id: _Optional[str] = ..., outcome: _Optional[str] = ..., reason: _Optional[str] = ..., status: _Optional[_Union[RecordStatus, str]] = ..., applied: _Optional[bool] = ...) -> None: ...

class ImportReceiptResponse(_message.Message):
    __slots__ = ("bundle_name", "settled", "returned", "ignored", "outcomes")
    BUNDLE_NAME_FIELD_NUMBER: _ClassVar[int]
    SETTLED_FIELD_NUMBER: _ClassVar[int]
    RETURNED_FIELD_NUMBER: _ClassVar[int]
    IGNORED_FIELD_NUMBER: _ClassVar[int]
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    bundle_name: str
    settled: int
    returned: int
    ignored: int
    outcomes: _containers.RepeatedCompositeFieldContainer[ReceiptOutcome]
    def __init__(self, bundle_name: _Optional[str] = ..., settled: _Optional[int] = ..., returned: _Optional[int] = ..., ignored: _Optional[int] = ..., outcomes: _Optional[_Iterable[_Union[ReceiptOutcome, _Mapping]]] = ...) -> None: ...

class RetryDeliveryRequest(_message.Message):
    __slots__ = ("record_id",)
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    def __init__(self, record_id: _Optional[str] = ...) -> None: ...
