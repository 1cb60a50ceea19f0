"""A simulated USB bus for pyusb holding a Veridicom 5thSense (061a:0110) fingerprint sensor.

This is a real ``usb.backend.IBackend``: ``usb.core.find(backend=get_backend())`` enumerates the
simulated sensor, and the driver's control and bulk transfers reach the device model below,
which answers as the sensor does (as documented by libfprint's vcom5s driver): vendor control
writes set contrast (0x02) and gain (0x03), the vendor command 0xC1 starts a scan, and the image
(300x288, 8 bits) arrives as 24 bulk reads of 3,600 bytes on endpoint 0x81.
"""

from __future__ import annotations

import array
import errno
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import ClassVar

import numpy as np
import usb.backend
import usb.core

from simulator.devices.platen import apply_dirt

VENDOR_ID = 0x061A
PRODUCT_ID = 0x0110
WIDTH, HEIGHT = 300, 288
ROWS_PER_READ = 12
READ_SIZE = WIDTH * ROWS_PER_READ
READS_PER_IMAGE = HEIGHT // ROWS_PER_READ
EP_IN = 0x81
REG_CONTRAST, REG_GAIN = 0x02, 0x03
CMD_SCAN = 0xC1
GET_DESCRIPTOR, STRING_DESCRIPTOR = 0x06, 0x03
LANGID_EN_US = 0x0409


def _descriptor(**fields: object) -> SimpleNamespace:
    return SimpleNamespace(extra_descriptors=[], **fields)


