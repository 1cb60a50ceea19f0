"""A camera's live preview as MJPEG for ``<img src=...>``, and the short-lived signed URLs that
let a page show it without putting its token in the URL.

An ``<img>`` cannot send an ``authorization`` header, so a page asks for a preview URL with its
token (``POST /v1/devices/<id>/preview-url``) and gets one carrying a pass: the device id, the
operator and an expiry, signed with HMAC-SHA256 under a key that lives only in the daemon's
memory (restarting the daemon invalidates every pass). A pass opens the stream only before it
expires and only for its device; the stream it opened then runs until the page drops it or
``MAX_PREVIEW_S`` passes.

The stream is ``multipart/x-mixed-replace``: each part one JPEG, shown in place of the last
(the form MOSIP SBI's STREAM and IP cameras serve). Frames are taken from the device one at a
time, paced to the preview rate, and written before the next is taken: nothing queues.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from capture.engine import CaptureSettings, encode_preview
from drivers.base import ImageDevice
from drivers.errors import CaptureTimeout, DeviceError

BOUNDARY = "rekam-preview-frame"
MJPEG_CONTENT_TYPE = f"multipart/x-mixed-replace; boundary={BOUNDARY}"
MAX_PREVIEW_S = 15 * 60
FRAME_WAIT_S = 2.0  # how long one frame may take before the device is asked again


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class PreviewPass:
    """What a valid pass grants: one device's preview, on behalf of one operator."""

    device_id: str
    operator: str
    expires_at: float


class PreviewPasses:
    """Issues and checks signed preview passes valid for ``ttl_s`` seconds."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._key = secrets.token_bytes(32)

    def issue(self, device_id: str, operator: str) -> tuple[str, PreviewPass]:
        """A pass for ``device_id`` and the operator asking; the text goes in the URL."""
        granted = PreviewPass(device_id, operator, round(self.clock() + self.ttl_s, 3))
        claims = json.dumps(
            {"d": granted.device_id, "o": granted.operator, "e": granted.expires_at},
            separators=(",", ":"),
        ).encode()
        return f"{_b64(claims)}.{_b64(self._sign(claims))}", granted

    def check(self, text: str, device_id: str) -> PreviewPass | None:
        """The pass ``text`` carries when it is genuine, unexpired and for ``device_id``."""
        claims_part, _, signature_part = text.partition(".")
        try:
            claims = _unb64(claims_part)
            signature = _unb64(signature_part)
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(signature, self._sign(claims)):
            return None
        fields = json.loads(claims)
        granted = PreviewPass(str(fields["d"]), str(fields["o"]), float(fields["e"]))
        if granted.device_id != device_id or granted.expires_at <= self.clock():
            return None
        return granted

    def _sign(self, claims: bytes) -> bytes:
        return hmac.new(self._key, claims, hashlib.sha256).digest()


def mjpeg_part(jpeg: bytes) -> bytes:
    """One part of the multipart stream: its headers, the JPEG, the line ending."""
    head = (
        f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
    ).encode("ascii")
    return head + jpeg + b"\r\n"


def preview_frames(
    device: ImageDevice, settings: CaptureSettings, cancel: threading.Event
) -> Iterator[bytes]:
    """JPEG preview frames of ``device`` at ``settings.preview_fps`` until ``cancel`` is set,
    ``MAX_PREVIEW_S`` passes or the device goes away."""
    interval = 1.0 / settings.preview_fps if settings.preview_fps > 0 else 0.0
    started = time.monotonic()
    next_at = started
    while not cancel.is_set() and time.monotonic() - started < MAX_PREVIEW_S:
        try:
            image = device.capture(timeout=FRAME_WAIT_S, cancel=cancel)
        except CaptureTimeout:
            continue
        except DeviceError:
            return
        jpeg, _, _ = encode_preview(image, settings.preview_max_side, settings.preview_jpeg_quality)
        yield jpeg
        next_at = max(next_at + interval, time.monotonic())
        cancel.wait(max(0.0, next_at - time.monotonic()))
