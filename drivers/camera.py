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
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import cv2
import numpy as np

from drivers.base import Capabilities, DeviceIdentity, DeviceStatus, ImageDevice, Modality
from drivers.errors import CaptureCancelled, CaptureTimeout, DeviceUnavailable, OperatorText

TEXT_FACE_UNAVAILABLE = OperatorText(
    en="The face camera is not connected or sends no picture. Check its cable, then try again.",
    id="Kamera wajah tidak terhubung atau tidak mengirim gambar. Periksa kabelnya, lalu coba lagi.",
)
TEXT_IRIS_UNAVAILABLE = OperatorText(
    en="The iris camera is not connected or sends no picture. Check its cable, then try again.",
    id="Kamera iris tidak terhubung atau tidak mengirim gambar. Periksa kabelnya, lalu coba lagi.",
)
TEXT_CANCELLED = OperatorText(
    en="The camera capture was cancelled.", id="Pengambilan gambar kamera dibatalkan."
)
TEXT_TIMEOUT = OperatorText(
    en="The camera did not deliver a picture in time. Try again.",
    id="Kamera tidak mengirim gambar tepat waktu. Coba lagi.",
)

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
    positions: tuple[str, ...] = ("face",)
    unavailable_text = TEXT_FACE_UNAVAILABLE

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
            raise DeviceUnavailable(f"cannot open camera source {self.port}", self.unavailable_text)
        self._apply_settings(capture)
        ok, frame = capture.read()
        if not ok or frame is None:
            capture.release()
            raise DeviceUnavailable(
                f"camera source {self.port} gave no frame", self.unavailable_text
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

    # -- frames -----------------------------------------------------------------------------
    def capture(
        self,
        *,
        timeout: float,
        cancel: threading.Event | None = None,
        position: str | None = None,
    ) -> np.ndarray:
        """The current frame (see ``_shape`` for what each camera returns)."""
        with self.lock:
            self._ensure_open()
            self.status = DeviceStatus.BUSY
            try:
                frame = self._fresh_frame(time.monotonic() + timeout, cancel)
            finally:
                if self.status == DeviceStatus.BUSY:
                    self.status = DeviceStatus.READY
        return self._shape(frame, position)

    def frames(
        self, *, cancel: threading.Event, position: str | None = None, timeout: float = 10.0
    ) -> Iterator[np.ndarray]:
        """Live frames for preview until ``cancel`` is set, from the open source."""
        while not cancel.is_set():
            with self.lock:
                self._ensure_open()
                frame = self._fresh_frame(time.monotonic() + timeout, cancel)
            yield self._shape(frame, position)

    def _shape(self, frame: np.ndarray, position: str | None) -> np.ndarray:
        return frame

    # -- internals --------------------------------------------------------------------------
    def _ensure_open(self) -> None:
        if self._capture is None:
            self.open()

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

    def _fresh_frame(self, deadline: float, cancel: threading.Event | None) -> np.ndarray:
        """A frame from the live edge: skip frames that were already queued."""
        capture = self._capture
        assert capture is not None
        if cancel is not None and cancel.is_set():
            raise CaptureCancelled("capture cancelled", TEXT_CANCELLED)
        if self._live:
            self._skip_queued(capture, deadline)
        elif not capture.grab():
            self._lost("no more frames")
        ok, frame = capture.retrieve()
        if not ok or frame is None:
            self._lost("frame could not be decoded")
        return frame

    def _skip_queued(self, capture: cv2.VideoCapture, deadline: float) -> None:
        """Grab until a grab had to wait for the source (queued frames come back at once)."""
        period = 1.0 / self.fps if self.fps > 0 else 1.0 / 30
        for _ in range(_MAX_STALE_SKIPS):
            started = time.monotonic()
            if not capture.grab():
                self._lost("the source stopped sending frames")
            if time.monotonic() - started >= period * 0.3:
                return
            if time.monotonic() >= deadline:
                raise CaptureTimeout("no fresh frame before the timeout", TEXT_TIMEOUT)

    def _lost(self, detail: str) -> None:
        self.close()
        raise DeviceUnavailable(f"camera {self.port}: {detail}", self.unavailable_text)


class FaceCamera(OpenCvCamera):
    """The face camera: ``capture()`` returns a uint8 BGR frame."""

    driver_name = "face-camera"
    modality = Modality.FACE
    positions = ("face",)
    unavailable_text = TEXT_FACE_UNAVAILABLE

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
    positions = ("right_eye", "left_eye")
    unavailable_text = TEXT_IRIS_UNAVAILABLE

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
        if position == "right_eye":
            return np.ascontiguousarray(grey[:, :middle])
        if position == "left_eye":
            return np.ascontiguousarray(grey[:, middle:])
        if position is None:
            return grey
        raise ValueError(f"unknown iris position {position!r}; use 'right_eye' or 'left_eye'")
