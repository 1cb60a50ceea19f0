"""The kit's devices as the daemon holds them: open, status, lookup, hotplug events.

Hotplug works with or without udev. A monitor thread polls every device's presence (its driver's
``present()``: the serial port exists or a USB-serial adapter matches through
``serial.tools.list_ports``, the USB device enumerates, the camera source answers) and compares
it with what it last published: a device that went away is released and reported ``detached``;
one that came back is reopened and reported ``attached``. A device configured by what it is
(``usb-serial:VID:PID/SERIAL``, ``usb-path:1-1.2``, a plain path whose adapter was seen at open)
that re-enumerated at another node between two rounds (``ttyUSB0`` back as ``ttyUSB1``:
``Device.moved()``) is released and reopened where it is now. Where pyudev can open a udev
netlink monitor, a kernel event wakes the poll at once instead of at the next interval.

A device that is unavailable (absent, or present but failing to open) is logged as a warning
once when it becomes so, then at most once every ``UNAVAILABLE_LOG_EVERY_S`` while it stays so,
and once more (info) when it is back.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from capture.workflow import NoSuchDevice
from domain.messages import Message, msg
from drivers.base import Device, DeviceStatus, Modality
from drivers.errors import DeviceError, DeviceUnavailable, DriverImportError
from drivers.registry import create_device

log = logging.getLogger(__name__)

UDEV_SUBSYSTEMS = ("tty", "usb", "video4linux")
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 10.0
UNAVAILABLE_LOG_EVERY_S = 60.0


@dataclass(frozen=True)
class DeviceEvent:
    kind: str  # "attached", "detached", "status_changed"
    device: Device
    driver: str
    time: datetime


@dataclass(frozen=True)
class UnusableDevice:
    """A configured device whose driver is installed but cannot be loaded."""

    device_id: str
    driver: str
    port: str
    error: DriverImportError


@dataclass
class _Tracking:
    """What the manager last published about one device, and when to retry opening it."""

    attached: bool = False
    status: DeviceStatus = DeviceStatus.DISCONNECTED
    retry_at: float = 0.0
    retry_delay: float = RETRY_FIRST_S
    unavailable_since: float | None = None  # clock time it became unavailable
    warned_at: float = 0.0


def is_present(device: Device) -> bool:
    """The driver's presence probe (``Device.present``); a probe that fails means absent."""
    try:
        return bool(device.present())
    except Exception:  # a probe that fails says the device is not usable
        log.debug("presence probe of %s failed", device.device_id, exc_info=True)
        return False


def _moved(device: Device) -> bool:
    """The driver's re-enumeration probe (``Device.moved``); a probe that fails means no."""
    try:
        return bool(device.moved())
    except Exception:  # a probe that fails tells nothing about where the device is
        log.debug("re-enumeration probe of %s failed", device.device_id, exc_info=True)
        return False


