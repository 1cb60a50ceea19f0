"""One capture at one position: prompt, live preview with quality, auto-capture or best frame."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime

import cv2
import numpy as np

from capture.enrollment import utcnow
from capture.feed import FrameFeed
from capture.signature_image import SignatureDrawing
from domain.messages import Message, msg
from domain.settings import Settings
from domain.vocabulary import position as position_named
from drivers.base import Device, ImageDevice, Modality, PenDevice, SignatureTrace
from drivers.errors import CaptureCancelled, CaptureTimeout
from quality.base import QualityResult


@dataclass(frozen=True)
class CaptureSettings(Settings):
    """How a capture runs: the ``[capture]`` section of the station configuration."""

    preview_fps: float = 15.0
    timeout_s: float = 20.0
    # Consecutive frames at or above the threshold before auto-capture (live-preview devices).
    consecutive_good: int = 3
    preview_jpeg_quality: int = 70
    preview_max_side: int = 480
    # A preview frame older than this (from its capture) by the time the stream could send it
    # is dropped, not sent: a slow app never gets a frame the station held longer.
    preview_max_age_ms: int = 200
    # A new print whose Bozorth3 score against a finger already kept reaches this is the same
    # finger (SAME_FINGER). NIST's NBIS User's Guide (NISTIR 7392): above ~40 is a true match.
    same_finger_score: int = 40


@dataclass
class PromptEvent:
    """What the resident should do now: ``instruction`` is a stable code (PLACE_FINGER, ...),
    on the device ``device_id``."""

    position: str
    instruction: str
    message: Message
    device_id: str = ""


def prompt(position: str, instruction: str, device_id: str, first: bool = False) -> PromptEvent:
    """The prompt ``instruction`` (also its catalogue code) with the position's name; the
    ``first`` of a capture also names the device to use."""
    name = msg(position_named(position).message_code)
    message = msg(instruction, position=name)
    if first:
        message += msg("USE_DEVICE", device_id=device_id)
    return PromptEvent(position, instruction, message, device_id)


@dataclass
class PreviewEvent:
    sequence: int
    jpeg: bytes
    width: int
    height: int
    quality: QualityResult
    captured_at: datetime


@dataclass
class CaptureOutcome:
    """The frame (or trace) the capture ended with."""

    quality: QualityResult
    image: np.ndarray | None = None
    trace: SignatureTrace | None = None


CaptureEvent = PromptEvent | PreviewEvent | CaptureOutcome
Assess = Callable[[np.ndarray], QualityResult]
AssessTrace = Callable[[SignatureTrace], QualityResult]

# The first prompt of each modality's capture; an instruction is also its sentence's code.
INSTRUCTION_BY_MODALITY = {
    Modality.FINGERPRINT: "PLACE_FINGER",
    Modality.FACE: "LOOK_AT_CAMERA",
    Modality.IRIS: "LOOK_AT_IRIS_CAMERA",
    Modality.SIGNATURE: "SIGN",
}


class PreviewPacer:
    """When the next preview frame is due, at ``fps`` frames a second (0: every frame). A
    schedule, not a minimum gap: jitter in the source must not halve the preview rate."""

    def __init__(self, fps: float) -> None:
        self.interval = 1.0 / fps if fps > 0 else 0.0
        self.next_at = 0.0

    def due(self) -> bool:
        now = time.monotonic()
        if now < self.next_at - self.interval / 2:
            return False
        self.next_at = max(self.next_at + self.interval, now)
        return True


def encode_preview(image: np.ndarray, max_side: int, jpeg_quality: int) -> tuple[bytes, int, int]:
    """A display JPEG of ``image`` no larger than ``max_side`` on its longer side."""
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale < 1.0:
        image = cv2.resize(
            image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
        )
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    if not ok:
        raise ValueError("could not encode the preview frame")
    return buffer.tobytes(), image.shape[1], image.shape[0]


def run_capture(
    device: Device,
    position: str,
    modality: Modality,
    assess: Assess | AssessTrace,
    threshold: int,
    settings: CaptureSettings,
    cancel: threading.Event,
) -> Iterator[CaptureEvent]:
    """Yield a prompt, preview frames, then exactly one CaptureOutcome as the last event.

    Raises CaptureTimeout when nothing at all was presented (the device gave no frame before
    the timeout), CaptureCancelled when ``cancel`` is set, and the device's own errors
    (DeviceUnavailable, ProtocolError).
    """
    code = INSTRUCTION_BY_MODALITY[modality]
    yield prompt(position, code, device.device_id, first=True)
    if isinstance(device, PenDevice):
        yield from _run_signature_capture(device, assess, settings, cancel)  # type: ignore[arg-type]
        return
    assert isinstance(device, ImageDevice)
    for event in _run_image_capture(device, position, assess, threshold, settings, cancel):  # type: ignore[arg-type]
        if isinstance(event, CaptureOutcome) and modality is Modality.FINGERPRINT:
            yield prompt(position, "LIFT_FINGER", device.device_id)
        yield event


def _run_image_capture(
    device: ImageDevice,
    position: str,
    assess: Assess,
    threshold: int,
    settings: CaptureSettings,
    cancel: threading.Event,
) -> Iterator[CaptureEvent]:
    needed = max(1, settings.consecutive_good) if device.capabilities.live_preview else 1
    deadline = time.monotonic() + settings.timeout_s
    pacer = PreviewPacer(settings.preview_fps)
    best: tuple[QualityResult, np.ndarray] | None = None
    good_run = 0
    sequence = 0
    feed = FrameFeed(device, position, settings.timeout_s, cancel, device.capabilities.live_preview)
    try:
        while True:
            if cancel.is_set():
                raise CaptureCancelled("capture cancelled by the operator")
            if time.monotonic() >= deadline:
                break
            try:
                read = feed.next_frame(deadline)
            except CaptureTimeout:
                if best is None:
                    raise
                break
            if read is None:  # the deadline, a cancel, or the source ended
                if cancel.is_set():
                    raise CaptureCancelled("capture cancelled by the operator")
                break
            frame, grabbed_at = read
            quality = assess(frame)
            if best is None or quality.score > best[0].score:
                best = (quality, frame)
            good_run = good_run + 1 if quality.score >= threshold else 0
            if good_run == 1 and needed > 1:
                yield prompt(position, "HOLD_STILL", device.device_id)
            if pacer.due():
                sequence += 1
                jpeg, width, height = encode_preview(
                    frame, settings.preview_max_side, settings.preview_jpeg_quality
                )
                yield PreviewEvent(sequence, jpeg, width, height, quality, grabbed_at)
            if good_run >= needed:
                yield CaptureOutcome(quality, image=frame)
                return
    finally:
        feed.close()
    if best is None:
        raise CaptureTimeout(
            "nothing was presented before the timeout", code="NOTHING_CAPTURED_IN_TIME"
        )
    quality, frame = best
    yield CaptureOutcome(quality, image=frame)


def _run_signature_capture(
    device: PenDevice, assess: AssessTrace, settings: CaptureSettings, cancel: threading.Event
) -> Iterator[CaptureEvent]:
    """Preview frames of the strokes so far (with their live quality) at the preview rate
    while the resident signs, then the whole signature as the outcome."""
    pacer = PreviewPacer(settings.preview_fps)
    sequence = 0
    trace: SignatureTrace | None = None
    drawing: SignatureDrawing | None = None
    with closing(device.signing(timeout=settings.timeout_s, cancel=cancel)) as growing:
        for trace in growing:
            drawing = drawing or SignatureDrawing(trace, settings.preview_max_side)
            if pacer.due():
                sequence += 1
                jpeg, width, height = encode_preview(
                    drawing.draw(), settings.preview_max_side, settings.preview_jpeg_quality
                )
                yield PreviewEvent(sequence, jpeg, width, height, assess(trace), utcnow())
    assert trace is not None  # the pad ends a signature only once it was touched
    yield CaptureOutcome(assess(trace), trace=trace)