@dataclass
class Vcom5sSensor:
    """The device side: registers, scan state, what is on the glass, and injected faults."""

    serial: str = "V5S-000001"
    firmware: int = 0x0102
    # Returns the uint8 finger image on the glass (any size), or None when nothing is there.
    finger: Callable[[], np.ndarray | None] = lambda: None
    contrast: int = 0
    gain: int = 0
    plugged: bool = True
    # Faults: "short_read" (next image read returns fewer bytes), "timeout" (reads time out),
    # "unplug_mid_transfer" (unplugged after this many reads of an image), "dirty_platen"
    # (percent of the glass under blots), "slow_link" (milliseconds added to every bulk read),
    # "busy" (another process, e.g. fprintd, holds interface 0: claiming it fails as
    # libusb_claim_interface documents, LIBUSB_ERROR_BUSY / EBUSY), "no_permission" (the device
    # node is not ours to open: libusb_open's LIBUSB_ERROR_ACCESS / EACCES).
    faults: dict[str, int] = field(default_factory=dict)
    _image: bytes = b""
    _read_index: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _scan(self) -> bytes:
        image = self.finger()
        if image is None:
            # An empty sensor reads bright (libfprint: finger present when the centre box
            # averages at or below 100).
            rng = np.random.default_rng(self._read_index)
            frame = rng.integers(200, 256, size=(HEIGHT, WIDTH), dtype=np.uint8)
        else:
            frame = _fit(image, HEIGHT, WIDTH)
            # Sensor response at the gain/contrast libfprint uses (0x29 / 0x01): ridges dark,
            # valleys light grey; a finger reads darker than the empty glass.
            frame = (frame.astype(np.float32) * 0.72).astype(np.uint8)
        dirt_percent = self.faults.get("dirty_platen")
        if dirt_percent:
            frame = apply_dirt(frame, dirt_percent / 100)
        return frame.tobytes()

    def control(
        self, request_type: int, request: int, value: int, index: int, length: int
    ) -> bytes:
        with self._lock:
            self._check_plugged()
            if request_type & 0x60 == 0x40:  # vendor
                if request == REG_CONTRAST:
                    self.contrast = value
                elif request == REG_GAIN:
                    self.gain = value
                elif request == CMD_SCAN:
                    self._image = self._scan()
                    self._read_index = 0
                return b""
            if request == GET_DESCRIPTOR and value >> 8 == STRING_DESCRIPTOR:
                return _string_descriptor(value & 0xFF, self.serial)[:length]
            raise usb.core.USBError("pipe error", -9, errno.EPIPE)

    def bulk_read(self, endpoint: int, size: int, timeout_ms: int) -> bytes:
        with self._lock:
            self._check_plugged()
            if endpoint != EP_IN:
                raise usb.core.USBError("invalid endpoint", -2, errno.EINVAL)
            if self.faults.get("timeout"):
                time.sleep(min(timeout_ms, 50) / 1000)
                raise usb.core.USBTimeoutError("Operation timed out", -7, errno.ETIMEDOUT)
            if self.faults.get("slow_link"):
                time.sleep(min(self.faults["slow_link"], timeout_ms) / 1000)
            unplug_after = self.faults.get("unplug_mid_transfer")
            if unplug_after is not None and self._read_index >= unplug_after:
                self.plugged = False
                self.faults.pop("unplug_mid_transfer")
                self._check_plugged()
            if not self._image or self._read_index >= READS_PER_IMAGE:
                time.sleep(min(timeout_ms, 50) / 1000)
                raise usb.core.USBTimeoutError("Operation timed out", -7, errno.ETIMEDOUT)
            start = self._read_index * READ_SIZE
            chunk = self._image[start : start + min(size, READ_SIZE)]
            self._read_index += 1
            if self.faults.get("short_read"):
                self.faults["short_read"] -= 1
                chunk = chunk[: len(chunk) // 2]
            return chunk

    def _check_plugged(self) -> None:
        if not self.plugged:
            raise usb.core.USBError(
                "No such device (it may have been disconnected)", -4, errno.ENODEV
            )


def _fit(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Centre-crop or pad (with the bright empty-glass level) to the sensor's size."""
    out = np.full((height, width), 230, dtype=np.uint8)
    src_h, src_w = image.shape[:2]
    copy_h, copy_w = min(height, src_h), min(width, src_w)
    sy, sx = (src_h - copy_h) // 2, (src_w - copy_w) // 2
    dy, dx = (height - copy_h) // 2, (width - copy_w) // 2
    out[dy : dy + copy_h, dx : dx + copy_w] = image[sy : sy + copy_h, sx : sx + copy_w]
    return out


def _string_descriptor(index: int, serial: str) -> bytes:
    if index == 0:
        return bytes([4, STRING_DESCRIPTOR]) + LANGID_EN_US.to_bytes(2, "little")
    text = {1: "Veridicom", 2: "5thSense", 3: serial}.get(index, "")
    payload = text.encode("utf-16-le")
    return bytes([2 + len(payload), STRING_DESCRIPTOR]) + payload


class SimulatedUsbBackend(usb.backend.IBackend):
    """A pyusb backend whose bus holds simulated sensors (plugged ones are enumerated)."""

    def __init__(self) -> None:
        self.sensors: list[Vcom5sSensor] = []

    def attach(self, sensor: Vcom5sSensor) -> Vcom5sSensor:
        self.sensors.append(sensor)
        return sensor

    def enumerate_devices(self):  # type: ignore[no-untyped-def]
        return [s for s in self.sensors if s.plugged]

    def get_parent(self, dev):  # type: ignore[no-untyped-def]
        return None

    def get_device_descriptor(self, dev: Vcom5sSensor) -> SimpleNamespace:
        index = self.sensors.index(dev)
        return _descriptor(
            bLength=18,
            bDescriptorType=1,
            bcdUSB=0x0110,
            bDeviceClass=0xFF,
            bDeviceSubClass=0,
            bDeviceProtocol=0,
            bMaxPacketSize0=8,
            idVendor=VENDOR_ID,
            idProduct=PRODUCT_ID,
            bcdDevice=dev.firmware,
            iManufacturer=1,
            iProduct=2,
            iSerialNumber=3,
            bNumConfigurations=1,
            address=index + 2,
            bus=1,
            port_number=index + 1,
            port_numbers=(index + 1,),
            speed=2,
        )

    def get_configuration_descriptor(self, dev, config):  # type: ignore[no-untyped-def]
        return _descriptor(
            bLength=9,
            bDescriptorType=2,
            wTotalLength=25,
            bNumInterfaces=1,
            bConfigurationValue=1,
            iConfiguration=0,
            bmAttributes=0x80,
            bMaxPower=50,
        )

    def get_interface_descriptor(self, dev, intf, alt, config):  # type: ignore[no-untyped-def]
        return _descriptor(
            bLength=9,
            bDescriptorType=4,
            bInterfaceNumber=0,
            bAlternateSetting=0,
            bNumEndpoints=1,
            bInterfaceClass=0xFF,
            bInterfaceSubClass=0,
            bInterfaceProtocol=0,
            iInterface=0,
        )

    def get_endpoint_descriptor(self, dev, ep, intf, alt, config):  # type: ignore[no-untyped-def]
        return _descriptor(
            bLength=7,
            bDescriptorType=5,
            bEndpointAddress=EP_IN,
            bmAttributes=0x02,
            wMaxPacketSize=64,
            bInterval=0,
            bRefresh=0,
            bSynchAddress=0,
        )

    def open_device(self, dev: Vcom5sSensor) -> Vcom5sSensor:
        dev._check_plugged()
        if dev.faults.get("no_permission"):
            raise usb.core.USBError("Access denied (insufficient permissions)", -3, errno.EACCES)
        return dev

    def close_device(self, dev_handle) -> None:  # type: ignore[no-untyped-def]
        return None

    def set_configuration(self, dev_handle, config_value) -> None:  # type: ignore[no-untyped-def]
        dev_handle._check_plugged()

    def get_configuration(self, dev_handle) -> int:  # type: ignore[no-untyped-def]
        return 1

    def set_interface_altsetting(self, dev_handle, intf, altsetting) -> None:  # type: ignore[no-untyped-def]
        return None

    def claim_interface(self, dev_handle, intf) -> None:  # type: ignore[no-untyped-def]
        dev_handle._check_plugged()
        if dev_handle.faults.get("busy"):
            raise usb.core.USBError("Resource busy", -6, errno.EBUSY)

    def release_interface(self, dev_handle, intf) -> None:  # type: ignore[no-untyped-def]
        return None

    def is_kernel_driver_active(self, dev_handle, intf) -> bool:  # type: ignore[no-untyped-def]
        return False

    def ctrl_transfer(self, dev_handle, bmRequestType, bRequest, wValue, wIndex, data, timeout):  # type: ignore[no-untyped-def]
        reply = dev_handle.control(bmRequestType, bRequest, wValue, wIndex, len(data))
        if bmRequestType & 0x80:  # device to host
            data[: len(reply)] = array.array("B", reply)
            return len(reply)
        return len(data)

    def bulk_read(self, dev_handle, ep, intf, buff, timeout):  # type: ignore[no-untyped-def]
        chunk = dev_handle.bulk_read(ep, len(buff), timeout)
        buff[: len(chunk)] = array.array("B", chunk)
        return len(chunk)


_BUS = SimulatedUsbBackend()


def get_backend() -> SimulatedUsbBackend:
    """The process-wide simulated bus (pyusb's backend-module convention)."""
    return _BUS


class SimulatedVcom5s:
    """The sensor on the simulated bus as the kit drives it: plug, unplug, faults."""

    FAULTS = (
        "short_read",
        "timeout",
        "unplug_mid_transfer",
        "dirty_platen",
        "slow_link",
        "busy",
        "no_permission",
    )
    DEFAULTS: ClassVar[dict[str, int]] = {
        "unplug_mid_transfer": 0,
        "dirty_platen": 6,
        "slow_link": 20,
    }

    def __init__(self, finger: Callable[[], np.ndarray | None], serial: str) -> None:
        self.sensor = Vcom5sSensor(serial=serial, finger=finger, plugged=False)
        self.backend = get_backend()
        self.backend.attach(self.sensor)

    @property
    def port(self) -> str:
        return f"usb:{VENDOR_ID:04x}:{PRODUCT_ID:04x}/{self.sensor.serial}"

    @property
    def connected(self) -> bool:
        return self.sensor.plugged

    def start(self) -> None:
        self.sensor.plugged = True

    def stop(self, timeout: float = 0.0) -> None:
        self.sensor.plugged = False

    def detach(self) -> None:
        """Remove the sensor from the bus for good (the kit is closing)."""
        self.stop()
        if self.sensor in self.backend.sensors:
            self.backend.sensors.remove(self.sensor)

    def set_fault(self, name: str, **params: object) -> None:
        if name not in self.FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(self.FAULTS)}")
        if name == "dirty_platen" and "coverage" in params:
            value: object = round(float(params["coverage"]) * 100)  # type: ignore[arg-type]
        else:
            keys = ("after_reads", "times", "percent", "delay_ms")
            value = next((params[k] for k in keys if k in params), self.DEFAULTS.get(name, 1))
        self.sensor.faults[name] = int(value)  # type: ignore[call-overload]

    def clear_faults(self) -> None:
        self.sensor.faults.clear()
