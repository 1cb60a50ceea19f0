"""Image headers read before any decoder runs, so that a malicious file cannot make one
allocate gigabytes or run for minutes.

A JPEG 2000 codestream of a few hundred bytes may declare 12000 x 12000 pixels; OpenJPEG would
then allocate and wavelet-transform every one of them. The decoders' own cost is proportional to
what the header declares (pixels x components x bytes per sample, and the number of tiles), so
this module reads the declared geometry straight from the bytes and refuses, before decoding:
more than :data:`MAX_SIDE` pixels a side or :data:`MAX_PIXELS` in all, more components or bits
than a biometric image has, or a tiling into more than :data:`MAX_TILES` tiles. After decoding,
:func:`decoded_as_declared` checks that the decoder produced what the header said (a decoder
that reads a different header than this parser is caught there).

We chose this header check over decoding in a subprocess under resource limits: the centre and
``rekam inspect`` decode every image of every record, and a process per image would cost more
than the decoding itself, while the check bounds the work of the decoders used here. Layouts
read (all big-endian):

- JPEG 2000 (ISO/IEC 15444-1 Annex A.5.1): the SIZ marker segment ``FF51`` after ``FF4F``, in a
  raw codestream or in the first ``jp2c`` box of a JP2 file (Annex I.4): Xsiz, Ysiz, XOsiz,
  YOsiz, XTsiz, YTsiz, XTOsiz, YTOsiz, Csiz and Ssiz per component.
- WSQ (FBI IAFIS-IC-0110, WSQ Gray-scale Fingerprint Image Compression Specification v3.1,
  section 3.3.1): markers ``FFA0`` SOI, ``FFA2`` SOF (Lf, A, B, Y lines, X samples per line),
  ``FFA3`` SOB, ``FFA4``-``FFA8`` tables and comments, each with a 2-byte length.
- PNG (RFC 2083 section 4.1.1): the IHDR chunk's width and height, bit depth and colour type.
- JPEG (ITU-T T.81 B.2.2): the first SOFn frame header: P, Y, X, Nf.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

MAX_SIDE = 4096
MAX_PIXELS = 12_000_000
MAX_COMPONENTS = 4
MAX_BITS = 16
MAX_TILES = 4096
_SCAN_LIMIT = 1 << 20  # marker scanning stops after this many bytes
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


class ImageRefused(ValueError):
    """The image's header is unreadable or declares more than an image of a record may be."""


@dataclass(frozen=True)
class ImageHeader:
    """What an image declares about itself, before decoding."""

    format: str
    width: int
    height: int
    components: int
    bits: int = 8
    tiles: int = 1

    def check(self) -> ImageHeader:
        """This header, or :class:`ImageRefused` when decoding it would cost too much."""
        if self.width < 1 or self.height < 1:
            raise ImageRefused(f"{self.format} declares an empty image")
        if max(self.width, self.height) > MAX_SIDE or self.width * self.height > MAX_PIXELS:
            raise ImageRefused(
                f"{self.format} declares {self.width}x{self.height} pixels; at most "
                f"{MAX_SIDE} a side and {MAX_PIXELS} in all are decoded"
            )
        if not 1 <= self.components <= MAX_COMPONENTS or not 1 <= self.bits <= MAX_BITS:
            raise ImageRefused(
                f"{self.format} declares {self.components} components of {self.bits} bits"
            )
        if self.tiles > MAX_TILES:
            raise ImageRefused(f"{self.format} declares {self.tiles} tiles")
        return self


def _unpack(layout: str, data: bytes, offset: int, what: str) -> tuple[int, ...]:
    try:
        return struct.unpack_from(layout, data, offset)
    except struct.error as exc:
        raise ImageRefused(f"{what} ends inside its header") from exc


