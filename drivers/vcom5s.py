"""Veridicom 5thSense (USB 061a:0110) press-type fingerprint sensor, unencrypted, via pyusb.

Protocol as documented by libfprint's vcom5s driver: vendor control writes set the contrast
(register 0x02) and gain (register 0x03); the vendor command 0xC1 scans the whole image, which
then arrives as 24 bulk reads of 3,600 bytes (12 rows of 300 pixels each) on endpoint 0x81,
300x288 pixels at 8 bits and 500 ppi. A finger is present when the 64x64 box at the centre
averages 100 or darker. Any USB backend works: libusb on a kit, or the simulated bus
(``usb_backend="simulator.devices.vcom5s_usb"``) in tests.
"""

from __future__ import annotations

import contextlib
import errno
import importlib

import numpy as np
import usb.core
import usb.util

from domain.vocabulary import FINGERS
from drivers.base import (
    Ability,
    Capabilities,
    DeviceIdentity,
    DeviceStatus,
    ImageDevice,
    Modality,
)
from drivers.errors import (
    CaptureCancelled,
    CaptureTimeout,
    DeviceUnavailable,
    ProtocolError,
)

VENDOR_ID, PRODUCT_ID = 0x061A, 0x0110
WIDTH, HEIGHT = 300, 288
READ_SIZE = WIDTH * 12
READS_PER_IMAGE = HEIGHT // 12
EP_IN = 0x81
REG_CONTRAST, REG_GAIN, CMD_SCAN = 0x02, 0x03, 0xC1
VENDOR_OUT, VENDOR_IN = 0x40, 0xC0
DETECT_BOX = (slice(111, 175), slice(117, 181))
FINGER_PRESENT_MAX_MEAN = 100
GONE_ERRNOS = {errno.ENODEV, errno.ENOENT, errno.EIO, errno.ENXIO}

# Message codes (catalogue area "devices") of what the operator is told.
UNAVAILABLE_CODE = "DEVICE_USB_FINGERPRINT_SCANNER_NOT_CONNECTED"
NO_FINGER_CODE = "DEVICE_FINGERPRINT_NO_FINGER"
TRANSFER_CODE = "DEVICE_FINGERPRINT_IMAGE_INCOMPLETE"
CANCELLED_CODE = "DEVICE_FINGERPRINT_CAPTURE_CANCELLED"


def parse_port(port: str) -> tuple[int, int, str]:
    """``usb:VVVV:PPPP[/SERIAL]`` -> (vendor id, product id, serial or "")."""
    if not port.startswith("usb:"):
        raise ValueError(f"USB port must look like usb:061a:0110[/SERIAL], got {port!r}")
    ids, _, serial = port[4:].partition("/")
    vendor, _, product = ids.partition(":")
    return int(vendor, 16), int(product, 16), serial


def finger_present(image: np.ndarray) -> bool:
    return float(image[DETECT_BOX].mean()) <= FINGER_PRESENT_MAX_MEAN


