"""Device drivers: each speaks a real, public device protocol over a real transport."""

from drivers.base import (
    Capabilities,
    Device,
    DeviceIdentity,
    DeviceStatus,
    ImageDevice,
    Modality,
    PenDevice,
    PenPoint,
    SignatureTrace,
)
from drivers.errors import (
    CaptureCancelled,
    CaptureTimeout,
    DeviceError,
    DeviceUnavailable,
    OperatorText,
    ProtocolError,
)

__all__ = [
    "Capabilities",
    "CaptureCancelled",
    "CaptureTimeout",
    "Device",
    "DeviceError",
    "DeviceIdentity",
    "DeviceStatus",
    "DeviceUnavailable",
    "ImageDevice",
    "Modality",
    "OperatorText",
    "PenDevice",
    "PenPoint",
    "ProtocolError",
    "SignatureTrace",
]
