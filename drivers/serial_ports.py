"""Serial ports named by path or by the USB identity or position of their adapter.

A device's ``port`` is one of:

- a path or URL pyserial opens (``/dev/ttyUSB0``, a stable ``/dev/serial/by-id/...`` or
  ``/dev/serial/by-path/...`` link, a pty, ``loop://``);
- ``usb-serial:VVVV:PPPP[/SERIAL]``: the adapter with that USB vendor id, product id and
  (optionally) serial number;
- ``usb-path:1-1.2``: the adapter plugged into that USB port (identical adapters without serial
  numbers are told apart this way).

The adapters are listed with pyserial's ``serial.tools.list_ports`` (which reads
``/sys/class/tty``) each time the port is looked up, so a spec survives re-enumeration as
``ttyUSB1`` after a replug. A plain path that vanishes is found again by the adapter seen there
when it was opened (``drivers.usb_identity.relocate``). Two adapters matching one spec is an
``AmbiguousPort`` error naming both, never a silent pick. See ``drivers.usb_identity``.
"""

from __future__ import annotations

import os
import termios
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import serial
from serial.tools import list_ports
from serial.tools.list_ports_common import ListPortInfo

from drivers.errors import DeviceUnavailable
from drivers.usb_identity import (
    USB_PATH_PREFIX,
    UsbIdentity,
    UsbMatch,
    note_opened,
    opened,
    relocate,
    select,
)

USB_SERIAL_PREFIX = "usb-serial:"


def usb_adapters(ports: Iterable[ListPortInfo] | None = None) -> list[UsbIdentity]:
    """The USB serial adapters ``ports`` lists (default: ``list_ports.comports()`` now)."""
    listed = list_ports.comports() if ports is None else ports
    return [
        UsbIdentity(info.device, info.vid, info.pid, info.serial_number or "", info.location or "")
        for info in listed
        if info.vid is not None and info.pid is not None
    ]


def parse_port(port: str) -> UsbMatch | None:
    """The adapter a ``usb-serial:`` or ``usb-path:`` port names; None for a path or URL.
    ValueError for a malformed spec."""
    return UsbMatch.parse(port, USB_SERIAL_PREFIX)


def is_usb_serial(port: str) -> bool:
    """Whether ``port`` names an adapter (by ids or topology path) rather than a path."""
    return port.startswith((USB_SERIAL_PREFIX, USB_PATH_PREFIX))


def find_port(port: str, ports: Iterable[ListPortInfo] | None = None) -> str | None:
    """The device path ``port`` names now, or None when it is not there.

    ``ports`` defaults to what ``serial.tools.list_ports.comports()`` sees on this machine.
    AmbiguousPort when several adapters match; ValueError for a malformed spec.
    """
    match = parse_port(port)
    if match is not None:
        found = select(port, match, usb_adapters(ports))
        return None if found is None else found.node
    if _path_present(port):
        return port
    seen = opened(port)
    if seen is None or seen.device is None:
        return None
    moved = relocate(seen.device, usb_adapters(ports))
    return None if moved is None else moved.node


def resolve_port(port: str, ports: Iterable[ListPortInfo] | None = None) -> str:
    """What to hand to pyserial for ``port``: the matched device path, or ``port`` itself.

    An adapter spec that matches nothing raises FileNotFoundError; several, AmbiguousPort.
    """
    found = find_port(port, ports)
    if found is not None:
        return found
    if is_usb_serial(port):
        raise FileNotFoundError(f"no serial adapter matches {port}")
    return port


def remember_opened(port: str, node: str, ports: Iterable[ListPortInfo] | None = None) -> None:
    """Note that ``port`` was opened at ``node`` and which adapter sits there, so the port is
    found again when the adapter re-enumerates (and the hotplug monitor sees it moved)."""
    if "://" in node:
        return
    real = os.path.realpath(node)
    adapter = next((a for a in usb_adapters(ports) if os.path.realpath(a.node) == real), None)
    note_opened(port, node, adapter, lambda: find_port(port))


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
    """Open ``port`` (a path, a pyserial URL, ``usb-serial:VID:PID[/SERIAL]`` or
    ``usb-path:LOCATION``) for a driver: short read slices so callers stay responsive to
    cancel; DeviceUnavailable on failure (AmbiguousPort when the spec names two adapters)."""
    try:
        node = resolve_port(port)
        opened_port = serial.Serial(node, baudrate, timeout=READ_SLICE_S, write_timeout=1.0)
    except (*SERIAL_ERRORS, ValueError) as error:
        raise DeviceUnavailable(f"cannot open {port}: {error}", code=unavailable_code) from None
    remember_opened(port, node)
    return opened_port