class Vcom5sFingerprintScanner(ImageDevice):
    """The 5thSense sensor. ``port`` is ``usb:061a:0110`` or ``usb:061a:0110/SERIAL``."""

    driver_name = "vcom5s"
    abilities = Ability.READ_PLATEN

    def __init__(
        self,
        device_id: str,
        port: str = "usb:061a:0110",
        *,
        usb_backend: str = "",
        contrast: int = 0x01,
        gain: int = 0x29,
        poll_interval: float = 0.05,
        transfer_timeout_ms: int = 1000,
        retries: int = 1,
    ) -> None:
        super().__init__(device_id, port)
        self.vendor_id, self.product_id, self.serial = parse_port(port)
        self.usb_backend = usb_backend
        self.contrast = contrast
        self.gain = gain
        self.poll_interval = poll_interval
        self.transfer_timeout_ms = transfer_timeout_ms
        self.retries = retries
        self._dev: usb.core.Device | None = None
        self._failed_scans = 0
        self._capabilities = Capabilities(Modality.FINGERPRINT, FINGERS, WIDTH, HEIGHT, 500)

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def _backend(self):  # type: ignore[no-untyped-def]
        if not self.usb_backend:
            return None  # pyusb's default (libusb)
        return importlib.import_module(self.usb_backend).get_backend()

    def open(self) -> None:
        try:
            candidates = list(
                usb.core.find(
                    find_all=True,
                    idVendor=self.vendor_id,
                    idProduct=self.product_id,
                    backend=self._backend(),
                )
                or []
            )
            for dev in candidates:
                if not self.serial or usb.util.get_string(dev, dev.iSerialNumber) == self.serial:
                    break
            else:
                raise DeviceUnavailable(f"no USB device {self.port}", code=UNAVAILABLE_CODE)
            dev.set_configuration()
            usb.util.claim_interface(dev, 0)
            self.identity = DeviceIdentity(
                vendor=usb.util.get_string(dev, dev.iManufacturer) or "Veridicom",
                model=usb.util.get_string(dev, dev.iProduct) or "5thSense",
                serial=usb.util.get_string(dev, dev.iSerialNumber) or "",
                firmware=f"{dev.bcdDevice >> 8}.{dev.bcdDevice & 0xFF:02d}",
                transport="usb",
                port=self.port,
            )
        except usb.core.USBError as exc:
            self.status = DeviceStatus.DISCONNECTED
            raise DeviceUnavailable(
                f"USB error opening {self.port}: {exc}", code=UNAVAILABLE_CODE
            ) from exc
        except (ValueError, ImportError, AttributeError) as exc:
            self.status = DeviceStatus.DISCONNECTED
            raise DeviceUnavailable(
                f"cannot open {self.port}: {exc}", code=UNAVAILABLE_CODE
            ) from exc
        self._dev = dev
        self.status = DeviceStatus.READY

    def close(self) -> None:
        dev, self._dev = self._dev, None
        if dev is not None:
            with contextlib.suppress(usb.core.USBError):
                usb.util.dispose_resources(dev)
        self.status = DeviceStatus.DISCONNECTED

    def _lost(self, exc: usb.core.USBError) -> DeviceUnavailable:
        self.close()
        return DeviceUnavailable(f"USB device {self.port} went away: {exc}", code=UNAVAILABLE_CODE)

    def present(self) -> bool:
        """Whether a matching sensor enumerates on the bus right now."""
        try:
            for dev in (
                usb.core.find(
                    find_all=True,
                    idVendor=self.vendor_id,
                    idProduct=self.product_id,
                    backend=self._backend(),
                )
                or []
            ):
                if self._dev is not None or not self.serial:
                    return True
                if usb.util.get_string(dev, dev.iSerialNumber) == self.serial:
                    return True
        except (usb.core.USBError, ValueError, ImportError, AttributeError):
            return False
        return False

    def read_platen(self, timeout: float = 1.0) -> np.ndarray | None:
        """One raw scan of the sensor as it is (for the blank-platen check)."""
        with self.lock:
            return self.scan()

    def scan(self) -> np.ndarray:
        """One scan: set contrast and gain, start the scan, read the image."""
        dev = self._dev
        if dev is None:
            self.open()
            dev = self._dev
        assert dev is not None
        timeout = self.transfer_timeout_ms
        try:
            dev.ctrl_transfer(VENDOR_OUT, REG_CONTRAST, self.contrast, 0, None, timeout)
            dev.ctrl_transfer(VENDOR_OUT, REG_GAIN, self.gain, 0, None, timeout)
            dev.ctrl_transfer(VENDOR_IN, CMD_SCAN, 0, 0, 0, timeout)
            image = bytearray()
            for _ in range(READS_PER_IMAGE):
                chunk = dev.read(EP_IN, READ_SIZE, timeout)
                if len(chunk) != READ_SIZE:
                    raise ProtocolError(
                        f"short bulk read: {len(chunk)} of {READ_SIZE} bytes", code=TRANSFER_CODE
                    )
                image += chunk
        except usb.core.USBTimeoutError as exc:
            raise ProtocolError(f"USB transfer timed out: {exc}", code=TRANSFER_CODE) from exc
        except usb.core.USBError as exc:
            if exc.errno in GONE_ERRNOS or exc.backend_error_code == -4:
                raise self._lost(exc) from exc
            raise ProtocolError(f"USB transfer failed: {exc}", code=TRANSFER_CODE) from exc
        return np.frombuffer(bytes(image), dtype=np.uint8).reshape(HEIGHT, WIDTH)

    # -- capture (the loop is ImageDevice.capture) -------------------------------------------
    def _begin_capture(self, position: str | None) -> None:
        self._failed_scans = 0

    def _try_capture(self, position: str | None, deadline: float) -> np.ndarray | None:
        """One scan (a damaged one is scanned again, ``retries`` times per capture); the image
        when a finger is on the sensor."""
        while True:
            try:
                image = self.scan()
            except ProtocolError:
                self._failed_scans += 1
                if self._failed_scans > self.retries:
                    raise
                continue
            return image if finger_present(image) else None

    def _nothing_presented(self) -> CaptureTimeout:
        return CaptureTimeout("no finger on the sensor", code=NO_FINGER_CODE)

    def _cancelled(self) -> CaptureCancelled:
        return CaptureCancelled("capture cancelled", code=CANCELLED_CODE)
