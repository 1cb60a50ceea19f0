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

class DeviceStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEVICE_STATUS_UNSPECIFIED: _ClassVar[DeviceStatus]
    DEVICE_STATUS_READY: _ClassVar[DeviceStatus]
    DEVICE_STATUS_BUSY: _ClassVar[DeviceStatus]
    DEVICE_STATUS_NOT_READY: _ClassVar[DeviceStatus]
    DEVICE_STATUS_DISCONNECTED: _ClassVar[DeviceStatus]
DEVICE_STATUS_UNSPECIFIED: DeviceStatus
DEVICE_STATUS_READY: DeviceStatus
DEVICE_STATUS_BUSY: DeviceStatus
DEVICE_STATUS_NOT_READY: DeviceStatus
DEVICE_STATUS_DISCONNECTED: DeviceStatus

class DeviceIdentity(_message.Message):
    __slots__ = ("vendor", "model", "serial", "firmware", "transport", "port")
    VENDOR_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    FIRMWARE_FIELD_NUMBER: _ClassVar[int]
    TRANSPORT_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    vendor: str
    model: str
    serial: str
    firmware: str
    transport: str
    port: str
    def __init__(self, vendor: _Optional[str] = ..., model: _Optional[str] = ..., serial: _Optional[str] = ..., firmware: _Optional[str] = ..., transport: _Optional[str] = ..., port: _Optional[str] = ...) -> None: ...

class DeviceCapabilities(_message.Message):
    __slots__ = ("modality", "positions", "width", "height", "ppi", "live_preview")
    MODALITY_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    PPI_FIELD_NUMBER: _ClassVar[int]
    LIVE_PREVIEW_FIELD_NUMBER: _ClassVar[int]
    modality: _common_pb2.Modality
    positions: _containers.RepeatedScalarFieldContainer[_common_pb2.Position]
    width: int
    height: int
    ppi: int
    live_preview: bool
    def __init__(self, modality: _Optional[_Union[_common_pb2.Modality, str]] = ..., positions: _Optional[_Iterable[_Union[_common_pb2.Position, str]]] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., ppi: _Optional[int] = ..., live_preview: _Optional[bool] = ...) -> None: ...

class Device(_message.Message):
    __slots__ = ("id", "driver", "status", "identity", "capabilities", "status_message")
    ID_FIELD_NUMBER: _ClassVar[int]
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    id: str
    driver: str
    status: DeviceStatus
    identity: DeviceIdentity
    capabilities: DeviceCapabilities
    status_message: str
    def __init__(self, id: _Optional[str] = ..., driver: _Optional[str] = ..., status: _Optional[_Union[DeviceStatus, str]] = ..., identity: _Optional[_Union[DeviceIdentity, _Mapping]] = ..., capabilities: _Optional[_Union[DeviceCapabilities, _Mapping]] = ..., status_message: _Optional[str] = ...) -> None: ...

class ListDevicesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListDevicesResponse(_message.Message):
    __slots__ = ("devices",)
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    devices: _containers.RepeatedCompositeFieldContainer[Device]
    def __init__(self, devices: _Optional[_Iterable[_Union[Device, _Mapping]]] = ...) -> None: ...

class WatchDevicesRequest(_message.Message):
    __slots__ = ("include_current",)
    INCLUDE_CURRENT_FIELD_NUMBER: _ClassVar[int]
    include_current: bool
    def __init__(self, include_current: _Optional[bool] = ...) -> None: ...

class DeviceEvent(_message.Message):
    __slots__ = ("kind", "device", "time")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[DeviceEvent.Kind]
        KIND_ATTACHED: _ClassVar[DeviceEvent.Kind]
        KIND_DETACHED: _ClassVar[DeviceEvent.Kind]
        KIND_STATUS_CHANGED: _ClassVar[DeviceEvent.Kind]
    KIND_UNSPECIFIED: DeviceEvent.Kind
    KIND_ATTACHED: DeviceEvent.Kind
    KIND_DETACHED: DeviceEvent.Kind
    KIND_STATUS_CHANGED: DeviceEvent.Kind
    KIND_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    kind: DeviceEvent.Kind
    device: Device
    time: _timestamp_pb2.Timestamp
    def __init__(self, kind: _Optional[_Union[DeviceEvent.Kind, str]] = ..., device: _Optional[_Union[Device, _Mapping]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RunDiagnosticsRequest(_message.Message):
    __slots__ = ("device_ids", "include_test_capture")
    DEVICE_IDS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_TEST_CAPTURE_FIELD_NUMBER: _ClassVar[int]
    device_ids: _containers.RepeatedScalarFieldContainer[str]
    include_test_capture: bool
    def __init__(self, device_ids: _Optional[_Iterable[str]] = ..., include_test_capture: _Optional[bool] = ...) -> None: ...

class DiagnosticStep(_message.Message):
    __slots__ = ("device_id", "check", "passed", "detail", "remedy", "figures")
    class FiguresEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    CHECK_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    REMEDY_FIELD_NUMBER: _ClassVar[int]
    FIGURES_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    check: str
    passed: bool
    detail: str
    remedy: str
    figures: _containers.ScalarMap[str, float]
    def __init__(self, device_id: _Optional[str] = ..., check: _Optional[str] = ..., passed: _Optional[bool] = ..., detail: _Optional[str] = ..., remedy: _Optional[str] = ..., figures: _Optional[_Mapping[str, float]] = ...) -> None: ...
