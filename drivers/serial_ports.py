"""Serial ports named by path or by the USB identity of their adapter.

A device's ``port`` is either a path or URL pyserial opens (``/dev/ttyUSB0``, a stable
``/dev/serial/by-id/...`` link, a pty) or ``usb-serial:VVVV:PPPP[/SERIAL]``: the adapter with that
USB vendor id, product id and (optionally) serial number, looked up with
``serial.tools.list_ports`` each time the port is opened, so it survives re-enumeration as
``ttyUSB1`` after a replug.
"""

from __future__ import annotations

import os
import termios
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import serial
from serial.tools import list_ports
from serial.tools.list_ports_common import ListPortInfo

from drivers.errors import DeviceUnavailable

USB_SERIAL_PREFIX = "usb-serial:"


@dataclass(frozen=True)
class UsbSerialMatch:
    """Which USB-serial adapter a ``usb-serial:`` port names."""

    vid: int
    pid: int
    serial_number: str = ""

    @classmethod
    def parse(cls, port: str) -> UsbSerialMatch:
        """``usb-serial:1a86:7523/ABC123`` -> UsbSerialMatch(0x1a86, 0x7523, "ABC123")."""
        if not port.startswith(USB_SERIAL_PREFIX):
            raise ValueError(f"not a {USB_SERIAL_PREFIX} port: {port!r}")
        ids, _, serial_number = port[len(USB_SERIAL_PREFIX) :].partition("/")
        vid, sep, pid = ids.partition(":")
        try:
            if not sep:
                raise ValueError
            return cls(int(vid, 16), int(pid, 16), serial_number)
        except ValueError:
            raise ValueError(
                f"serial port must look like {USB_SERIAL_PREFIX}VVVV:PPPP[/SERIAL], got {port!r}"
            ) from None

    def matches(self, info: ListPortInfo) -> bool:
        if info.vid != self.vid or info.pid != self.pid:
            return False
        return not self.serial_number or info.serial_number == self.serial_number


def is_usb_serial(port: str) -> bool:
    return port.startswith(USB_SERIAL_PREFIX)


def find_port(port: str, ports: Iterable[ListPortInfo] | None = None) -> str | None:
    """The device path ``port`` names now, or None when it is not there.

    ``ports`` defaults to what ``serial.tools.list_ports.comports()`` sees on this machine.
    """
    if not is_usb_serial(port):
        return port if _path_present(port) else None
    match = UsbSerialMatch.parse(port)
    candidates = list_ports.comports() if ports is None else ports
    found = sorted(info.device for info in candidates if match.matches(info))
    return found[0] if found else None


def resolve_port(port: str, ports: Iterable[ListPortInfo] | None = None) -> str:
    """What to hand to pyserial for ``port``: the matched device path, or ``port`` itself.

    A ``usb-serial:`` port with no matching adapter raises FileNotFoundError.
    """
    if not is_usb_serial(port):
        return port
    found = find_port(port, ports)
    if found is None:
        raise FileNotFoundError(f"no serial adapter matches {port}")
    return found


def _path_present(port: str) -> bool:
    if "://" in port:
        return True  # a pyserial URL: only opening it tells
    return os.path.exists(port)


SERIAL_ERRORS = (serial.SerialException, OSError, termios.error)
READ_SLICE_S = 0.05


@contextmanager
def serial_errors_as_unplug(port: str, unavailable_code: str) -> Iterator[None]:
    """Turn a serial error on ``port`` (cable pulled, adapter gone) into DeviceUnavailable
    with the driver's message code."""
    try:
        yield
    except SERIAL_ERRORS as error:
        raise DeviceUnavailable(f"{port}: {error}", code=unavailable_code) from None


def open_serial(port: str, baudrate: int, unavailable_code: str) -> serial.Serial:
    """Open ``port`` (a path, a pyserial URL or ``usb-serial:VID:PID[/SERIAL]``) for a driver:
    short read slices so callers stay responsive to cancel; DeviceUnavailable on failure."""
    try:
        return serial.Serial(resolve_port(port), baudrate, timeout=READ_SLICE_S, write_timeout=1.0)
    except (*SERIAL_ERRORS, ValueError) as error:
        raise DeviceUnavailable(f"cannot open {port}: {error}", code=unavailable_code) from None
