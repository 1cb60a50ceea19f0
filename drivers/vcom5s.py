"""Veridicom 5thSense (USB 061a:0110) press-type fingerprint sensor, unencrypted, via pyusb.

Protocol as documented by libfprint's vcom5s driver: vendor control writes set the contrast
(register 0x02) and gain (register 0x03); the vendor command 0xC1 scans the whole image, which
then arrives as 24 bulk reads of 3,600 bytes (12 rows of 300 pixels each) on endpoint 0x81,
300x288 pixels at 8 bits and 500 ppi. A finger is present when the 64x64 box at the centre
averages 100 or darker. Any USB backend works: libusb on a kit, or the simulated bus
(``usb_backend="simulator.devices.vcom5s_usb"``) in tests.

Opening, as libusb's documentation advises: the configuration is set only when the device is
not already in configuration 1 (``libusb_set_configuration`` on a configured device is a
lightweight reset, and fails while another process holds an interface); interface 0 is claimed
(libfprint's ``dev_init`` claims interface 0). String descriptors (manufacturer, product,
serial) are read for the identity only; a sensor that cannot answer them stays usable and is
identified by its USB ids and bus address instead. Claiming fails with ``EBUSY``
(``LIBUSB_ERROR_BUSY``) while another process holds the sensor (fprintd: libfprint's vcom5s
driver lists 061a:0110) and opening fails with ``EACCES`` (``LIBUSB_ERROR_ACCESS``) without the
udev rule (docs/udev/70-rekam.rules); each has its own catalogue code.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import logging
from typing import NamedTuple

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
CONFIGURATION, INTERFACE = 1, 0
# libusb error codes (libusb.h, enum libusb_error) pyusb reports as ``backend_error_code``.
# Only NO_DEVICE means "unplugged"; IO is a failed transfer (libusb reports a URB that ended in
# -EPROTO or -EILSEQ that way) and is scanned again like a short read.
LIBUSB_ERROR_ACCESS, LIBUSB_ERROR_NO_DEVICE, LIBUSB_ERROR_BUSY = -3, -4, -6

# Message codes (catalogue area "devices") of what the operator is told.
UNAVAILABLE_CODE = "DEVICE_USB_FINGERPRINT_SCANNER_NOT_CONNECTED"
BUSY_CODE = "DEVICE_USB_FINGERPRINT_SCANNER_BUSY"
NO_PERMISSION_CODE = "DEVICE_USB_FINGERPRINT_SCANNER_NO_PERMISSION"
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


log = logging.getLogger(__name__)


class UsbStrings(NamedTuple):
    """The device's string descriptors, or why they could not be read (``problem``)."""

    manufacturer: str = ""
    product: str = ""
    serial: str = ""
    problem: str = ""


def _is_gone(exc: usb.core.USBError) -> bool:
    return exc.errno == errno.ENODEV or exc.backend_error_code == LIBUSB_ERROR_NO_DEVICE


def _is_busy(exc: usb.core.USBError) -> bool:
    return exc.errno == errno.EBUSY or exc.backend_error_code == LIBUSB_ERROR_BUSY


def _is_denied(exc: usb.core.USBError) -> bool:
    return exc.errno == errno.EACCES or exc.backend_error_code == LIBUSB_ERROR_ACCESS


