"""Face and iris cameras through OpenCV ``VideoCapture``.

The port is whatever VideoCapture opens: a device index ("0") or path ("/dev/video2") for a UVC
camera (V4L2), a file or image-sequence pattern ("frames/%04d.png"), or a stream URL
("http://127.0.0.1:8081/stream.mjpg"). Resolution, FOURCC and frame rate are requested and then
read back into the identity and capabilities. Live sources are read at their live edge: frames
that queued up while nobody was reading are skipped, so a capture shows who stands there now.
"""

from __future__ import annotations

import os
import socket
import time
from typing import NoReturn
from urllib.parse import urlsplit

import cv2
import numpy as np

from domain.vocabulary import EYES, Position
from drivers.base import Capabilities, DeviceIdentity, DeviceStatus, ImageDevice, Modality
from drivers.errors import CaptureCancelled, CaptureTimeout, DeviceUnavailable

# Message codes (catalogue area "devices") of what the operator is told.
FACE_UNAVAILABLE_CODE = "DEVICE_FACE_CAMERA_NO_PICTURE"
IRIS_UNAVAILABLE_CODE = "DEVICE_IRIS_CAMERA_NO_PICTURE"
CANCELLED_CODE = "DEVICE_CAMERA_CAPTURE_CANCELLED"
TIMEOUT_CODE = "DEVICE_CAMERA_NO_PICTURE_IN_TIME"

_BACKENDS = {
    "any": cv2.CAP_ANY,
    "ffmpeg": cv2.CAP_FFMPEG,
    "v4l2": cv2.CAP_V4L2,
    "images": cv2.CAP_IMAGES,
}
_LIVE_PREFIXES = ("http://", "https://", "rtsp://", "rtsps://", "udp://", "tcp://", "/dev/video")
_MAX_STALE_SKIPS = 8


def _parse_source(port: str) -> int | str:
    text = port.strip()
    return int(text) if text.isdigit() else text


def source_present(port: str, timeout: float = 0.5) -> bool:
    """Whether a VideoCapture source is there, without opening it as a camera."""
    text = port.strip()
    if text.isdigit():
        return os.path.exists(f"/dev/video{text}")
    url = urlsplit(text)
    if url.scheme == "udp":
        return True  # nothing answers a connection; only frames arriving tell
    if url.scheme and url.hostname and url.scheme != "file":
        default_port = {"http": 80, "https": 443, "rtsp": 554, "rtsps": 322}.get(url.scheme, 0)
        try:
            with socket.create_connection((url.hostname, url.port or default_port), timeout):
                return True
        except OSError:
            return False
    if "%" in text:  # an image-sequence pattern: its folder holds the frames
        return os.path.isdir(os.path.dirname(text) or ".")
    return os.path.exists(text)


def _fourcc_text(code: float) -> str:
    value = int(code)
    if value <= 0:
        return ""
    text = value.to_bytes(4, "little").decode("ascii", errors="replace")
    return text if text.isprintable() else ""