def _jpeg2000_siz(data: bytes, start: int, what: str) -> ImageHeader:
    if data[start : start + 4] != b"\xff\x4f\xff\x51":
        raise ImageRefused(f"{what} does not start with SOC and SIZ")
    fields = _unpack(">HHIIIIIIIIH", data, start + 4, what)
    _lsiz, _rsiz, xsiz, ysiz, xosiz, yosiz, xtsiz, ytsiz, xtosiz, ytosiz, csiz = fields
    if xtsiz == 0 or ytsiz == 0 or xosiz >= xsiz or yosiz >= ysiz:
        raise ImageRefused(f"{what} has an impossible image or tile size")
    if xtosiz > xosiz or ytosiz > yosiz:
        raise ImageRefused(f"{what} has tiles that do not cover the image")
    tiles = -(-(xsiz - xtosiz) // xtsiz) * -(-(ysiz - ytosiz) // ytsiz)
    bits = 1
    if 0 < csiz <= MAX_COMPONENTS:
        depths = [_unpack(">B", data, start + 42 + 3 * index, what)[0] for index in range(csiz)]
        bits = max((depth & 0x7F) + 1 for depth in depths)
    return ImageHeader("JPEG 2000", xsiz - xosiz, ysiz - yosiz, csiz, bits, tiles)


def _jp2_codestream(data: bytes) -> int:
    """Where the first ``jp2c`` box's codestream starts in a JP2 file."""
    offset = 0
    for _ in range(64):  # a JP2 file has a handful of top-level boxes before the codestream
        length, kind = _unpack(">I4s", data, offset, "JP2 file")
        header = 8
        if length == 1:
            (length,) = _unpack(">Q", data, offset + 8, "JP2 file")
            header = 16
        if kind == b"jp2c":
            return offset + header
        if length < header:
            break
        offset += length
    raise ImageRefused("JP2 file holds no codestream box")


def _wsq(data: bytes) -> ImageHeader:
    offset = 2
    while offset < min(len(data), _SCAN_LIMIT):
        marker, length = _unpack(">HH", data, offset, "WSQ image")
        if marker == 0xFFA2:
            _a, _b, height, width = _unpack(">BBHH", data, offset + 4, "WSQ image")
            return ImageHeader("WSQ", width, height, 1)
        if marker == 0xFFA3 or not 0xFFA2 <= marker <= 0xFFA8 or length < 2:
            break
        offset += 2 + length
    raise ImageRefused("WSQ image has no frame header before its data")


def _jpeg(data: bytes) -> ImageHeader:
    offset = 2
    while offset < min(len(data), _SCAN_LIMIT):
        _fill, kind, length = _unpack(">BBH", data, offset, "JPEG image")
        if kind in _JPEG_SOF:
            bits, height, width, components = _unpack(">BHHB", data, offset + 4, "JPEG image")
            return ImageHeader("JPEG", width, height, components, bits)
        if kind in (0xD9, 0xDA) or length < 2:
            break
        offset += 2 + length
    raise ImageRefused("JPEG image has no frame header before its data")


def _png(data: bytes) -> ImageHeader:
    _length, kind, width, height, bits, colour = _unpack(">I4sIIBB", data, 8, "PNG image")
    if kind != b"IHDR" or colour not in _PNG_CHANNELS:
        raise ImageRefused("PNG image does not start with a valid IHDR")
    return ImageHeader("PNG", width, height, _PNG_CHANNELS[colour], bits)


def read_image_header(data: bytes) -> ImageHeader:
    """The declared geometry of a JPEG 2000, WSQ, PNG or JPEG image (not yet checked)."""
    if data.startswith(b"\x00\x00\x00\x0cjP  "):
        return _jpeg2000_siz(data, _jp2_codestream(data), "JPEG 2000 codestream")
    if data.startswith(b"\xff\x4f"):
        return _jpeg2000_siz(data, 0, "JPEG 2000 codestream")
    if data.startswith(b"\xff\xa0"):
        return _wsq(data)
    if data.startswith(_PNG_SIGNATURE):
        return _png(data)
    if data.startswith(b"\xff\xd8"):
        return _jpeg(data)
    raise ImageRefused("not a JPEG 2000, WSQ, PNG or JPEG image")


def checked_header(data: bytes, expected_format: str) -> ImageHeader:
    """The header of ``data``, which must be a ``expected_format`` image cheap enough to
    decode; raises :class:`ImageRefused`."""
    header = read_image_header(bytes(data[:_SCAN_LIMIT]))
    if header.format != expected_format:
        raise ImageRefused(f"expected a {expected_format} image, found {header.format}")
    return header.check()


def decoded_as_declared(image: np.ndarray, header: ImageHeader) -> np.ndarray:
    """``image`` if the decoder produced the size its header declared."""
    if image.shape[:2] != (header.height, header.width):
        raise ImageRefused(
            f"{header.format} decoded to {image.shape[1]}x{image.shape[0]}, its header "
            f"declares {header.width}x{header.height}"
        )
    return image
