"""What a V4L2 camera offers, read from the device node, and the mode a driver should ask for.

OpenCV's V4L2 backend (opencv/opencv modules/videoio/src/cap_v4l.cpp) silently takes whatever
the driver's VIDIOC_S_FMT answers when a requested size is not offered, and exposes no way to
list the offered modes. So the modes are read here with the V4L2 ioctls themselves, on the same
device node, and the driver then asks OpenCV for one the device really has.

Byte layouts and request numbers (Linux include/uapi/linux/videodev2.h; _IOR/_IOWR encoding from
include/uapi/asm-generic/ioctl.h: direction << 30 | size << 16 | 'V' << 8 | number):

- VIDIOC_QUERYCAP _IOR('V', 0) struct v4l2_capability (104 bytes): driver[16] card[32]
  bus_info[32] version u32, capabilities u32, device_caps u32, reserved[3].
- VIDIOC_ENUM_FMT _IOWR('V', 2) struct v4l2_fmtdesc (64): index, type (1 = VIDEO_CAPTURE),
  flags, description[32], pixelformat (FOURCC, little-endian), mbus_code, reserved[3].
- VIDIOC_ENUM_FRAMESIZES _IOWR('V', 74) struct v4l2_frmsizeenum (44): index, pixel_format,
  type (1 discrete, 2 continuous, 3 stepwise), union {width, height | min_width, max_width,
  step_width, min_height, max_height, step_height}, reserved[2].
- VIDIOC_ENUM_FRAMEINTERVALS _IOWR('V', 75) struct v4l2_frmivalenum (52): index, pixel_format,
  width, height, type, union {numerator, denominator | min, max, step fractions}, reserved[2].
  A frame interval is seconds per frame: fps = denominator / numerator.
Each enumeration counts ``index`` up from 0 until the driver answers EINVAL.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

_CAPABILITY = struct.Struct("16s32s32sIII3I")
_FMTDESC = struct.Struct("III32sII3I")
_FRMSIZE = struct.Struct("III6I2I")
_FRMIVAL = struct.Struct("IIIII6I2I")

_BUF_TYPE_VIDEO_CAPTURE = 1
_CAP_VIDEO_CAPTURE = 0x00000001
_CAP_DEVICE_CAPS = 0x80000000
_FRMSIZE_TYPE_DISCRETE = 1
_FRMIVAL_TYPE_DISCRETE = 1
_MAX_ENUMERATED = 64  # bounds every enumeration loop


def _ioc(direction: int, number: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (ord("V") << 8) | number


_READ, _READ_WRITE = 2, 3
VIDIOC_QUERYCAP = _ioc(_READ, 0, _CAPABILITY.size)
VIDIOC_ENUM_FMT = _ioc(_READ_WRITE, 2, _FMTDESC.size)
VIDIOC_ENUM_FRAMESIZES = _ioc(_READ_WRITE, 74, _FRMSIZE.size)
VIDIOC_ENUM_FRAMEINTERVALS = _ioc(_READ_WRITE, 75, _FRMIVAL.size)

# Pixel formats cap_v4l.cpp converts to BGR (CvCaptureCAM_V4L::convertableToRgb).
DECODABLE_FOURCCS = frozenset(
    {
        "MJPG",
        "JPEG",
        "YUYV",
        "UYVY",
        "YU12",
        "YV12",
        "NV12",
        "NV21",
        "411P",
        "BA81",
        "GBRG",
        "S910",
        "RGB3",
        "BGR3",
        "Y16 ",
        "Y10 ",
        "GREY",
    }
)
# Compressed frames reach full frame rate at large sizes on USB 2; raw YUYV often does not.
_PREFERRED_FOURCC = "MJPG"


@dataclass(frozen=True)
class CameraMode:
    """One offered (or chosen) capture mode."""

    fourcc: str
    width: int
    height: int
    fps: float

    def __str__(self) -> str:
        return f"{self.fourcc.strip()} {self.width}x{self.height}@{self.fps:g}"


@dataclass(frozen=True)
class V4l2Camera:
    """A V4L2 capture node: its names and every mode it offers."""

    driver: str
    card: str
    bus_info: str
    modes: tuple[CameraMode, ...]


class NotACaptureDevice(OSError):
    """The path opens but is no V4L2 video-capture node."""


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", errors="replace")


def _fourcc(code: int) -> str:
    return code.to_bytes(4, "little").decode("ascii", errors="replace")


def _enumerate(fd: int, request: int, layout: struct.Struct, *fields: int) -> Iterator[tuple]:
    """Answers to an enumeration ioctl for index 0, 1, ... until the driver says EINVAL."""
    for index in range(_MAX_ENUMERATED):
        buffer = bytearray(layout.size)
        struct.pack_into(f"{1 + len(fields)}I", buffer, 0, index, *fields)
        try:
            fcntl.ioctl(fd, request, buffer)
        except OSError as error:
            if error.errno == errno.EINVAL:
                return
            raise
        yield layout.unpack(buffer)


def _rates(fd: int, code: int, width: int, height: int) -> list[float]:
    rates = []
    for answer in _enumerate(fd, VIDIOC_ENUM_FRAMEINTERVALS, _FRMIVAL, code, width, height):
        kind, numerator, denominator = answer[4], answer[5], answer[6]
        if numerator and denominator:
            rates.append(denominator / numerator)
        if kind != _FRMIVAL_TYPE_DISCRETE:  # stepwise/continuous: min and max interval
            if answer[7] and answer[8]:
                rates.append(answer[8] / answer[7])
            break
    return rates


def _sizes(fd: int, code: int) -> list[tuple[int, int]]:
    sizes = []
    for answer in _enumerate(fd, VIDIOC_ENUM_FRAMESIZES, _FRMSIZE, code):
        kind, values = answer[2], answer[3:9]
        if kind == _FRMSIZE_TYPE_DISCRETE:
            sizes.append((values[0], values[1]))
        else:  # stepwise/continuous: the smallest and the largest size
            sizes += [(values[0], values[3]), (values[1], values[4])]
            break
    return sizes


def _modes(fd: int) -> Iterator[CameraMode]:
    for answer in _enumerate(fd, VIDIOC_ENUM_FMT, _FMTDESC, _BUF_TYPE_VIDEO_CAPTURE):
        code = answer[4]
        for width, height in _sizes(fd, code):
            for fps in _rates(fd, code, width, height) or [0.0]:
                yield CameraMode(_fourcc(code), width, height, fps)


def query_camera(path: str) -> V4l2Camera:
    """Open ``path`` (a /dev/video node or a udev symlink to one) and read what it offers.

    Raises OSError when the node does not open, NotACaptureDevice when it is no capture node.
    """
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    try:
        raw = bytearray(_CAPABILITY.size)
        try:
            fcntl.ioctl(fd, VIDIOC_QUERYCAP, raw)
        except OSError as error:
            raise NotACaptureDevice(error.errno, f"{path}: not a V4L2 device") from error
        driver, card, bus_info, _version, capabilities, device_caps = _CAPABILITY.unpack(raw)[:6]
        caps = device_caps if capabilities & _CAP_DEVICE_CAPS else capabilities
        if not caps & _CAP_VIDEO_CAPTURE:
            raise NotACaptureDevice(errno.ENODEV, f"{path}: not a video capture node")
        return V4l2Camera(_text(driver), _text(card), _text(bus_info), tuple(_modes(fd)))
    finally:
        os.close(fd)


def node_opens(path: str) -> bool:
    """Whether the device node opens (a V4L2 node may be opened by several processes)."""
    try:
        os.close(os.open(path, os.O_RDWR | os.O_NONBLOCK))
    except OSError:
        return False
    return True


def choose_mode(
    offered: Sequence[CameraMode],
    *,
    width: int,
    height: int,
    fourcc: str | None,
    fps: float,
    min_width: int,
    min_height: int,
) -> CameraMode | None:
    """The offered mode closest to the wanted one that meets the minimum; None when none does.

    In order: the wanted size itself, else the smallest offered size that covers it, else the
    largest one below it; a frame rate of at least ``fps`` (the slowest such, else the fastest
    offered); the wanted FOURCC, else MJPG, else any other format OpenCV can convert.
    """
    usable = [
        mode
        for mode in offered
        if mode.fourcc in DECODABLE_FOURCCS
        and mode.width >= min_width
        and mode.height >= min_height
    ]
    if not usable:
        return None

    def rank(mode: CameraMode) -> tuple:
        area = mode.width * mode.height
        if (mode.width, mode.height) == (width, height):
            size_rank: tuple[int, int] = (0, 0)
        elif mode.width >= width and mode.height >= height:
            size_rank = (1, area)
        else:
            size_rank = (2, -area)
        too_slow = mode.fps < fps
        fourcc_rank = 0 if mode.fourcc == fourcc else 1 if mode.fourcc == _PREFERRED_FOURCC else 2
        return (
            size_rank[0],
            too_slow,
            fourcc_rank,
            size_rank[1],
            -mode.fps if too_slow else mode.fps,
        )

    return min(usable, key=rank)


def describe_modes(modes: Sequence[CameraMode]) -> str:
    """The offered modes as a short list for messages: "MJPG 1280x720@30, YUYV 640x480@30"."""
    return ", ".join(dict.fromkeys(str(mode) for mode in modes)) or "none"