class OpenCvCamera(ImageDevice):
    """A camera read through ``cv2.VideoCapture``.

    Options: ``width``, ``height``, ``fourcc`` (e.g. "MJPG"), ``fps`` (requested; what the
    source grants is read back), ``backend`` ("any", "ffmpeg", "v4l2", "images"),
    ``open_timeout`` and ``read_timeout`` (seconds, network sources), ``vendor``/``model``
    (identity labels; a UVC camera's own name is not exposed through OpenCV).
    """

    modality = Modality.FACE
    positions: tuple[Position, ...] = (Position.FACE,)
    unavailable_code = FACE_UNAVAILABLE_CODE

    def __init__(
        self,
        device_id: str,
        port: str,
        *,
        width: int | None = None,
        height: int | None = None,
        fourcc: str | None = None,
        fps: float | None = None,
        backend: str = "any",
        open_timeout: float = 5.0,
        read_timeout: float = 3.0,
        vendor: str = "UVC",
        model: str = "camera",
    ) -> None:
        super().__init__(device_id, port)
        if backend not in _BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; known: {', '.join(_BACKENDS)}")
        if fourcc is not None and len(fourcc) != 4:
            raise ValueError(f"fourcc must be 4 characters, got {fourcc!r}")
        self.requested_width = width
        self.requested_height = height
        self.requested_fourcc = fourcc
        self.requested_fps = fps
        self.backend = backend
        self.open_timeout = float(open_timeout)
        self.read_timeout = float(read_timeout)
        self.vendor = vendor
        self.model = model
        self.width = width or 0
        self.height = height or 0
        self.fourcc = fourcc or ""
        self.fps = fps or 0.0
        self.backend_name = ""
        self._capture: cv2.VideoCapture | None = None
        self._live = str(port).strip().isdigit() or str(port).startswith(_LIVE_PREFIXES)

    # -- Device -----------------------------------------------------------------------------
    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            modality=self.modality,
            positions=self.positions,
            width=self.width,
            height=self.height,
            live_preview=True,
        )

    def open(self) -> None:
        """Open the source, apply the requested properties, read back what it granted."""
        self.close()
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            int(self.open_timeout * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            int(self.read_timeout * 1000),
        ]
        capture = cv2.VideoCapture(_parse_source(self.port), _BACKENDS[self.backend], params)
        if not capture.isOpened():
            capture.release()
            raise DeviceUnavailable(
                f"cannot open camera source {self.port}", code=self.unavailable_code
            )
        self._apply_settings(capture)
        ok, frame = capture.read()
        if not ok or frame is None:
            capture.release()
            raise DeviceUnavailable(
                f"camera source {self.port} gave no frame", code=self.unavailable_code
            )
        self._capture = capture
        self._read_back(capture, frame)
        self.identity = DeviceIdentity(
            vendor=self.vendor,
            model=self.model,
            firmware=f"{self.backend_name} {self.width}x{self.height} {self.fourcc} "
            f"{self.fps:g} fps".strip(),
            transport="uvc" if self._live and not str(self.port).startswith("http") else "stream",
            port=self.port,
        )
        self.status = DeviceStatus.READY

    def close(self) -> None:
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.release()
        self.status = DeviceStatus.DISCONNECTED

    def present(self) -> bool:
        """Whether the source answers: the video node or file exists, the stream accepts."""
        return source_present(self.port)

    # -- frames (the loop is ImageDevice.capture) --------------------------------------------
    def _try_capture(self, position: str | None, deadline: float) -> np.ndarray | None:
        """The current frame (see ``_shape`` for what each camera returns); None when no fresh
        frame arrived before ``deadline``."""
        frame = self._fresh_frame(deadline)
        return None if frame is None else self._shape(frame, position)

    def _nothing_presented(self) -> CaptureTimeout:
        return CaptureTimeout("no fresh frame before the timeout", code=TIMEOUT_CODE)

    def _cancelled(self) -> CaptureCancelled:
        return CaptureCancelled("capture cancelled", code=CANCELLED_CODE)

    def _shape(self, frame: np.ndarray, position: str | None) -> np.ndarray:
        return frame

    # -- internals --------------------------------------------------------------------------
    def _apply_settings(self, capture: cv2.VideoCapture) -> None:
        if self.requested_fourcc:
            capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*self.requested_fourcc))
        if self.requested_width:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.requested_width)
        if self.requested_height:
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.requested_height)
        if self.requested_fps:
            capture.set(cv2.CAP_PROP_FPS, self.requested_fps)
        if self._live:
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)

    def _read_back(self, capture: cv2.VideoCapture, frame: np.ndarray) -> None:
        self.backend_name = capture.getBackendName()
        self.height, self.width = frame.shape[:2]
        self.fourcc = _fourcc_text(capture.get(cv2.CAP_PROP_FOURCC)) or self.fourcc
        self.fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0) or self.fps

    def _fresh_frame(self, deadline: float) -> np.ndarray | None:
        """A frame from the live edge (frames that were already queued are skipped); None when
        the deadline passed while skipping."""
        capture = self._capture
        if capture is None:
            self._lost("not open")
        if self._live:
            if not self._skip_queued(capture, deadline):
                return None
        elif not capture.grab():
            self._lost("no more frames")
        ok, frame = capture.retrieve()
        if not ok or frame is None:
            self._lost("frame could not be decoded")
        return frame

    def _skip_queued(self, capture: cv2.VideoCapture, deadline: float) -> bool:
        """Grab until a grab had to wait for the source (queued frames come back at once);
        False when the deadline passed first."""
        period = 1.0 / self.fps if self.fps > 0 else 1.0 / 30
        for _ in range(_MAX_STALE_SKIPS):
            started = time.monotonic()
            if not capture.grab():
                self._lost("the source stopped sending frames")
            if time.monotonic() - started >= period * 0.3:
                return True
            if time.monotonic() >= deadline:
                return False
        return True

    def _lost(self, detail: str) -> NoReturn:
        self.close()
        raise DeviceUnavailable(f"camera {self.port}: {detail}", code=self.unavailable_code)


class FaceCamera(OpenCvCamera):
    """The face camera: ``capture()`` returns a uint8 BGR frame."""

    driver_name = "face-camera"
    modality = Modality.FACE
    positions = (Position.FACE,)
    unavailable_code = FACE_UNAVAILABLE_CODE

    def _shape(self, frame: np.ndarray, position: str | None) -> np.ndarray:
        if frame.ndim == 2:
            return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        return frame


class IrisCamera(OpenCvCamera):
    """A two-eye NIR camera: frames show both eyes side by side.

    The subject's right eye appears on the image's left, so ``position="right_eye"`` returns
    the left half and ``"left_eye"`` the right half, as uint8 grey; no position: the whole
    frame in grey.
    """

    driver_name = "iris-camera"
    modality = Modality.IRIS
    positions = EYES
    unavailable_code = IRIS_UNAVAILABLE_CODE

    def __init__(self, device_id: str, port: str, **options: object) -> None:
        options.setdefault("model", "dual iris camera")
        super().__init__(device_id, port, **options)  # type: ignore[arg-type]

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            modality=Modality.IRIS,
            positions=self.positions,
            width=self.width // 2,
            height=self.height,
            live_preview=True,
        )

    def _shape(self, frame: np.ndarray, position: str | None) -> np.ndarray:
        grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        middle = grey.shape[1] // 2
        if position == Position.RIGHT_EYE:
            return np.ascontiguousarray(grey[:, :middle])
        if position == Position.LEFT_EYE:
            return np.ascontiguousarray(grey[:, middle:])
        return grey
