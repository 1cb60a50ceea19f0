"""A whole simulated recording kit: fingerprint scanner, signature pad, face and iris cameras.

Every device sits behind the transport its real counterpart uses (pty serial lines, MJPEG over
HTTP on 127.0.0.1) and shows the resident who currently stands at the kit::

    with SimulatedKit() as kit:
        kit.present(resident)
        kit.ask_for("right_index")       # the resident puts that finger on the glass
        specs = kit.device_specs()       # what the daemon's configuration would hold
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from domain.vocabulary import EYES, Position
from simulator.devices.isdv4 import PEN_ONLY_19200, SimulatedIsdv4Pad
from simulator.devices.mjpeg import MjpegCameraServer
from simulator.devices.r30x import SimulatedR30x
from simulator.devices.vcom5s_usb import SimulatedVcom5s
from simulator.resident import FINGER_POSITIONS, SimulatedResident

FINGERPRINT_ID = "fingerprint-0"
USB_FINGERPRINT_ID = "fingerprint-usb-0"
SIGNATURE_ID = "signature-0"
FACE_ID = "face-camera-0"
IRIS_ID = "iris-camera-0"

FACE_SIZE = (640, 480)
IRIS_SIZE = (1280, 480)
EYE_POSITIONS = tuple(EYES)
POSITION_CODES = {name: code for code, name in FINGER_POSITIONS.items()}


class _SimulatedDevice(Protocol):
    @property
    def connected(self) -> bool: ...
    def start(self) -> None: ...
    def stop(self, timeout: float = ...) -> None: ...
    def set_fault(self, name: str, **params: Any) -> None: ...
    def clear_faults(self) -> None: ...


def empty_face_scene(width: int, height: int) -> np.ndarray:
    """The face camera's view with nobody in front: a plain, evenly lit backdrop."""
    rows = np.linspace(0.9, 1.0, height, dtype=np.float32)[:, None, None]
    wall = np.array([200, 190, 185], dtype=np.float32)[None, None, :]
    return np.broadcast_to(rows * wall, (height, width, 3)).astype(np.uint8)


def empty_iris_scene(width: int, height: int) -> np.ndarray:
    """The iris camera's view with nobody in front: dark NIR background."""
    return np.full((height, width), 18, dtype=np.uint8)