def read_strings(dev: usb.core.Device) -> UsbStrings:
    """Manufacturer, product and serial in the device's first language; a device that cannot
    answer them (a stall, a timeout, no language ids) gives empty strings and the ``problem``.
    Permission and busy errors propagate."""
    try:
        langids = usb.util.get_langids(dev)
        if not langids:
            return UsbStrings(problem="the device lists no string languages")
        return UsbStrings(
            *(
                (usb.util.get_string(dev, index, langids[0]) or "") if index else ""
                for index in (dev.iManufacturer, dev.iProduct, dev.iSerialNumber)
            )
        )
    except usb.core.USBError as exc:
        # Unplugged, or not ours to use: let open() say so. Anything else (a stall, a timeout,
        # an I/O error) is the device failing this one request.
        if _is_gone(exc) or _is_busy(exc) or _is_denied(exc):
            raise
        return UsbStrings(problem=f"reading string descriptors failed: {exc}")
    except ValueError as exc:  # pyusb: a malformed string descriptor
        return UsbStrings(problem=f"reading string descriptors failed: {exc}")


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
        self.identity_note = ""  # why the identity is incomplete (technical, for logs)
        self._failed_scans = 0
        self._capabilities = Capabilities(Modality.FINGERPRINT, FINGERS, WIDTH, HEIGHT, 500)

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def _backend(self):  # type: ignore[no-untyped-def]
        if not self.usb_backend:
            return None  # pyusb's default (libusb)
        return importlib.import_module(self.usb_backend).get_backend()

    def _candidates(self) -> list[usb.core.Device]:
        found = usb.core.find(
            find_all=True,
            idVendor=self.vendor_id,
            idProduct=self.product_id,
            backend=self._backend(),
        )
        return list(found or [])

    def _find(self) -> tuple[usb.core.Device, UsbStrings]:
        """The first matching sensor (by serial when the port names one) and its strings."""
        unreadable = ""
        for dev in self._candidates():
            strings = read_strings(dev)
            if not self.serial or strings.serial == self.serial:
                return dev, strings
            unreadable = unreadable or strings.problem
        detail = f"no USB device {self.port}" + (f" ({unreadable})" if unreadable else "")
        raise DeviceUnavailable(detail, code=UNAVAILABLE_CODE)

    def open(self) -> None:
        dev: usb.core.Device | None = None
        try:
            dev, strings = self._find()
            if _active_configuration(dev) != CONFIGURATION:
                dev.set_configuration(CONFIGURATION)
            usb.util.claim_interface(dev, INTERFACE)
        except usb.core.USBError as exc:
            self.status = DeviceStatus.DISCONNECTED
            if dev is not None:  # pyusb opened it to read the strings: let it go
                with contextlib.suppress(usb.core.USBError):
                    usb.util.dispose_resources(dev)
            raise self._open_failed(exc) from exc
        except (ValueError, ImportError, AttributeError) as exc:
            self.status = DeviceStatus.DISCONNECTED
            raise DeviceUnavailable(
                f"cannot open {self.port}: {exc}", code=UNAVAILABLE_CODE
            ) from exc
        self.identity = self._identity(dev, strings)
        self._dev = dev
        self.status = DeviceStatus.READY

    def _identity(self, dev: usb.core.Device, strings: UsbStrings) -> DeviceIdentity:
        firmware = f"{dev.bcdDevice >> 8}.{dev.bcdDevice & 0xFF:02d}"
        mode = {
            "usb_id": f"{dev.idVendor:04x}:{dev.idProduct:04x}",
            "image_size": f"{WIDTH}x{HEIGHT}",
        }
        if not strings.problem:
            self.identity_note = ""
            return DeviceIdentity(
                vendor=strings.manufacturer or "Veridicom",
                model=strings.product or "5thSense",
                serial=strings.serial,
                firmware=firmware,
                transport="usb",
                port=self.port,
                mode=mode,
            )
        node = f"/dev/bus/usb/{dev.bus:03d}/{dev.address:03d}"
        self.identity_note = f"{strings.problem}; identified by USB ids and bus address {node}"
        log.warning("USB fingerprint sensor %s: %s", self.port, self.identity_note)
        return DeviceIdentity(
            vendor=f"{dev.idVendor:04x}",
            model=f"{dev.idProduct:04x}",
            firmware=firmware,
            transport="usb",
            port=node,
            mode=mode,
        )

    def _open_failed(self, exc: usb.core.USBError) -> DeviceUnavailable:
        if _is_busy(exc):
            detail = f"USB device {self.port} is held by another process (fprintd?): {exc}"
            return DeviceUnavailable(detail, code=BUSY_CODE, port=self.port)
        if _is_denied(exc):
            detail = f"no permission to open USB device {self.port} (udev rule missing?): {exc}"
            return DeviceUnavailable(detail, code=NO_PERMISSION_CODE, port=self.port)
        return DeviceUnavailable(f"USB error opening {self.port}: {exc}", code=UNAVAILABLE_CODE)

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
            candidates = self._candidates()
            if self._dev is not None or not self.serial:
                return bool(candidates)
            return any(read_strings(dev).serial == self.serial for dev in candidates)
        except (usb.core.USBError, ValueError, ImportError, AttributeError):
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
            if _is_gone(exc):
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


def _active_configuration(dev: usb.core.Device) -> int:
    """The configuration the device is in (libusb reads it from sysfs); 0 when unconfigured."""
    try:
        return int(dev.get_active_configuration().bConfigurationValue)
    except usb.core.USBError as exc:
        if exc.errno is None and exc.backend_error_code is None:
            return 0  # pyusb: "Configuration not set"
        raise
