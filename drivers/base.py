"""The device model shared by every driver: identity, capabilities, status, capture calls."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from domain.vocabulary import FINGERS, Modality

# Finger positions in ANSI/NIST-ITL friction-ridge code order: index + 1 is the code.
FINGER_NAMES: tuple[str, ...] = tuple(p.value for p in FINGERS)


class DeviceStatus(StrEnum):
    READY = "ready"
    BUSY = "busy"
    NOT_READY = "not_ready"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True)
class DeviceIdentity:
    """Who the device says it is (read from the device where its protocol allows)."""

    vendor: str
    model: str
    serial: str = ""
    firmware: str = ""
    transport: str = ""  # "uart", "usb", "uvc", ...
    port: str = ""  # serial port / URL / USB bus address / camera source


@dataclass(frozen=True)
class Capabilities:
    """What the device captures. ``positions`` uses the API's position names."""

    modality: Modality
    positions: tuple[str, ...]
    width: int
    height: int
    ppi: int = 0
    live_preview: bool = False


@dataclass(frozen=True)
class PenPoint:
    """One pen report: time since the first report, position in device units, pressure."""

    t_ms: int
    x: int
    y: int
    pressure: int
    touching: bool


@dataclass
class SignatureTrace:
    """A signature as the pad reported it, with the pad's coordinate and pressure ranges."""

    points: list[PenPoint] = field(default_factory=list)
    max_x: int = 0
    max_y: int = 0
    max_pressure: int = 0


class Device(ABC):
    """A device the station drives. Subclasses implement one protocol over one transport.

    ``device_id`` is the station-local name from configuration (e.g. "fingerprint-0").
    ``lock`` serialises transfers on the device (re-entrant; drivers take it around each
    transfer). Reserving a device for a whole capture is the caller's business.
    """

    driver_name: str = ""

    def __init__(self, device_id: str, port: str) -> None:
        self.device_id = device_id
        self.port = port
        self.status = DeviceStatus.DISCONNECTED
        self.identity = DeviceIdentity(vendor="unknown", model="unknown", port=port)
        self.lock = threading.RLock()

    @property
    @abstractmethod
    def capabilities(self) -> Capabilities:
        """What this device captures."""

    @abstractmethod
    def open(self) -> None:
        """Open the transport, handshake, and fill ``identity``; raises DeviceUnavailable."""

    @abstractmethod
    def close(self) -> None:
        """Release the transport. Safe to call twice."""

    def present(self) -> bool:
        """Whether the device is there to be opened (port, bus or source); cheap, no I/O."""
        return True


class ImageDevice(Device):
    """A device that produces images: fingerprint scanners, face and iris cameras."""

    @abstractmethod
    def capture(
        self,
        *,
        timeout: float,
        cancel: threading.Event | None = None,
        position: str | None = None,
    ) -> np.ndarray:
        """Wait up to ``timeout`` seconds for a presentation and return one image.

        Fingerprints: uint8 grey (H, W). Face: uint8 BGR (H, W, 3). Iris: uint8 grey of the
        eye named by ``position``. Raises CaptureTimeout, CaptureCancelled, DeviceUnavailable.
        """

    def frames(
        self, *, cancel: threading.Event, position: str | None = None, timeout: float = 10.0
    ) -> Iterator[np.ndarray]:
        """Live frames until ``cancel`` is set; by default one capture after another."""
        while not cancel.is_set():
            yield self.capture(timeout=timeout, cancel=cancel, position=position)


class PenDevice(Device):
    """A signature pad."""

    @abstractmethod
    def capture_signature(
        self, *, timeout: float, cancel: threading.Event | None = None
    ) -> SignatureTrace:
        """Collect pen reports until the signer stops (pen away for a while) or ``timeout``."""
