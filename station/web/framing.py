"""gRPC-Web on the wire: message frames, the trailer frame, base64 text mode, metadata.

The protocol (grpc/grpc, doc/PROTOCOL-WEB.md) keeps native gRPC's length-prefixed framing
(one flag byte, a 4-byte big-endian length, the message) over any HTTP version. The status
travels in the body as a last frame whose flag byte has its most significant bit set (0x80),
holding an HTTP/1-style header block (``grpc-status: 0\\r\\n``). ``application/grpc-web-text``
is the same stream base64-encoded; each frame is encoded and flushed on its own, so the body is a
concatenation of padded base64 pieces that clients decode four characters at a time.

Binary metadata (keys ending in ``-bin``, e.g. ``grpc-status-details-bin``) is base64 in
headers and in the trailer block in both content types, as native gRPC does in HTTP/2 headers
and as gRPC-Web clients decode it.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Callable, Iterable
from urllib.parse import quote

DATA_FLAG = 0x00
COMPRESSED_FLAG = 0x01
TRAILER_FLAG = 0x80
HEADER = struct.Struct(">BI")

GRPC_WEB = "application/grpc-web"
GRPC_WEB_TEXT = "application/grpc-web-text"

# Request headers that belong to HTTP or the browser, not to the call's metadata.
NOT_METADATA = frozenset(
    {
        "accept",
        "accept-encoding",
        "cache-control",
        "connection",
        "content-length",
        "content-type",
        "cookie",
        "dnt",
        "grpc-timeout",
        "host",
        "keep-alive",
        "origin",
        "pragma",
        "priority",
        "referer",
        "te",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-grpc-web",
        "x-user-agent",
    }
)
# Metadata the gRPC runtime owns; never copied into HTTP response headers.
RESERVED_RESPONSE_KEYS = frozenset({"content-type", "grpc-status", "grpc-message"})
# grpc-timeout units (gRPC over HTTP/2, "Timeout"): hours .. nanoseconds.
TIMEOUT_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}


class FramingError(ValueError):
    """A request body that is not one uncompressed gRPC-Web message."""


def is_text(content_type: str) -> bool:
    """Whether ``content_type`` is the base64 text variant."""
    return content_type.split(";")[0].strip().lower().startswith(GRPC_WEB_TEXT)


def is_grpc_web(content_type: str) -> bool:
    base = content_type.split(";")[0].strip().lower()
    return base == GRPC_WEB or base.startswith((GRPC_WEB + "+", GRPC_WEB_TEXT))


def frame(payload: bytes, flag: int = DATA_FLAG) -> bytes:
    """One length-prefixed frame."""
    return HEADER.pack(flag, len(payload)) + payload


def single_message(body: bytes, text: bool) -> bytes:
    """The one request message a unary or server-streaming call carries (text: base64)."""
    if text:
        try:
            body = base64.b64decode(body, validate=False)
        except binascii.Error as exc:
            raise FramingError(f"the body is not base64: {exc}") from None
    if len(body) < HEADER.size:
        raise FramingError("the body holds no gRPC-Web frame")
    flag, length = HEADER.unpack_from(body)
    if flag & COMPRESSED_FLAG:
        raise FramingError("compressed messages are not accepted (no grpc-encoding is offered)")
    if flag != DATA_FLAG:
        raise FramingError(f"the first frame must be a message, its flag is {flag:#04x}")
    if len(body) != HEADER.size + length:
        raise FramingError("the body must hold exactly one message frame")
    return body[HEADER.size :]


def trailer_block(status: int, message: str, metadata: Iterable[tuple[str, str | bytes]]) -> bytes:
    """The trailer frame's payload: ``grpc-status``, ``grpc-message`` (percent-encoded, as
    gRPC over HTTP/2 writes it) and the call's trailing metadata, one ``key: value`` per line."""
    lines = [f"grpc-status: {status}"]
    if message:
        lines.append(f"grpc-message: {quote(message, safe=' !#$&()*+,/:;=?@[]~')}")
    lines.extend(f"{key}: {value}" for key, value in header_pairs(metadata))
    return "".join(line + "\r\n" for line in lines).encode("ascii")


def header_pairs(metadata: Iterable[tuple[str, str | bytes]]) -> list[tuple[str, str]]:
    """gRPC metadata as HTTP header pairs: lower-case keys, ``-bin`` values base64 (padded),
    runtime-owned keys left out."""
    pairs: list[tuple[str, str]] = []
    for key, value in metadata:
        name = key.lower()
        if name in RESERVED_RESPONSE_KEYS:
            continue
        if name.endswith("-bin"):
            raw = value if isinstance(value, bytes) else value.encode()
            pairs.append((name, base64.b64encode(raw).decode("ascii")))
        else:
            pairs.append((name, str(value).replace("\r", " ").replace("\n", " ")))
    return pairs


def request_metadata(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str | bytes]]:
    """The call's metadata from the request's headers: what is not HTTP's or the browser's
    (``authorization``, ``accept-language``, custom keys), ``-bin`` values decoded."""
    metadata: list[tuple[str, str | bytes]] = []
    for key, value in headers:
        name = key.lower()
        if name in NOT_METADATA or name.startswith(("sec-", "access-control-", ":")):
            continue
        if name.endswith("-bin"):
            try:
                metadata.append((name, base64.b64decode(value + "=" * (-len(value) % 4))))
            except binascii.Error:
                raise FramingError(f"header {name} is not base64") from None
        else:
            metadata.append((name, value))
    return metadata


def timeout_seconds(value: str | None) -> float | None:
    """A ``grpc-timeout`` header ("10S", "250m") in seconds; None when absent."""
    if not value:
        return None
    digits, unit = value[:-1], value[-1:]
    if not digits.isdigit() or len(digits) > 8 or unit not in TIMEOUT_UNITS:
        raise FramingError(f"grpc-timeout {value!r} is not 1-8 digits and a unit (H M S m u n)")
    return int(digits) * TIMEOUT_UNITS[unit]


def encoder(text: bool) -> Callable[[bytes], bytes]:
    """What turns a frame into the bytes written: base64 in text mode, as is otherwise."""
    return base64.b64encode if text else bytes
