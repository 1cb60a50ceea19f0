"""An exception's proof photo taken through Capture: the face camera previews while the operator
frames the missing finger or the eyes, and the photo is the frame the preview ends on, what the
operator saw last (not an earlier one: a camera's buffer may still hold frames from before).

No quality threshold applies beyond that frame being a picture at all: not black (a covered
lens, a dead sensor), blown out, or flat (no detail at all)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np

from capture.engine import (
    CaptureEvent,
    CaptureOutcome,
    CaptureSettings,
    PreviewEvent,
    PreviewPacer,
    encode_preview,
    prompt,
)
from capture.feed import FrameFeed
from domain.vocabulary import Position
from drivers.base import ImageDevice
from drivers.errors import CaptureCancelled, CaptureTimeout
from quality.base import QualityResult

INSTRUCTION = "SHOW_FOR_PROOF_PHOTO"
MODALITY = "proof_photo"
# How long the operator frames the photo when the request names no timeout.
DEFAULT_HOLD_S = 3.0
DARKEST_MEAN = 16.0  # grey-level mean below which a frame is black
BRIGHTEST_MEAN = 245.0  # ... above which it is blown out
FLATTEST_SPREAD = 4.0  # grey-level standard deviation below which it holds no detail
JPEG_QUALITY = 85


def frame_check(image: np.ndarray) -> QualityResult:
    """100 for a frame that is a picture, 0 for a black, blown-out or flat one."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    mean, spread = (float(v[0][0]) for v in cv2.meanStdDev(grey))
    picture = DARKEST_MEAN <= mean <= BRIGHTEST_MEAN and spread >= FLATTEST_SPREAD
    return QualityResult(MODALITY, 100 if picture else 0, {"mean": mean, "spread": spread})


def encode_photo(image: np.ndarray) -> bytes:
    """The kept frame as the JPEG that becomes the exception's proof photo."""
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("could not encode the proof photo")
    return buffer.tobytes()


def run_proof_capture(
    device: ImageDevice, position: str, settings: CaptureSettings, cancel: threading.Event
) -> Iterator[CaptureEvent]:
    """Yield the prompt, preview frames for ``settings.timeout_s``, then one CaptureOutcome:
    the last frame, ``image`` None when it is no picture.

    Raises CaptureTimeout when the camera gave no frame at all, CaptureCancelled when
    ``cancel`` is set, and the camera's own errors."""
    yield prompt(position, INSTRUCTION, device.device_id, first=True)
    deadline = time.monotonic() + settings.timeout_s
    pacer = PreviewPacer(settings.preview_fps)
    live = device.capabilities.live_preview
    last: tuple[QualityResult, np.ndarray] | None = None
    sequence = 0
    feed = FrameFeed(device, Position.FACE, settings.timeout_s, cancel, live)  # the whole frame
    try:
        while time.monotonic() < deadline:
            try:
                read = feed.next_frame(deadline)
            except CaptureTimeout:
                if last is None:  # not a single frame
                    raise
                break
            if cancel.is_set():
                raise CaptureCancelled("proof photo cancelled by the operator")
            if read is None:
                break
            frame, grabbed_at = read
            last = (frame_check(frame), frame)
            if pacer.due():
                sequence += 1
                jpeg, width, height = encode_preview(
                    frame, settings.preview_max_side, settings.preview_jpeg_quality
                )
                yield PreviewEvent(sequence, jpeg, width, height, last[0], grabbed_at)
    finally:
        feed.close()
    if cancel.is_set():
        raise CaptureCancelled("proof photo cancelled by the operator")
    if last is None:  # the deadline came before the first frame
        raise CaptureTimeout("the camera gave no frame", code="NOTHING_CAPTURED_IN_TIME")
    quality, frame = last
    yield CaptureOutcome(quality, image=frame if quality.score else None)
