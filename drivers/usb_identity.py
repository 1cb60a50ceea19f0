"""Which USB device a configured port names, and where it is now.

A port can name a USB device by what it is or where it is plugged in, so that it is found again
after the kernel re-enumerates it (``ttyUSB0`` coming back as ``ttyUSB1``, ``video0`` as
``video2``):

- ``usb-serial:VVVV:PPPP[/SERIAL]`` (serial adapters) or ``usb:VVVV:PPPP[/SERIAL]`` (cameras):
  the USB vendor id, product id and, optionally, serial number of the device;
- ``usb-path:BUS-PORT[.PORT...][:CONFIG.INTERFACE]``, e.g. ``usb-path:1-1.2``: the USB topology
  path, the kernel's name for the hub port the device is plugged into (the basename of its
  directory under ``/sys/bus/usb/devices``; pyserial's ``ListPortInfo.location``). This tells
  apart identical adapters that carry no serial number. A multi-interface adapter (FT4232) is
  named down to its interface, ``usb-path:1-1.2:1.1``.

When two devices match a spec, resolution stops with ``AmbiguousPort`` naming the candidates and
their topology paths rather than picking one. Candidates are listed in natural order
(``ttyUSB2`` before ``ttyUSB10``).

The module also remembers, per configured port, which node a driver opened and the USB identity
seen there (``note_opened``): a plain ``/dev/ttyUSB0`` that vanishes is found again by that
identity, and ``port_moved`` tells the hotplug monitor that an open device now lives elsewhere.

Camera nodes are read from sysfs as the kernel lays them out: ``/sys/class/video4linux/videoN``
with a ``device`` link to the USB interface (whose parent carries ``idVendor``, ``idProduct``,
``serial``) and an ``index`` attribute numbering the nodes of one camera; udev's
``60-persistent-v4l.rules`` (systemd) links ``/dev/v4l/by-id/usb-<ID_SERIAL>-video-index<index>``
to the same nodes.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from drivers.errors import DeviceUnavailable

USB_PATH_PREFIX = "usb-path:"
USB_CAMERA_PREFIX = "usb:"
V4L_BY_ID = "/dev/v4l/by-id"
SYSFS_VIDEO = "/sys/class/video4linux"
_USB_PATH = re.compile(r"^\d+-\d+(\.\d+)*(:\d+\.\d+)?$")
_SYSFS_CLIMB = 4  # from a node's device link up to the USB device: interface, device


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders digit runs by value: ttyUSB2 before ttyUSB10."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text) if part
    )


@dataclass(frozen=True)
class UsbIdentity:
    """A device node and the USB device behind it, as sysfs describes them."""

    node: str  # /dev/ttyUSB0, /dev/video2
    vid: int
    pid: int
    serial_number: str = ""
    location: str = ""  # the USB topology path, e.g. "1-1.2"

    def describe(self) -> str:
        """``/dev/ttyUSB0 (10c4:ea60, usb-path:1-1.2)``, with the serial number when it has one."""
        parts = [f"{self.vid:04x}:{self.pid:04x}"]
        if self.serial_number:
            parts.append(f"serial {self.serial_number}")
        if self.location:
            parts.append(f"{USB_PATH_PREFIX}{self.location}")
        return f"{self.node} ({', '.join(parts)})"


@dataclass(frozen=True)
class UsbMatch:
    """What a USB port spec asks for: ids (and serial number), or a topology path."""

    vid: int | None = None
    pid: int | None = None
    serial_number: str = ""
    location: str = ""

    @classmethod
    def parse(cls, spec: str, ids_prefix: str) -> UsbMatch | None:
        """The match ``spec`` names, or None when it is a plain path or URL.

        ``ids_prefix`` is the by-ids form this kind of device takes (``usb-serial:``, ``usb:``);
        ValueError for a malformed spec.
        """
        if spec.startswith(USB_PATH_PREFIX):
            location = spec[len(USB_PATH_PREFIX) :]
            if not _USB_PATH.match(location):
                raise ValueError(
                    f"a USB topology path looks like {USB_PATH_PREFIX}1-1.2, got {spec!r}"
                )
            return cls(location=location)
        if not spec.startswith(ids_prefix):
            return None
        ids, _, serial_number = spec[len(ids_prefix) :].partition("/")
        vid, sep, pid = ids.partition(":")
        try:
            if not sep:
                raise ValueError
            return cls(int(vid, 16), int(pid, 16), serial_number)
        except ValueError:
            raise ValueError(
                f"port must look like {ids_prefix}VVVV:PPPP[/SERIAL], got {spec!r}"
            ) from None

    def matches(self, device: UsbIdentity) -> bool:
        if self.location:
            return device.location == self.location or device.location.startswith(
                self.location + ":"
            )
        if device.vid != self.vid or device.pid != self.pid:
            return False
        return not self.serial_number or device.serial_number == self.serial_number


class AmbiguousPort(DeviceUnavailable):
    """More than one device matches a port spec; the technician must name one."""

    default_code = "DEVICE_PORT_AMBIGUOUS"

    def __init__(self, spec: str, candidates: Sequence[UsbIdentity]) -> None:
        listed = "; ".join(c.describe() for c in candidates)
        super().__init__(
            f"{len(candidates)} devices match {spec}: {listed}",
            port=spec,
            count=len(candidates),
            candidates=listed,
            example=f"{USB_PATH_PREFIX}{candidates[0].location}" if candidates else "",
        )
        self.candidates = tuple(candidates)


def select(spec: str, match: UsbMatch, devices: Iterable[UsbIdentity]) -> UsbIdentity | None:
    """The one device ``match`` names, None when none does; AmbiguousPort when several do."""
    found = sorted((d for d in devices if match.matches(d)), key=lambda d: natural_key(d.node))
    if len(found) > 1:
        raise AmbiguousPort(spec, found)
    return found[0] if found else None


def relocate(seen: UsbIdentity, devices: Iterable[UsbIdentity]) -> UsbIdentity | None:
    """Where the device ``seen`` earlier is now: by serial number when it has one, else at the
    same topology path, else the only device of its model; None when that is not certain."""
    same_model = [d for d in devices if (d.vid, d.pid) == (seen.vid, seen.pid)]
    if seen.serial_number:
        pool = [d for d in same_model if d.serial_number == seen.serial_number]
    else:
        pool = [d for d in same_model if d.location == seen.location] or same_model
    return pool[0] if len(pool) == 1 else None


# -- what drivers opened ------------------------------------------------------------------
@dataclass(frozen=True)
class OpenedPort:
    """The node a configured port resolved to when it was opened, and the device seen there."""

    node: str  # the real path (symlinks resolved)
    device: UsbIdentity | None
    find: Callable[[], str | None]  # where the port's spec resolves now


_opened: dict[str, OpenedPort] = {}
_opened_lock = threading.Lock()


def note_opened(
    spec: str, node: str, device: UsbIdentity | None, find: Callable[[], str | None]
) -> None:
    """Remember that the port configured as ``spec`` was opened at ``node``."""
    with _opened_lock:
        _opened[spec] = OpenedPort(os.path.realpath(node), device, find)


def opened(spec: str) -> OpenedPort | None:
    """What was last opened for ``spec``, if anything."""
    with _opened_lock:
        return _opened.get(spec)


def forget(spec: str) -> None:
    """Drop what was remembered about ``spec``."""
    with _opened_lock:
        _opened.pop(spec, None)


def port_moved(spec: str) -> bool:
    """Whether the port ``spec`` now resolves to another node than the one opened: the device
    re-enumerated while the driver held the old one. False when it is not there at all (the
    presence probe says so) or was never opened."""
    entry = opened(spec)
    if entry is None:
        return False
    try:
        now = entry.find()
    except (DeviceUnavailable, OSError, ValueError):
        return False
    return now is not None and os.path.realpath(now) != entry.node


# -- cameras --------------------------------------------------------------------------------
def video_devices(sysfs: str = SYSFS_VIDEO) -> list[UsbIdentity]:
    """Every USB camera's capture node (``index`` 0), in natural order of the node name."""
    try:
        names = os.listdir(sysfs)
    except OSError:
        return []
    found = []
    for name in sorted(names, key=natural_key):
        entry = os.path.join(sysfs, name)
        if _read(entry, "index") not in ("", "0"):
            continue  # a second node of the same camera (metadata), not a capture stream
        usb = _usb_device_dir(os.path.join(entry, "device"))
        if usb is None:
            continue
        found.append(
            UsbIdentity(
                node=f"/dev/{name}",
                vid=int(_read(usb, "idVendor") or "0", 16),
                pid=int(_read(usb, "idProduct") or "0", 16),
                serial_number=_read(usb, "serial"),
                location=os.path.basename(usb),
            )
        )
    return found


