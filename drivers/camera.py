"""Face and iris cameras through OpenCV ``VideoCapture``.

The port names one of three kinds of source:

- A V4L2 camera (UVC): an index "0" (= /dev/video0), a node "/dev/video2", or a udev link such
  as "/dev/v4l/by-id/usb-Vendor_Camera_SN-video-index0" or "/dev/v4l/by-path/...". The modes the
  device offers are read from the node with the V4L2 enumeration ioctls (``drivers.v4l2``); the
  offered mode closest to the configured one that meets the standard's minimum is asked for
  through OpenCV's V4L2 backend (CAP_PROP_FOURCC, FRAME_WIDTH/HEIGHT, FPS: cap_v4l.cpp turns them
  into VIDIOC_S_FMT and VIDIOC_S_PARM). No open or read timeouts are passed: that backend
  refuses them, and a VideoCapture given a parameter its backend refuses does not open.
- A stream URL ("http://127.0.0.1:8081/stream.mjpg", rtsp://, ...): FFMPEG (or the configured
  backend) with open and read timeouts.
- A file or an image-sequence pattern ("frames/%04d.png").

Stream URLs and files are refused unless the device's options say ``allow_file_sources =
true``: a kit's camera is a V4L2 device, and a source that reads pictures from a file or the
network would let whoever controls that file or server put any face into a record. The simulated
kit sets it for its MJPEG cameras.

Live sources are read at their live edge: frames that queued up while nobody was reading are
skipped, so a capture shows who stands there now. A V4L2 buffer carries the CLOCK_MONOTONIC
time it was filled (V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC; OpenCV returns it as CAP_PROP_POS_MSEC),
so a stale buffer is recognised by its age; a stream's queued frames by arriving at once.

Camera controls (V4L2 control ids through OpenCV's property map, cap_v4l.cpp
capPropertyToV4L2; values in V4L2's own units, docs "Camera Control Reference"):
- ``exposure``: "auto" (V4L2_CID_EXPOSURE_AUTO = 3, aperture priority, UVC's automatic mode) or
  milliseconds (EXPOSURE_AUTO = 1 manual, then V4L2_CID_EXPOSURE_ABSOLUTE in 100 us units);
- ``focus``: "auto" (V4L2_CID_FOCUS_AUTO = 1) or a lens position (FOCUS_AUTO = 0, then
  V4L2_CID_FOCUS_ABSOLUTE, device units);
- ``white_balance``: "auto" (V4L2_CID_AUTO_WHITE_BALANCE = 1) or kelvin (AUTO_WHITE_BALANCE = 0,
  then V4L2_CID_WHITE_BALANCE_TEMPERATURE).
Controls the device does not have are listed in ``unsupported_controls`` and logged.

Minimum picture sizes (``min_width``/``min_height`` options override them):
- Face: ISO/IEC 19794-5:2005 (as ICAO Doc 9303 Part 3 adopts it), Full Frontal image type: a
  head at least 180 pixels wide (about 90 pixels between the eye centres), an image at least
  7/4 the head width and in 3:4 portrait proportion: a frame of at least 315 x 420.
- Iris: ISO/IEC 19794-6:2011 and ISO/IEC 29794-6 (iris size): an iris diameter of at least
  150 pixels, with margins of 0.6 of the iris radius left and right and 0.2 above and below:
  an eye region of at least 240 x 180, so a two-eye frame of at least 480 x 180.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import urlsplit

import cv2
import numpy as np

from domain.vocabulary import EYES, Position
from drivers.base import Capabilities, DeviceIdentity, DeviceStatus, ImageDevice, Modality
from drivers.errors import CaptureCancelled, CaptureTimeout, DeviceUnavailable
from drivers.usb_identity import (
    USB_CAMERA_PREFIX,
    USB_PATH_PREFIX,
    find_video_device,
    resolve_video_device,
)
from drivers.v4l2 import CameraMode, choose_mode, describe_modes, node_opens, query_camera

log = logging.getLogger(__name__)

# Message codes (catalogue area "devices") of what the operator is told.
FACE_UNAVAILABLE_CODE = "DEVICE_FACE_CAMERA_NO_PICTURE"
IRIS_UNAVAILABLE_CODE = "DEVICE_IRIS_CAMERA_NO_PICTURE"
MODE_BELOW_MINIMUM_CODE = "DEVICE_CAMERA_MODE_BELOW_MINIMUM"
CANCELLED_CODE = "DEVICE_CAMERA_CAPTURE_CANCELLED"
TIMEOUT_CODE = "DEVICE_CAMERA_NO_PICTURE_IN_TIME"

# ISO/IEC 19794-5 Full Frontal: head >= 180 px wide; image width >= 7/4 head width; 3:4 portrait.
FACE_MIN_SIZE = (315, 420)
# ISO/IEC 19794-6 / 29794-6: iris diameter >= 150 px; margins 0.6 R sideways, 0.2 R vertically.
IRIS_EYE_MIN_SIZE = (240, 180)

_BACKENDS = {
    "any": cv2.CAP_ANY,
    "ffmpeg": cv2.CAP_FFMPEG,
    "v4l2": cv2.CAP_V4L2,
    "images": cv2.CAP_IMAGES,
}
_STREAM_SCHEMES = ("http", "https", "rtsp", "rtsps", "udp", "tcp")
_V4L2, _STREAM, _FILE = "v4l2", "stream", "file"
_MAX_STALE_SKIPS = 12  # OpenCV's V4L2 backend queues 4 buffers; a stream a few frames
_DEFAULT_FPS = 25.0  # the live preview's target (design: >= 25 fps)
_TIMESTAMP_SANE_S = 10.0  # a buffer time this far from now is no CLOCK_MONOTONIC time


@dataclass(frozen=True)
class _Control:
    """A camera control as a pair of OpenCV properties: the automatic mode and the value."""

    auto_property: int
    auto_on: float
    auto_off: float
    value_property: int
    units_per_option: float  # the V4L2 value of one unit of the option


_CONTROLS = {
    # V4L2_EXPOSURE_APERTURE_PRIORITY = 3, V4L2_EXPOSURE_MANUAL = 1; absolute exposure: 100 us.
    "exposure": _Control(cv2.CAP_PROP_AUTO_EXPOSURE, 3, 1, cv2.CAP_PROP_EXPOSURE, 10.0),
    "focus": _Control(cv2.CAP_PROP_AUTOFOCUS, 1, 0, cv2.CAP_PROP_FOCUS, 1.0),
    "white_balance": _Control(cv2.CAP_PROP_AUTO_WB, 1, 0, cv2.CAP_PROP_WB_TEMPERATURE, 1.0),
}
ControlSetting = float | str | None  # "auto", a value in the option's units, or left as it is


def _source_kind(port: str, backend: str) -> str:
    text = port.strip()
    if backend == "v4l2" or (
        backend == "any"
        and (
            text.isdigit()
            or text.startswith(("/dev/video", "/dev/v4l/", USB_CAMERA_PREFIX, USB_PATH_PREFIX))
            or "-video-index" in text  # a bare /dev/v4l/by-id name
            or os.path.realpath(text).startswith("/dev/video")
        )
    ):
        return _V4L2
    return _STREAM if urlsplit(text).scheme in _STREAM_SCHEMES else _FILE


def _node_of(port: str) -> str | None:
    """The video node a V4L2 port names now: an index, a path or link, a USB identity
    (``usb:VID:PID[/SERIAL]``, ``usb-path:1-1.3``) or a by-id name; None when it is not there."""
    text = port.strip()
    return f"/dev/video{text}" if text.isdigit() else find_video_device(text)


def source_present(port: str, timeout: float = 0.5, backend: str = "any") -> bool:
    """Whether a VideoCapture source is there, without opening it as a camera."""
    text = port.strip()
    if _source_kind(text, backend) == _V4L2:
        try:
            node = _node_of(text)  # AmbiguousPort (a DeviceUnavailable) names the candidates
        except ValueError:  # a malformed USB identity: nothing can match it
            return False
        return node is not None and node_opens(node)
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


def _control_setting(name: str, value: object) -> ControlSetting:
    if value is None or value == "auto":
        return value  # type: ignore[return-value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ValueError(f'{name} must be "auto" or a number, got {value!r}')


class OpenCvCamera(ImageDevice):
    """A camera read through ``cv2.VideoCapture``.

    Options: ``width``, ``height``, ``fourcc`` (e.g. "MJPG"), ``fps`` (the wanted mode; a V4L2
    camera gets the closest offered one, see ``drivers.v4l2.choose_mode``), ``min_width`` and
    ``min_height`` (the smallest acceptable frame; default: the standard's, see the module),
    ``exposure``, ``focus``, ``white_balance`` (see the module), ``backend`` ("any", "ffmpeg",
    "v4l2", "images"), ``open_timeout`` and ``read_timeout`` (seconds, stream sources),
    ``vendor``/``model`` (identity labels; a V4L2 camera's model defaults to its own name),
    ``allow_file_sources`` (accept a stream URL or file; see the module).
    """

    modality = Modality.FACE
    positions: tuple[Position, ...] = (Position.FACE,)
    unavailable_code = FACE_UNAVAILABLE_CODE
    default_min_size: tuple[int, int] = FACE_MIN_SIZE
    default_model = "camera"  # when neither the options nor the device name it

    def __init__(
        self,
        device_id: str,
        port: str,
        *,
        width: int | None = None,
        height: int | None = None,
        fourcc: str | None = None,
        fps: float | None = None,
        min_width: int | None = None,
        min_height: int | None = None,
        exposure: float | str | None = None,
        focus: float | str | None = None,
        white_balance: float | str | None = None,
        backend: str = "any",
        open_timeout: float = 5.0,
        read_timeout: float = 3.0,
        vendor: str = "UVC",
        model: str | None = None,
        allow_file_sources: bool = False,
    ) -> None:
        super().__init__(device_id, port)
        if backend not in _BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; known: {', '.join(_BACKENDS)}")
        self._kind = _source_kind(str(port), backend)
        if self._kind != _V4L2 and not allow_file_sources:
            raise ValueError(
                f"camera {device_id}: {port!r} is a {self._kind} source, not a camera; set "
                "options.allow_file_sources = true only for a test or demonstration kit"
            )
        if fourcc is not None and len(fourcc) != 4:
            raise ValueError(f"fourcc must be 4 characters, got {fourcc!r}")
        self.requested_width = width
        self.requested_height = height
        self.requested_fourcc = fourcc
        self.requested_fps = fps
        self.min_width = self.default_min_size[0] if min_width is None else int(min_width)
        self.min_height = self.default_min_size[1] if min_height is None else int(min_height)
        self.controls: dict[str, ControlSetting] = {
            "exposure": _control_setting("exposure", exposure),
            "focus": _control_setting("focus", focus),
            "white_balance": _control_setting("white_balance", white_balance),
        }
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
        self.offered_modes: tuple[CameraMode, ...] = ()
        self.applied_controls: dict[str, float | str] = {}
        self.unsupported_controls: tuple[str, ...] = ()
        self._capture: cv2.VideoCapture | None = None

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
        """Open the source in a mode that meets the minimum, apply the controls, read back what
        it granted."""
        self.close()
        capture, model = self._open_v4l2() if self._kind == _V4L2 else self._open_other()
        ok, frame = capture.read()
        if not ok or frame is None:
            capture.release()
            raise DeviceUnavailable(
                f"camera source {self.port} gave no frame", code=self.unavailable_code
            )
        self._read_back(capture, frame)
        if not self._meets_minimum(self.width, self.height):
            capture.release()
            granted = f"{self.width}x{self.height}"
            self._below_minimum(
                describe_modes(self.offered_modes) if self.offered_modes else granted
            )
        self._capture = capture
        self.identity = DeviceIdentity(
            vendor=self.vendor,
            model=self.model or model,
            firmware=f"{self.backend_name} {self.width}x{self.height} {self.fourcc} "
            f"{self.fps:g} fps".strip(),
            transport="uvc" if self._kind == _V4L2 else self._kind,
            port=self.port,
            mode={
                "fourcc": self.fourcc,
                "image_size": f"{self.width}x{self.height}",
                "fps": f"{self.fps:g}",
            },
        )
        self.status = DeviceStatus.READY

    def close(self) -> None:
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.release()
        self.status = DeviceStatus.DISCONNECTED

    def present(self) -> bool:
        """Whether the source answers: the video node opens, the file exists, the stream
        accepts."""
        return source_present(self.port, backend=self.backend)

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

    # -- opening ----------------------------------------------------------------------------
    def _minimum_frame(self) -> tuple[int, int]:
        return self.min_width, self.min_height

    def _meets_minimum(self, width: int, height: int) -> bool:
        min_width, min_height = self._minimum_frame()
        return width >= min_width and height >= min_height

    def _below_minimum(self, offered: str) -> NoReturn:
        min_width, min_height = self._minimum_frame()
        raise DeviceUnavailable(
            f"camera {self.port} offers no mode of at least {min_width}x{min_height}: {offered}",
            code=MODE_BELOW_MINIMUM_CODE,
            camera=self.device_id,
            minimum=f"{min_width}x{min_height}",
            offered=offered,
        )

    def _open_v4l2(self) -> tuple[cv2.VideoCapture, str]:
        text = self.port.strip()
        node = (
            f"/dev/video{text}"
            if text.isdigit()
            else resolve_video_device(text, self.unavailable_code)
        )
        try:
            camera = query_camera(node)
        except OSError as error:
            raise DeviceUnavailable(
                f"cannot open V4L2 node {node}: {error}", code=self.unavailable_code
            ) from None
        self.offered_modes = camera.modes
        min_width, min_height = self._minimum_frame()
        mode = choose_mode(
            camera.modes,
            width=self.requested_width or min_width,
            height=self.requested_height or min_height,
            fourcc=self.requested_fourcc,
            fps=self.requested_fps or _DEFAULT_FPS,
            min_width=min_width,
            min_height=min_height,
        )
        if mode is None:
            self._below_minimum(describe_modes(camera.modes))
        wanted = (self.requested_width, self.requested_height)
        if all(wanted) and wanted != (mode.width, mode.height):
            log.warning(
                "camera %s (%s) does not offer %dx%d; using %s (it offers %s)",
                self.device_id,
                node,
                *wanted,
                mode,
                describe_modes(camera.modes),
            )
        source = int(self.port.strip()) if self.port.strip().isdigit() else node
        capture = cv2.VideoCapture(source, cv2.CAP_V4L2)
        if not capture.isOpened():
            capture.release()
            raise DeviceUnavailable(f"cannot open camera {node}", code=self.unavailable_code)
        capture.set(cv2.CAP_PROP_MODE, 0)  # control values in V4L2 units, not scaled to 0..1
        capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*mode.fourcc))
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, mode.width)
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, mode.height)
        if mode.fps:
            capture.set(cv2.CAP_PROP_FPS, mode.fps)
        self._apply_controls(capture)
        return capture, camera.card or self.default_model

    def _open_other(self) -> tuple[cv2.VideoCapture, str]:
        params: list[int] = []
        if self._kind == _STREAM and self.backend in ("any", "ffmpeg"):
            params = [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                int(self.open_timeout * 1000),
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                int(self.read_timeout * 1000),
            ]
        backend = _BACKENDS[self.backend]
        if self._kind == _STREAM and self.backend == "any":
            backend = cv2.CAP_FFMPEG  # the backend that takes the timeouts
        capture = cv2.VideoCapture(self.port.strip(), backend, params)
        if not capture.isOpened():
            capture.release()
            raise DeviceUnavailable(
                f"cannot open camera source {self.port}", code=self.unavailable_code
            )
        self.offered_modes = ()
        self.unsupported_controls = tuple(
            name for name, setting in self.controls.items() if setting is not None
        )
        if self.unsupported_controls:
            log.warning(
                "camera %s (%s): %s cannot be set on a %s source",
                self.device_id,
                self.port,
                ", ".join(self.unsupported_controls),
                self._kind,
            )
        return capture, self.default_model

    def _apply_controls(self, capture: cv2.VideoCapture) -> None:
        applied: dict[str, float | str] = {}
        unsupported = []
        for name, setting in self.controls.items():
            if setting is None:
                continue
            control = _CONTROLS[name]
            if setting == "auto":
                if capture.set(control.auto_property, control.auto_on):
                    applied[name] = "auto"
                else:
                    unsupported.append(name)
                continue
            # A camera without the automatic mode is always manual: that set may fail.
            capture.set(control.auto_property, control.auto_off)
            if capture.set(control.value_property, float(setting) * control.units_per_option):
                applied[name] = capture.get(control.value_property) / control.units_per_option
            else:
                unsupported.append(name)
        self.applied_controls = applied
        self.unsupported_controls = tuple(unsupported)
        if unsupported:
            log.warning(
                "camera %s (%s) has no %s control",
                self.device_id,
                self.port,
                ", ".join(unsupported),
            )

    def _read_back(self, capture: cv2.VideoCapture, frame: np.ndarray) -> None:
        self.backend_name = capture.getBackendName()
        self.height, self.width = frame.shape[:2]
        self.fourcc = _fourcc_text(capture.get(cv2.CAP_PROP_FOURCC)) or self.fourcc
        self.fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0) or self.fps
        if self.fps < 0:
            self.fps = 0.0

    # -- frames -----------------------------------------------------------------------------
    def _fresh_frame(self, deadline: float) -> np.ndarray | None:
        """A frame from the live edge (frames that were already queued are skipped); None when
        the deadline passed while skipping."""
        capture = self._capture
        if capture is None:
            self._lost("not open")
        if self._kind == _FILE:
            if not capture.grab():
                self._lost("no more frames")
        elif not self._grab_live(capture, deadline):
            return None
        ok, frame = capture.retrieve()
        if not ok or frame is None:
            self._lost("frame could not be decoded")
        return frame

    def _grab_live(self, capture: cv2.VideoCapture, deadline: float) -> bool:
        """Grab until the grabbed frame is fresh; False when the deadline passed first."""
        period = 1.0 / self.fps if self.fps > 0 else 1.0 / 30
        for _ in range(_MAX_STALE_SKIPS):
            started = time.monotonic()
            if not capture.grab():
                self._lost("the source stopped sending frames")
            if self._is_fresh(capture, started, period):
                return True
            if time.monotonic() >= deadline:
                return False
        return True

    def _is_fresh(self, capture: cv2.VideoCapture, grab_started: float, period: float) -> bool:
        """A V4L2 frame is fresh when its buffer time is at most two frame periods old; any
        frame is when its grab had to wait for it (queued frames come back at once)."""
        now = time.monotonic()
        if self._kind == _V4L2:
            age = now - capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if abs(age) < _TIMESTAMP_SANE_S:
                return age <= 2 * period
        return now - grab_started >= period * 0.3

    def _lost(self, detail: str) -> NoReturn:
        self.close()
        raise DeviceUnavailable(f"camera {self.port}: {detail}", code=self.unavailable_code)


class FaceCamera(OpenCvCamera):
    """The face camera: ``capture()`` returns a uint8 BGR frame."""

    driver_name = "face-camera"
    modality = Modality.FACE
    positions = (Position.FACE,)
    unavailable_code = FACE_UNAVAILABLE_CODE
    default_min_size = FACE_MIN_SIZE

    def _shape(self, frame: np.ndarray, position: str | None) -> np.ndarray:
        if frame.ndim == 2:
            return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        return frame


class IrisCamera(OpenCvCamera):
    """A two-eye NIR camera: frames show both eyes side by side.

    The subject's right eye appears on the image's left, so ``position="right_eye"`` returns
    the left half and ``"left_eye"`` the right half, as uint8 grey; no position: the whole
    frame in grey. ``min_width``/``min_height`` are per eye (each half of the frame).
    """

    driver_name = "iris-camera"
    modality = Modality.IRIS
    positions = EYES
    unavailable_code = IRIS_UNAVAILABLE_CODE
    default_min_size = IRIS_EYE_MIN_SIZE
    default_model = "dual iris camera"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            modality=Modality.IRIS,
            positions=self.positions,
            width=self.width // 2,
            height=self.height,
            live_preview=True,
        )

    def _minimum_frame(self) -> tuple[int, int]:
        return 2 * self.min_width, self.min_height

    def _shape(self, frame: np.ndarray, position: str | None) -> np.ndarray:
        grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        middle = grey.shape[1] // 2
        if position == Position.RIGHT_EYE:
            return np.ascontiguousarray(grey[:, :middle])
        if position == Position.LEFT_EYE:
            return np.ascontiguousarray(grey[:, middle:])
        return grey
