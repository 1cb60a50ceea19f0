from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Modality(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODALITY_UNSPECIFIED: _ClassVar[Modality]
    MODALITY_FINGERPRINT: _ClassVar[Modality]
    MODALITY_FACE: _ClassVar[Modality]
    MODALITY_IRIS: _ClassVar[Modality]
    MODALITY_SIGNATURE: _ClassVar[Modality]

class Position(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POSITION_UNSPECIFIED: _ClassVar[Position]
    POSITION_RIGHT_THUMB: _ClassVar[Position]
    POSITION_RIGHT_INDEX: _ClassVar[Position]
    POSITION_RIGHT_MIDDLE: _ClassVar[Position]
    POSITION_RIGHT_RING: _ClassVar[Position]
    POSITION_RIGHT_LITTLE: _ClassVar[Position]
    POSITION_LEFT_THUMB: _ClassVar[Position]
    POSITION_LEFT_INDEX: _ClassVar[Position]
    POSITION_LEFT_MIDDLE: _ClassVar[Position]
    POSITION_LEFT_RING: _ClassVar[Position]
    POSITION_LEFT_LITTLE: _ClassVar[Position]
    POSITION_FACE: _ClassVar[Position]
    POSITION_RIGHT_EYE: _ClassVar[Position]
    POSITION_LEFT_EYE: _ClassVar[Position]
    POSITION_SIGNATURE: _ClassVar[Position]

class ResidentCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESIDENT_CATEGORY_UNSPECIFIED: _ClassVar[ResidentCategory]
    RESIDENT_CATEGORY_REGULAR: _ClassVar[ResidentCategory]
    RESIDENT_CATEGORY_ELDERLY: _ClassVar[ResidentCategory]
    RESIDENT_CATEGORY_DISABLED: _ClassVar[ResidentCategory]
    RESIDENT_CATEGORY_BEDRIDDEN: _ClassVar[ResidentCategory]
    RESIDENT_CATEGORY_MENTAL_DISORDER: _ClassVar[ResidentCategory]
    RESIDENT_CATEGORY_STUDENT: _ClassVar[ResidentCategory]

class Sex(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEX_UNSPECIFIED: _ClassVar[Sex]
    SEX_MALE: _ClassVar[Sex]
    SEX_FEMALE: _ClassVar[Sex]
MODALITY_UNSPECIFIED: Modality
MODALITY_FINGERPRINT: Modality
MODALITY_FACE: Modality
MODALITY_IRIS: Modality
MODALITY_SIGNATURE: Modality
POSITION_UNSPECIFIED: Position
POSITION_RIGHT_THUMB: Position
POSITION_RIGHT_INDEX: Position
POSITION_RIGHT_MIDDLE: Position
POSITION_RIGHT_RING: Position
POSITION_RIGHT_LITTLE: Position
POSITION_LEFT_THUMB: Position
POSITION_LEFT_INDEX: Position
POSITION_LEFT_MIDDLE: Position
POSITION_LEFT_RING: Position
POSITION_LEFT_LITTLE: Position
POSITION_FACE: Position
POSITION_RIGHT_EYE: Position
POSITION_LEFT_EYE: Position
POSITION_SIGNATURE: Position
RESIDENT_CATEGORY_UNSPECIFIED: ResidentCategory
RESIDENT_CATEGORY_REGULAR: ResidentCategory
RESIDENT_CATEGORY_ELDERLY: ResidentCategory
RESIDENT_CATEGORY_DISABLED: ResidentCategory
RESIDENT_CATEGORY_BEDRIDDEN: ResidentCategory
RESIDENT_CATEGORY_MENTAL_DISORDER: ResidentCategory
RESIDENT_CATEGORY_STUDENT: ResidentCategory
SEX_UNSPECIFIED: Sex
SEX_MALE: Sex
SEX_FEMALE: Sex

class QualityReason(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class QualityReport(_message.Message):
    __slots__ = ("score", "measures", "reasons", "threshold")
    class MeasuresEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    SCORE_FIELD_NUMBER: _ClassVar[int]
    MEASURES_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    score: int
    measures: _containers.ScalarMap[str, float]
    reasons: _containers.RepeatedCompositeFieldContainer[QualityReason]
    threshold: int
    def __init__(self, score: _Optional[int] = ..., measures: _Optional[_Mapping[str, float]] = ..., reasons: _Optional[_Iterable[_Union[QualityReason, _Mapping]]] = ..., threshold: _Optional[int] = ...) -> None: ...

class EncodedImage(_message.Message):
    __slots__ = ("data", "media_type", "width", "height")
    DATA_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    media_type: str
    width: int
    height: int
    def __init__(self, data: _Optional[bytes] = ..., media_type: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...
