"""The device model shared by every driver: identity, capabilities, abilities, status, and the
capture loops.

The framework owns the capture loop (``ImageDevice.capture``, ``PenDevice.capture_signature``):
opening on demand, the device's status, waiting for a presentation with cancel and deadline,
releasing a device that went away. A driver implements small primitives and declares which
optional abilities (``Ability``) it has.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from enum import Flag, StrEnum, auto
from typing import ClassVar

import numpy as np

from domain.vocabulary import Modality, Position
from drivers.errors import CaptureCancelled, CaptureTimeout, DeviceUnavailable
from drivers.usb_identity import port_moved

EXPECT_PREFIX = "expect_"


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
    # The settings negotiated with the device, by name: "baudrate", "image_size" ("256x288"),
    # "fourcc", "fps", "pressure_levels", ... What the diagnostics report and compare with
    # the configured expectations (``Device.expected``).
    mode: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Capabilities:
    """What the device captures, at which positions."""

    modality: Modality
    positions: tuple[Position, ...]
    width: int
    height: int
    ppi: int = 0
    live_preview: bool = False
    max_pressure: int = 0  # pens: the highest pressure value reported


class Ability(Flag):
    """Optional abilities a driver declares in ``Device.abilities``; ask ``device.supports()``."""

    NONE = 0
    PING = auto()  # ping() asks the device itself whether it answers
    READ_PLATEN = auto()  # read_platen() reads the empty sensor (the blank-platen check)


@dataclass(frozen=True)
class PenPoint:
    """One pen report: time since the first report, position in device units, pressure."""

    t_ms: int
    x: int
    y: int
    pressure: int
    touching: bool


@dataclass(frozen=True)
class PenSample:
    """One pen report in proximity of the pad, as a driver reads it."""

    arrived: float  # time.monotonic() when it was read
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


def split_expectations(options: dict[str, object]) -> tuple[dict[str, object], dict[str, str]]:
    """A ``[[devices]]`` entry's options split into the driver's keyword arguments and the
    configured expectations: ``expect_model = "R503"`` -> ``{"model": "R503"}``."""
    driver_options = {k: v for k, v in options.items() if not k.startswith(EXPECT_PREFIX)}
    expected = {
        k[len(EXPECT_PREFIX) :]: str(v) for k, v in options.items() if k.startswith(EXPECT_PREFIX)
    }
    return driver_options, expected


class Device(ABC):
    """A device the station drives. Subclasses implement one protocol over one transport.

    ``device_id`` is the station-local name from configuration (e.g. "fingerprint-0").
    ``expected`` holds what the configuration says the device should be (``expect_*`` options:
    "model", "vendor", "serial", "firmware", or any ``identity.mode`` setting such as
    "image_size" or "baudrate"); diagnostics report a device that differs.
    ``lock`` serialises transfers on the device (re-entrant; drivers take it around each
    transfer). Reserving a device for a whole capture is the caller's business.
    ``status`` is DISCONNECTED exactly while the transport is closed: ``open()`` sets READY,
    ``close()`` sets DISCONNECTED.
    """

    driver_name: str = ""
    abilities: ClassVar[Ability] = Ability.NONE

    def __init__(self, device_id: str, port: str) -> None:
        self.device_id = device_id
        self.port = port
        self.status = DeviceStatus.DISCONNECTED
        self.identity = DeviceIdentity(vendor="unknown", model="unknown", port=port)
        self.expected: dict[str, str] = {}
        self.lock = threading.RLock()

    @property
    @abstractmethod
    def capabilities(self) -> Capabilities:
        """What this device captures."""

    @abstractmethod
    def open(self) -> None:
        """Open the transport, handshake, fill ``identity``, set READY; raises DeviceUnavailable."""

    @abstractmethod
    def close(self) -> None:
        """Release the transport and set DISCONNECTED. Safe to call twice."""

    def present(self) -> bool:
        """Whether the device is there to be opened (port, bus or source); cheap, no I/O."""
        return True

    def moved(self) -> bool:
        """Whether the device re-enumerated at another node since it was opened (its port spec
        resolves elsewhere now); the hotplug monitor then reopens it. Default: what the port
        resolvers of ``drivers.usb_identity`` remember of the port opened."""
        return port_moved(self.port)

    def supports(self, ability: Ability) -> bool:
        """Whether this driver declares ``ability``."""
        return ability in self.abilities

    # -- optional abilities (safe defaults; a driver declaring the ability overrides them) ----
    def ping(self) -> bool:
        """Whether the device answers right now. Default: it is open and present."""
        return self.status is not DeviceStatus.DISCONNECTED and self.present()

    # -- for the capture loops --------------------------------------------------------------
    def _ensure_open(self) -> None:
        if self.status is DeviceStatus.DISCONNECTED:
            self.open()

    @contextmanager
    def _in_use(self) -> Iterator[None]:
        """Hold the device for one capture: opened if needed, BUSY meanwhile, closed when it
        turns out to be gone (DeviceUnavailable)."""
        with self.lock:
            try:
                self._ensure_open()
                self.status = DeviceStatus.BUSY
                yield
            except DeviceUnavailable:
                self.close()
                raise
            finally:
                if self.status is DeviceStatus.BUSY:
                    self.status = DeviceStatus.READY


class ImageDevice(Device):
    """A device that produces images: fingerprint scanners, face and iris cameras.

    The driver's contract for a capture (the loop itself is ``capture``; a driver that
    overrides ``capture`` whole needs none of it):

    - ``_begin_capture(position)``: once per capture, before the first attempt (e.g. light
      the sensor's LED, reset per-capture counters). Optional.
    - ``_try_capture(position, deadline)``: one attempt; the image when something is
      presented, None when nothing is yet; raises DeviceError on a fault. ``deadline``
      (``time.monotonic()``) bounds an attempt that itself waits (a camera skipping queued
      frames returns None when it passes).
    - ``_nothing_presented()`` / ``_cancelled()``: the CaptureTimeout / CaptureCancelled to
      raise, with the driver's message code.

    Between attempts that returned None the loop waits ``poll_interval`` seconds (less near the
    deadline), waking at once on cancel.
    """

    poll_interval: float = 0.05

    def capture(
        self,
        *,
        timeout: float,
        cancel: threading.Event | None = None,
        position: str | None = None,
    ) -> np.ndarray:
        """Wait up to ``timeout`` seconds for a presentation and return one image.

        Fingerprints: uint8 grey (H, W). Face: uint8 BGR (H, W, 3). Iris: uint8 grey of the
        eye named by ``position``. Raises CaptureTimeout, CaptureCancelled, DeviceUnavailable;
        ValueError for a position the device does not capture.
        """
        if position is not None and position not in self.capabilities.positions:
            known = ", ".join(self.capabilities.positions)
            raise ValueError(f"unknown position {position!r} for {self.device_id}; known: {known}")
        with self._in_use():
            self._begin_capture(position)
            deadline = time.monotonic() + timeout  # the device is open: waiting starts now
            while True:
                if cancel is not None and cancel.is_set():
                    raise self._cancelled()
                image = self._try_capture(position, deadline)
                if image is not None:
                    return image
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._nothing_presented()
                pause = min(self.poll_interval, remaining)
                if cancel is not None:
                    cancel.wait(pause)
                else:
                    time.sleep(pause)

    def frames(
        self, *, cancel: threading.Event, position: str | None = None, timeout: float = 10.0
    ) -> Iterator[np.ndarray]:
        """Live frames until ``cancel`` is set: one capture after another."""
        while not cancel.is_set():
            yield self.capture(timeout=timeout, cancel=cancel, position=position)

    def _begin_capture(self, position: str | None) -> None:
        """Prepare one capture (called once, the device open and held)."""

    def _try_capture(self, position: str | None, deadline: float) -> np.ndarray | None:
        """One attempt: the image, or None while nothing is presented."""
        raise NotImplementedError(f"{type(self).__name__} implements no _try_capture")

    def _nothing_presented(self) -> CaptureTimeout:
        return CaptureTimeout("nothing was presented before the timeout")

    def _cancelled(self) -> CaptureCancelled:
        return CaptureCancelled("capture cancelled")

    # -- optional abilities -----------------------------------------------------------------
    def read_platen(self, timeout: float = 1.0) -> np.ndarray | None:
        """What the sensor reads with nothing on it, None when it detects nothing
        (``Ability.READ_PLATEN``). Default: None."""
        return None


class PenDevice(Device):
    """A signature pad.

    The driver's contract for a signature (the loop itself is ``capture_signature``):
    ``_start_sampling()`` / ``_stop_sampling()`` around it (stop must not raise),
    ``_read_pen()`` returns the in-proximity reports read now, waiting at most a short slice
    when none arrived; ``_nothing_presented()`` / ``_cancelled()`` give the errors to raise.
    The signature ends once the pen, having touched, stays away ``pen_away_s`` seconds, or at
    the timeout (an error only when it never touched).
    """

    pen_away_s: float = 1.0

    def capture_signature(
        self, *, timeout: float, cancel: threading.Event | None = None
    ) -> SignatureTrace:
        """Collect pen reports until the signer stops (pen away for a while) or ``timeout``."""
        with closing(self.signing(timeout=timeout, cancel=cancel)) as growing:
            *_, whole = growing  # the last trace yielded is the whole signature
        return whole

    def signing(
        self, *, timeout: float, cancel: threading.Event | None = None
    ) -> Iterator[SignatureTrace]:
        """The signature as it grows, for a live preview: the trace so far each time new pen
        reports arrived (the same trace object, its points appended to); the last one is the
        whole signature. Close the iterator in the thread that reads it."""
        with self._in_use():
            caps = self.capabilities  # known once the pad is open and has been queried
            trace = SignatureTrace([], caps.width, caps.height, caps.max_pressure)
            deadline = time.monotonic() + timeout  # the pad is open: waiting starts now
            self._start_sampling()
            try:
                yield from self._collect(trace, deadline, cancel)
            finally:
                self._stop_sampling()

    def _collect(
        self, trace: SignatureTrace, deadline: float, cancel: threading.Event | None
    ) -> Iterator[SignatureTrace]:
        points = trace.points
        first: float | None = None
        last_in_proximity = time.monotonic()
        touched = False
        while True:
            if cancel is not None and cancel.is_set():
                raise self._cancelled()
            now = time.monotonic()
            if touched and now - last_in_proximity >= self.pen_away_s:
                return
            if now >= deadline:
                if touched:
                    return
                raise self._nothing_presented()
            read = self._read_pen()
            for sample in read:
                first = sample.arrived if first is None else first
                last_in_proximity = sample.arrived
                touched = touched or sample.touching
                t_ms = round((sample.arrived - first) * 1000)
                points.append(PenPoint(t_ms, sample.x, sample.y, sample.pressure, sample.touching))
            if read:
                yield trace

    def _start_sampling(self) -> None:
        """Have the pad start reporting."""

    def _read_pen(self) -> list[PenSample]:
        """The in-proximity reports that arrived, waiting at most a short slice."""
        raise NotImplementedError(f"{type(self).__name__} implements no _read_pen")

    def _stop_sampling(self) -> None:
        """Have the pad stop reporting; never raises."""

    def _nothing_presented(self) -> CaptureTimeout:
        return CaptureTimeout("no pen strokes on the pad")

    def _cancelled(self) -> CaptureCancelled:
        return CaptureCancelled("signature capture cancelled")