def find_video_device(spec: str, devices: Iterable[UsbIdentity] | None = None) -> str | None:
    """The ``/dev/videoN`` a camera port names now, or None when it is not there.

    ``spec`` is ``usb:VVVV:PPPP[/SERIAL]``, ``usb-path:1-1.3``, a ``/dev/v4l/by-id`` (or
    by-path) link or its bare name; anything else (an index, a path, a URL) is returned as
    given. AmbiguousPort when two cameras match; ValueError for a malformed spec.
    """
    match = UsbMatch.parse(spec, USB_CAMERA_PREFIX)
    if match is not None:
        found = select(spec, match, video_devices() if devices is None else devices)
        return None if found is None else found.node
    link = _v4l_link(spec)
    if link is None:
        return spec
    if not os.path.exists(link):
        return None
    # udev links a camera's node, which always sits right in /dev (``../../video2``)
    return f"/dev/{os.path.basename(os.readlink(link))}"


def resolve_video_device(spec: str, unavailable_code: str) -> str:
    """What to hand to ``cv2.VideoCapture`` for the camera port ``spec``, remembered for
    ``port_moved``; DeviceUnavailable (with the driver's code) when no camera matches."""
    try:
        node = find_video_device(spec)
    except ValueError as error:
        raise DeviceUnavailable(str(error), code=unavailable_code) from None
    if node is None:
        raise DeviceUnavailable(f"no camera matches {spec}", code=unavailable_code)
    if node != spec:
        device = next((d for d in video_devices() if d.node == node), None)
        note_opened(spec, node, device, lambda: find_video_device(spec))
    return node


def _v4l_link(spec: str) -> str | None:
    if spec.startswith("/dev/v4l/"):
        return spec
    if "/" not in spec and "-video-index" in spec:
        return os.path.join(V4L_BY_ID, spec)
    return None


def _usb_device_dir(device_link: str) -> str | None:
    """The USB device directory above a node's ``device`` link (the one with ``idVendor``)."""
    if not os.path.exists(device_link):
        return None
    path = os.path.realpath(device_link)
    for _ in range(_SYSFS_CLIMB):
        if os.path.exists(os.path.join(path, "idVendor")):
            return path
        path = os.path.dirname(path)
    return None


def _read(directory: str, attribute: str) -> str:
    try:
        with open(os.path.join(directory, attribute)) as file:
            return file.readline().strip()
    except OSError:
        return ""