class DeviceManager:
    """Creates devices from configuration specs, opens them, follows hotplug, reopens on use.

    A spec naming a driver that fails to import is kept as an ``UnusableDevice`` (listed and
    diagnosed with its cause); an unknown driver or a malformed spec stops the manager.
    """

    def __init__(
        self, specs: list[dict[str, Any]], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._devices: dict[str, Device] = {}
        self._unusable: list[UnusableDevice] = []
        self._drivers: dict[str, str] = {}
        self._tracking: dict[str, _Tracking] = {}
        self._listeners: list[queue.Queue[DeviceEvent]] = []
        self.wakeup = threading.Event()
        for spec in specs:
            try:
                device = create_device(spec)
            except DriverImportError as error:
                log.error("device %s cannot be created: %s", spec["id"], error.detail)
                self._unusable.append(
                    UnusableDevice(str(spec["id"]), str(spec["driver"]), str(spec["port"]), error)
                )
                continue
            self._devices[device.device_id] = device
            self._drivers[device.device_id] = str(spec["driver"])
            self._tracking[device.device_id] = _Tracking()

    # -- lookup -----------------------------------------------------------------------------
    def devices(self) -> list[Device]:
        with self._lock:
            return list(self._devices.values())

    def unusable(self) -> list[UnusableDevice]:
        """Configured devices whose driver could not be loaded."""
        return list(self._unusable)

    def driver_of(self, device_id: str) -> str:
        return self._drivers.get(device_id, "")

    def get(self, device_id: str) -> Device | None:
        with self._lock:
            return self._devices.get(device_id)

    def for_modality(self, modality: Modality, device_id: str = "") -> Device:
        """The device to capture ``modality`` with: ``device_id``, or else the kit's first
        configured device of that modality; reopened if it was disconnected.

        Never another device in its place (an operator must know which scanner to use): one
        that is not there is DeviceUnavailable at once, naming the connected alternatives; an
        id the kit has no such device under is NoSuchDevice."""
        candidates = [d for d in self.devices() if d.capabilities.modality is modality]
        if not candidates:
            raise DeviceUnavailable(
                f"no {modality.value} device configured", code=UNAVAILABLE_CODES[modality]
            )
        chosen = candidates[0]
        if device_id:
            named = [d for d in candidates if d.device_id == device_id]
            if not named:
                raise NoSuchDevice(device_id, [d.device_id for d in candidates])
            chosen = named[0]
        if not is_present(chosen):
            self.wakeup.set()  # the monitor releases it and publishes the detach now
            raise _not_connected(chosen, candidates)
        if chosen.status is DeviceStatus.DISCONNECTED and not self.reopen(chosen):
            raise _not_connected(chosen, candidates)
        return chosen

    # -- opening and state ------------------------------------------------------------------
    def open_all(self) -> None:
        """Open every device; one that fails stays DISCONNECTED and is retried later."""
        for device in self.devices():
            self._try_open(device)
            self.sync(device)

    def reopen(self, device: Device) -> bool:
        """Open a disconnected device now and publish the outcome; whether it opened."""
        opened = self._try_open(device)
        self.sync(device, is_present(device))
        return opened

    def _try_open(self, device: Device) -> bool:
        try:
            with device.lock:
                device.open()
        except DeviceError as exc:
            device.status = DeviceStatus.DISCONNECTED
            self._note_unavailable(device, f"could not be opened: {exc.detail}")
            return False
        self._note_available(device)
        return True

    def _note_unavailable(self, device: Device, why: str) -> None:
        """Log that ``device`` is unavailable: a warning when it becomes so, then at most once
        every ``UNAVAILABLE_LOG_EVERY_S``; debug in between."""
        now = self._clock()
        with self._lock:
            tracking = self._tracking[device.device_id]
            since = tracking.unavailable_since
            due = since is None or now - tracking.warned_at >= UNAVAILABLE_LOG_EVERY_S
            if since is None:
                tracking.unavailable_since = since = now
            if due:
                tracking.warned_at = now
        if not due:
            log.debug("device %s %s", device.device_id, why)
        elif since == now:
            log.warning("device %s unavailable: %s", device.device_id, why)
        else:
            log.warning(
                "device %s still unavailable after %.0f s: %s", device.device_id, now - since, why
            )

    def _note_available(self, device: Device) -> None:
        with self._lock:
            tracking = self._tracking[device.device_id]
            was_unavailable = tracking.unavailable_since is not None
            tracking.unavailable_since = None
        if was_unavailable:
            log.info("device %s available again", device.device_id)

    def sync(self, device: Device, present: bool = True) -> None:
        """Publish what changed about ``device`` since the last event about it."""
        usable = present and device.status is not DeviceStatus.DISCONNECTED
        with self._lock:
            tracking = self._tracking[device.device_id]
            was_attached, was_status = tracking.attached, tracking.status
            tracking.attached, tracking.status = usable, device.status
            if usable:
                tracking.retry_delay = RETRY_FIRST_S
        if usable != was_attached:
            self._publish("attached" if usable else "detached", device)
        elif usable and device.status is not was_status:
            self._publish("status_changed", device)

    def poll_once(self) -> None:
        """One hotplug round: probe every device, release the gone, reopen the returned."""
        for device in self.devices():
            present = is_present(device)
            if not device.lock.acquire(blocking=False):
                self.sync(device, present)  # in use: its capture will see the outcome
                continue
            try:
                if not present:
                    self._release(device)
                    self._note_unavailable(device, f"not present at {device.port}")
                elif device.status is DeviceStatus.DISCONNECTED:
                    self._reopen_when_due(device)
                elif _moved(device):
                    log.info("device %s re-enumerated; reopening it", device.device_id)
                    self._release(device)
                    self._try_open(device)
            finally:
                device.lock.release()
            self.sync(device, present)

    def _release(self, device: Device) -> None:
        if device.status is not DeviceStatus.DISCONNECTED:
            with contextlib.suppress(DeviceError):
                device.close()

    def _reopen_when_due(self, device: Device) -> None:
        with self._lock:
            tracking = self._tracking[device.device_id]
            if self._clock() < tracking.retry_at:
                return
        if self._try_open(device):
            return
        with self._lock:
            tracking.retry_at = self._clock() + tracking.retry_delay
            tracking.retry_delay = min(RETRY_MAX_S, tracking.retry_delay * 2)

    # -- events -----------------------------------------------------------------------------
    def subscribe(self) -> queue.Queue[DeviceEvent]:
        events: queue.Queue[DeviceEvent] = queue.Queue(maxsize=256)
        with self._lock:
            self._listeners.append(events)
        return events

    def unsubscribe(self, events: queue.Queue[DeviceEvent]) -> None:
        with self._lock:
            if events in self._listeners:
                self._listeners.remove(events)

    def _publish(self, kind: str, device: Device) -> None:
        with self._lock:
            listeners = list(self._listeners)
        log.info("device %s %s (%s)", device.device_id, kind, device.status.value)
        event = DeviceEvent(kind, device, self.driver_of(device.device_id), datetime.now(UTC))
        for listener in listeners:
            try:
                listener.put_nowait(event)
            except queue.Full:
                log.warning("a device watcher is not reading; event dropped")

    # -- the monitor thread -----------------------------------------------------------------
    def watch_status(self, stop: threading.Event, interval_s: float = 0.5) -> Callable[[], None]:
        """Start the hotplug monitor thread; returns a function that joins it."""
        udev = UdevWakeup.open()

        def loop() -> None:
            try:
                while not stop.is_set():
                    self.poll_once()
                    self._wait(stop, udev, interval_s)
            finally:
                if udev is not None:
                    udev.close()

        thread = threading.Thread(target=loop, name="device-hotplug", daemon=True)
        thread.start()
        return lambda: thread.join(timeout=interval_s + 5)

    def _wait(self, stop: threading.Event, udev: UdevWakeup | None, interval_s: float) -> None:
        """Sleep until the next round: the interval, a udev event, ``wakeup`` or ``stop``."""
        deadline = time.monotonic() + interval_s
        while not stop.is_set() and not self.wakeup.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            slice_s = min(remaining, 0.1)
            if udev is not None and udev.wait(slice_s):
                break
            if udev is None:
                stop.wait(slice_s)
        self.wakeup.clear()

    def close(self) -> None:
        for device in self.devices():
            try:
                device.close()
            except DeviceError:
                log.warning("device %s did not close cleanly", device.device_id)


class UdevWakeup:
    """A udev netlink monitor for tty, usb and video4linux events (where udev exists)."""

    def __init__(self, monitor: Any) -> None:
        self._monitor = monitor

    @classmethod
    def open(cls) -> UdevWakeup | None:
        """The monitor, or None where pyudev or a udev netlink socket is not available."""
        try:
            import pyudev

            monitor = pyudev.Monitor.from_netlink(pyudev.Context())
            for subsystem in UDEV_SUBSYSTEMS:
                monitor.filter_by(subsystem)
            monitor.start()
        except Exception as exc:  # no libudev, no netlink permission, ...
            log.info("udev monitor not available (%s); polling for hotplug", exc)
            return None
        return cls(monitor)

    def wait(self, timeout: float) -> bool:
        """Whether a udev event arrived within ``timeout`` (all pending ones are consumed)."""
        ready, _, _ = select.select([self._monitor.fileno()], [], [], timeout)
        if not ready:
            return False
        for _ in range(256):  # drain, bounded
            if self._monitor.poll(timeout=0) is None:
                break
        return True

    def close(self) -> None:
        """Drop the monitor; pyudev closes its socket when the monitor is released."""
        self._monitor = None


def _not_connected(device: Device, candidates: list[Device]) -> DeviceUnavailable:
    """DeviceUnavailable for ``device``, naming the other devices of its modality in use."""
    others = [
        d.device_id
        for d in candidates
        if d is not device and d.status is not DeviceStatus.DISCONNECTED and is_present(d)
    ]
    detail = f"{device.device_id} is not connected at {device.port}"
    if others:
        return DeviceUnavailable(
            detail,
            code="CAPTURE_DEVICE_NOT_CONNECTED_OTHERS",
            device_id=device.device_id,
            others=", ".join(others),
        )
    return DeviceUnavailable(
        detail, code="CAPTURE_DEVICE_NOT_CONNECTED", device_id=device.device_id
    )


def unavailable_message(modality: Modality) -> Message:
    """The operator's sentence for "no usable device of this modality"."""
    return msg(UNAVAILABLE_CODES[modality])


UNAVAILABLE_CODES: dict[Modality, str] = {
    Modality.FINGERPRINT: "DEVICE_FINGERPRINT_NOT_CONNECTED",
    Modality.FACE: "DEVICE_FACE_CAMERA_NOT_CONNECTED",
    Modality.IRIS: "DEVICE_IRIS_CAMERA_NOT_CONNECTED",
    Modality.SIGNATURE: "DEVICE_SIGNATURE_PAD_NOT_CONNECTED",
}