class SimulatedKit:
    """Starts every simulated device and plays the resident standing at the kit.

    ``pace_serial`` paces the serial lines at their baud rate (off: as fast as the pty goes);
    ``signature_speed`` replays signatures faster than real time; ``camera_fps`` is the rate
    of both MJPEG streams.
    """

    def __init__(
        self,
        resident: SimulatedResident | None = None,
        *,
        pace_serial: bool = False,
        signature_speed: float = 1.0,
        camera_fps: float = 30.0,
        start: bool = True,
    ) -> None:
        self._lock = threading.RLock()
        self._resident: SimulatedResident | None = None
        self._presence = 0
        self._finger: int | None = None
        self._attempts: dict[int, int] = {}
        self._finger_cache: dict[tuple[int, int, int], np.ndarray | None] = {}
        self.signature_speed = signature_speed
        self.workdir = Path(tempfile.mkdtemp(prefix="rekam-kit-"))
        self.fingerprint = SimulatedR30x(
            self._finger_on_platen,
            link_path=self.workdir / "ttyR30x-0",
            pace=pace_serial,
        )
        self.usb_fingerprint = SimulatedVcom5s(
            self._finger_on_platen, serial=f"V5S-{self.workdir.name[-8:]}"
        )
        self.signature_pad = SimulatedIsdv4Pad(
            self._signature_strokes,
            model=PEN_ONLY_19200,
            link_path=self.workdir / "ttyISDV4-0",
            pace=pace_serial,
            speed=signature_speed,
        )
        self.face_camera = MjpegCameraServer(
            self._face_frame, self._scene, fps=camera_fps, name=FACE_ID
        )
        self.iris_camera = MjpegCameraServer(
            self._iris_frame, self._scene, fps=camera_fps, name=IRIS_ID
        )
        self.devices: dict[str, _SimulatedDevice] = {
            FINGERPRINT_ID: self.fingerprint,
            USB_FINGERPRINT_ID: self.usb_fingerprint,
            SIGNATURE_ID: self.signature_pad,
            FACE_ID: self.face_camera,
            IRIS_ID: self.iris_camera,
        }
        self._started = False
        self.present(resident)
        if start:
            self.start()

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Plug every device in."""
        if self._started:
            return
        try:
            for device in self.devices.values():
                device.start()
        except BaseException:
            self.close()
            raise
        self._started = True

    def close(self) -> None:
        """Unplug everything and remove the kit's temporary files. Safe to call twice."""
        for device in self.devices.values():
            device.stop()
        self.usb_fingerprint.detach()
        self._started = False
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> SimulatedKit:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- configuration ----------------------------------------------------------------------
    def device_specs(self) -> list[dict[str, Any]]:
        """One spec per device, as the daemon's configuration would hold real devices."""
        pen_options: dict[str, Any] = {
            "baudrate": self.signature_pad.baudrate,
            "report_hz": self.signature_pad.report_hz,
        }
        if self.signature_speed > 1:
            pen_options["pen_away_s"] = max(0.25, 1.0 / self.signature_speed)
        return [
            {
                "id": FINGERPRINT_ID,
                "driver": "r30x",
                "port": self.fingerprint.port,
                "options": {"baudrate": self.fingerprint.baudrate},
            },
            {
                "id": USB_FINGERPRINT_ID,
                "driver": "vcom5s",
                "port": self.usb_fingerprint.port,
                "options": {"usb_backend": "simulator.devices.vcom5s_usb"},
            },
            {
                "id": SIGNATURE_ID,
                "driver": "isdv4",
                "port": self.signature_pad.port,
                "options": pen_options,
            },
            {
                "id": FACE_ID,
                "driver": "face-camera",
                "port": self.face_camera.url,
                "options": {
                    "width": FACE_SIZE[0],
                    "height": FACE_SIZE[1],
                    "fps": self.face_camera.fps,
                    "backend": "ffmpeg",
                    "allow_file_sources": True,  # the simulated camera is an MJPEG stream
                },
            },
            {
                "id": IRIS_ID,
                "driver": "iris-camera",
                "port": self.iris_camera.url,
                "options": {
                    "width": IRIS_SIZE[0],
                    "height": IRIS_SIZE[1],
                    "fps": self.iris_camera.fps,
                    "backend": "ffmpeg",
                    "allow_file_sources": True,  # the simulated camera is an MJPEG stream
                },
            },
        ]

    # -- the resident -----------------------------------------------------------------------
    @property
    def resident(self) -> SimulatedResident | None:
        return self._resident

    @property
    def finger(self) -> int | None:
        """The ANSI position of the finger on the platen (None: lifted)."""
        return self._finger

    def attempts(self, position: int) -> int:
        """How many times the finger at ``position`` was placed for the current resident."""
        return self._attempts.get(position, 0)

    def present(self, resident: SimulatedResident | None) -> None:
        """Who stands at the kit (None: nobody). Lifts any finger and resets attempts."""
        with self._lock:
            self._resident = resident
            self._presence += 1
            self._finger = None
            self._attempts = {}
            self._finger_cache = {}

    def place_finger(self, position: int | None) -> None:
        """Put the finger with ANSI code 1..10 on the platen; None lifts it."""
        if position is not None and position not in FINGER_POSITIONS:
            raise ValueError(f"finger position must be 1..10, got {position!r}")
        with self._lock:
            self._finger = position
            if position is not None:
                self._attempts[position] = self._attempts.get(position, 0) + 1

    def ask_for(self, position: str) -> None:
        """The operator asks the resident for ``position``; the simulated resident obeys."""
        if position in POSITION_CODES:
            self.place_finger(POSITION_CODES[position])
        elif position == Position.SIGNATURE:
            self.place_finger(None)
            if self._resident is not None:
                self.signature_pad.arm()
        elif position in (*EYE_POSITIONS, "face"):
            self.place_finger(None)
        else:
            raise ValueError(f"unknown position {position!r}")

    # -- faults -----------------------------------------------------------------------------
    def unplug(self, device_id: str) -> None:
        self._device(device_id).stop()

    def plug(self, device_id: str) -> None:
        self._device(device_id).start()

    def set_fault(self, device_id: str, name: str, **params: Any) -> None:
        """Inject a fault, e.g. ("fingerprint-0", "corrupt_checksum", times=1).

        The name "clear" removes every fault of the device. Faults per device:
        ``fingerprint-0`` no_finger, corrupt_checksum, truncate, garbage, unplug_mid_transfer,
        sensor_error, timeout, slow_link, dirty_platen; ``fingerprint-usb-0`` short_read,
        timeout, unplug_mid_transfer, dirty_platen, slow_link; ``signature-0`` no_pen,
        unplug_mid_signature, silent, slow_link, eraser; cameras dark, blur, stall, slow_link.
        """
        if name == "clear":
            self.clear_faults(device_id)
            return
        self._device(device_id).set_fault(name, **params)

    def clear_faults(self, device_id: str) -> None:
        self._device(device_id).clear_faults()

    def is_plugged(self, device_id: str) -> bool:
        """Whether the simulated device is plugged in."""
        return self._device(device_id).connected

    def _device(self, device_id: str) -> _SimulatedDevice:
        try:
            return self.devices[device_id]
        except KeyError:
            raise KeyError(
                f"unknown device {device_id!r}; the kit has {', '.join(self.devices)}"
            ) from None

    # -- what the devices show --------------------------------------------------------------
    def _finger_on_platen(self) -> np.ndarray | None:
        with self._lock:
            resident, position = self._resident, self._finger
            if resident is None or position is None:
                return None
            key = (self._presence, position, self._attempts.get(position, 1))
            if key not in self._finger_cache:
                self._finger_cache[key] = resident.fingerprint(position, key[2])
            return self._finger_cache[key]

    def _signature_strokes(self) -> list[list[tuple[float, float, float]]]:
        resident = self._resident
        return resident.signature() if resident is not None else []

    def _scene(self) -> int:
        return self._presence

    def _face_frame(self, index: int) -> np.ndarray:
        resident = self._resident
        if resident is None:
            return empty_face_scene(*FACE_SIZE)
        return resident.face_frame(FACE_SIZE[0], FACE_SIZE[1], index)

    def _iris_frame(self, index: int) -> np.ndarray:
        resident = self._resident
        if resident is None:
            return empty_iris_scene(*IRIS_SIZE)
        return resident.iris_frame(IRIS_SIZE[0], IRIS_SIZE[1], index)
