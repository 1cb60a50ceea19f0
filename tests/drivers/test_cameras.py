"""Face and iris cameras through OpenCV, against the kit's MJPEG-over-HTTP cameras."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from drivers.base import DeviceStatus, Modality
from drivers.camera import MODE_BELOW_MINIMUM_CODE, FaceCamera, IrisCamera
from drivers.errors import DeviceUnavailable
from drivers.registry import create_device
from simulator.kit import FACE_ID, IRIS_ID, empty_face_scene

pytestmark = pytest.mark.timeout(30)

MAX_FRAMES = 45


def spec_of(kit, device_id: str) -> dict:
    return next(spec for spec in kit.device_specs() if spec["id"] == device_id)


@pytest.fixture
def face(kit):
    camera = create_device(spec_of(kit, FACE_ID))
    camera.open()
    try:
        yield camera
    finally:
        camera.close()


@pytest.fixture
def iris(kit):
    camera = create_device(spec_of(kit, IRIS_ID))
    camera.open()
    try:
        yield camera
    finally:
        camera.close()


def distance(frame: np.ndarray, expected: np.ndarray) -> float:
    return float(np.mean(np.abs(frame.astype(np.int16) - expected.astype(np.int16))))


def test_properties_are_read_back(face) -> None:
    assert isinstance(face, FaceCamera)
    assert (face.width, face.height) == (640, 480)
    assert face.fourcc == "MJPG"
    assert face.fps > 0
    assert face.backend_name == "FFMPEG"
    caps = face.capabilities
    assert caps.modality == Modality.FACE and caps.live_preview
    assert (caps.width, caps.height) == (640, 480)
    assert "640x480" in face.identity.firmware
    assert face.status == DeviceStatus.READY


def test_face_frames_show_the_resident_and_follow_a_switch(face, kit, make_resident) -> None:
    first = kit.resident
    frame = face.capture(timeout=3)
    assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
    assert distance(frame, first.face_frame(640, 480, 0)) < 6

    second = make_resident(seed=99)
    kit.present(second)
    expected = second.face_frame(640, 480, 0)
    cancel = threading.Event()
    switched = False
    for count, live in enumerate(face.frames(cancel=cancel, timeout=3)):
        if distance(live, expected) < 6:
            switched = True
            break
        if count >= MAX_FRAMES:
            break
    cancel.set()
    assert switched
    now = face.capture(timeout=3)
    assert distance(now, first.face_frame(640, 480, 0)) > distance(now, expected) + 5


def test_nobody_at_the_kit_shows_an_empty_scene(face, kit) -> None:
    kit.present(None)
    empty = empty_face_scene(640, 480)
    for _ in range(MAX_FRAMES):
        frame = face.capture(timeout=3)
        if distance(frame, empty) < 4:
            break
    assert distance(frame, empty) < 4


def test_iris_halves_are_the_two_eyes(iris, kit) -> None:
    assert isinstance(iris, IrisCamera)
    assert (iris.width, iris.height) == (1280, 480)
    assert iris.capabilities.modality == Modality.IRIS
    assert iris.capabilities.width == 640
    right_level, left_level = kit.resident.eye_levels
    right = iris.capture(timeout=3, position="right_eye")
    left = iris.capture(timeout=3, position="left_eye")
    assert right.shape == left.shape == (480, 640)
    assert right.ndim == 2 and right.dtype == np.uint8
    assert abs(float(right.mean()) - right_level) < 4
    assert abs(float(left.mean()) - left_level) < 4
    assert iris.capture(timeout=3).shape == (480, 1280)
    with pytest.raises(ValueError):
        iris.capture(timeout=3, position="face")


def test_unplugged_camera_is_unavailable_then_recovers(face, kit) -> None:
    kit.unplug(FACE_ID)
    with pytest.raises(DeviceUnavailable) as caught:
        for _ in range(MAX_FRAMES):
            face.capture(timeout=3)
    message = caught.value.message
    assert "camera" in message.render("en") and "Kamera" in message.render("id")
    assert face.status == DeviceStatus.DISCONNECTED
    kit.plug(FACE_ID)
    frame = face.capture(timeout=3)
    assert distance(frame, kit.resident.face_frame(640, 480, 0)) < 6


def test_image_sequence_source(tmp_path) -> None:
    for index in range(3):
        frame = np.full((120, 160, 3), 50 * (index + 1), dtype=np.uint8)
        cv2.imwrite(str(tmp_path / f"frame{index:03d}.png"), frame)
    camera = FaceCamera(
        "face-file",
        str(tmp_path / "frame%03d.png"),
        min_width=0,
        min_height=0,
        allow_file_sources=True,
    )
    camera.open()
    try:
        assert (camera.width, camera.height) == (160, 120)
        levels = [int(camera.capture(timeout=1).mean()) for _ in range(2)]
        assert levels == [100, 150]  # the first frame was read while opening
        with pytest.raises(DeviceUnavailable):
            camera.capture(timeout=1)  # the sequence has ended
    finally:
        camera.close()


def test_a_source_below_the_standard_minimum_is_refused(tmp_path) -> None:
    cv2.imwrite(str(tmp_path / "frame000.png"), np.full((120, 160, 3), 90, dtype=np.uint8))
    camera = FaceCamera("face-small", str(tmp_path / "frame%03d.png"), allow_file_sources=True)
    with pytest.raises(DeviceUnavailable) as caught:
        camera.open()
    assert caught.value.code == MODE_BELOW_MINIMUM_CODE
    assert caught.value.params == {
        "camera": "face-small",
        "minimum": "315x420",
        "offered": "160x120",
    }
    assert camera.status == DeviceStatus.DISCONNECTED


def test_missing_source_is_unavailable(tmp_path) -> None:
    camera = FaceCamera(
        "face-x", str(tmp_path / "absent.mjpg"), open_timeout=1, allow_file_sources=True
    )
    with pytest.raises(DeviceUnavailable):
        camera.open()
    assert camera.status == DeviceStatus.DISCONNECTED
