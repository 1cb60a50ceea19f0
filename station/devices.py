"""The kit's devices as the daemon holds them: open, status, lookup by modality, events."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from drivers.base import Device, DeviceStatus, Modality
from drivers.errors import DeviceError, DeviceUnavailable, OperatorText
from drivers.registry import create_device

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceEvent:
    kind: str  # "attached", "detached", "status_changed"
    device: Device
    driver: str
    time: datetime


class DeviceManager:
    """Creates devices from configuration specs, opens them, and reopens them on demand."""

    def __init__(self, specs: list[dict[str, Any]]) -> None:
        self._lock = threading.Lock()
        self._devices: dict[str, Device] = {}
        self._drivers: dict[str, str] = {}
        self._last_status: dict[str, DeviceStatus] = {}
        self._listeners: list[queue.Queue[DeviceEvent]] = []
        for spec in specs:
            device = create_device(spec)
            self._devices[device.device_id] = device
            self._drivers[device.device_id] = str(spec["driver"])

    def open_all(self) -> None:
        """Open every device; one that fails stays DISCONNECTED and is retried on use."""
        for device in self.devices():
            self._try_open(device)
            self._publish("attached", device)

    def _try_open(self, device: Device) -> bool:
        try:
            device.open()
            return True
        except DeviceError as exc:
            device.status = DeviceStatus.DISCONNECTED
            log.warning("device %s could not be opened: %s", device.device_id, exc.detail)
            return False

    def devices(self) -> list[Device]:
        with self._lock:
            return list(self._devices.values())

    def driver_of(self, device_id: str) -> str:
        return self._drivers.get(device_id, "")

    def get(self, device_id: str) -> Device | None:
        with self._lock:
            return self._devices.get(device_id)

    def for_modality(self, modality: Modality) -> Device:
        """A usable device for ``modality`` (reopening a disconnected one) or DeviceUnavailable."""
        candidates = [d for d in self.devices() if d.capabilities.modality is modality]
        for device in candidates:
            if device.status is not DeviceStatus.DISCONNECTED:
                return device
        for device in candidates:
            if self._try_open(device):
                self.refresh_status(device)
                return device
        raise DeviceUnavailable(
            f"no connected {modality.value} device",
            _UNAVAILABLE_TEXT[modality],
        )

    def refresh_status(self, device: Device) -> None:
        """Publish a status event when the device's status changed since last seen."""
        with self._lock:
            previous = self._last_status.get(device.device_id)
            self._last_status[device.device_id] = device.status
        if previous is not None and previous is not device.status:
            self._publish("status_changed", device)

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
            self._last_status[device.device_id] = device.status
            listeners = list(self._listeners)
        event = DeviceEvent(kind, device, self.driver_of(device.device_id), datetime.now(UTC))
        for listener in listeners:
            try:
                listener.put_nowait(event)
            except queue.Full:
                log.warning("a device watcher is not reading; event dropped")

    def watch_status(self, stop: threading.Event, interval_s: float = 0.5) -> Callable[[], None]:
        """Start a thread publishing status changes; returns a function that joins it."""

        def loop() -> None:
            while not stop.wait(interval_s):
                for device in self.devices():
                    self.refresh_status(device)

        thread = threading.Thread(target=loop, name="device-status", daemon=True)
        thread.start()
        return lambda: thread.join(timeout=2)

    def close(self) -> None:
        for device in self.devices():
            try:
                device.close()
            except DeviceError:
                log.warning("device %s did not close cleanly", device.device_id)


_UNAVAILABLE_TEXT: dict[Modality, OperatorText] = {
    Modality.FINGERPRINT: OperatorText(
        "The fingerprint scanner is not connected. Check its cable, then try again.",
        "Pemindai sidik jari tidak terhubung. Periksa kabelnya, lalu coba lagi.",
    ),
    Modality.FACE: OperatorText(
        "The face camera is not connected. Check its cable, then try again.",
        "Kamera wajah tidak terhubung. Periksa kabelnya, lalu coba lagi.",
    ),
    Modality.IRIS: OperatorText(
        "The iris camera is not connected. Check its cable, then try again.",
        "Kamera iris tidak terhubung. Periksa kabelnya, lalu coba lagi.",
    ),
    Modality.SIGNATURE: OperatorText(
        "The signature pad is not connected. Check its cable, then try again.",
        "Bantalan tanda tangan tidak terhubung. Periksa kabelnya, lalu coba lagi.",
    ),
}
