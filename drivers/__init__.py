"""Device drivers: each speaks a real, public device protocol over a real transport."""

from drivers.base import (
    Ability,
    Capabilities,
    Device,
    DeviceIdentity,
    DeviceStatus,
    ImageDevice,
    Modality,
    PenDevice,
    PenPoint,
    PenSample,
    SignatureTrace,
)
from drivers.errors import (
    CaptureCancelled,
    CaptureTimeout,
    DeviceError,
    DeviceUnavailable,
    DriverImportError,
    ProtocolError,
)

__all__ = [
    "Ability",
    "Capabilities",
    "CaptureCancelled",
    "CaptureTimeout",
    "Device",
    "DeviceError",
    "DeviceIdentity",
    "DeviceStatus",
    "DeviceUnavailable",
    "DriverImportError",
    "ImageDevice",
    "Modality",
    "PenDevice",
    "PenPoint",
    "PenSample",
    "ProtocolError",
    "SignatureTrace",
]
