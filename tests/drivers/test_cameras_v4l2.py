"""Face and iris cameras through OpenCV's own V4L2 backend, against an emulated UVC device.

The device is an LD_PRELOAD shim (tests/v4l2_shim/v4l2_shim.c) answering the V4L2 ioctls that
cap_v4l.cpp issues; the driver runs in a child process with the shim preloaded. What the shim
records (streamed format, controls set, dequeued buffers) is checked besides what the driver
reports, and the ioctl numbers and struct sizes the driver uses are checked against the
kernel's own header.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from emulated_v4l2 import EmulatedCamera, Mode, build_shim, frame_level, frame_number

from drivers import v4l2
from drivers.camera import FACE_MIN_SIZE, MODE_BELOW_MINIMUM_CODE
from drivers.v4l2 import CameraMode, choose_mode

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler (.ci/setup-system)"),
]

NODE = "/dev/video63"  # opened through the shim; no real node of that number is touched
BY_ID = "usb-Rekam_Emulated_Camera_0001-video-index0"
UVC_CONTROLS = {  # ranges of a common UVC webcam (uvcvideo's mapping of the UVC controls)
    "exposure_auto": (0, 3, 1, 3),
    "exposure_absolute": (3, 2047, 1, 250),
    "white_balance_auto": (0, 1, 1, 1),
    "white_balance_temperature": (2800, 6500, 10, 4600),
}


@pytest.fixture(scope="session")
def shim(tmp_path_factory) -> Path:
    return build_shim(tmp_path_factory.mktemp("v4l2-shim"))


@pytest.fixture
def camera(shim, tmp_path) -> EmulatedCamera:
    """A face camera offering MJPG 1280x720 and 640x480 at 30 fps and YUYV at 10 and 30."""
    return EmulatedCamera(
        root=tmp_path,
        shim=shim,
        paths=[NODE, str(tmp_path / "dev" / "video63")],
        modes=[
            Mode("YUYV", 640, 480, (30, 15)),
            Mode("YUYV", 1280, 720, (10,)),
            Mode("MJPG", 640, 480, (30,)),
            Mode("MJPG", 1280, 720, (30, 15)),
        ],
        controls=dict(UVC_CONTROLS),
        card="Rekam Emulated Face",
    )


def udev_links(root: Path) -> dict[str, str]:
    """by-id (absolute target) and by-path (relative target, as udev writes) links to video63."""
    by_id = root / "dev" / "v4l" / "by-id"
    by_path = root / "dev" / "v4l" / "by-path"
    by_id.mkdir(parents=True)
    by_path.mkdir(parents=True)
    (by_id / BY_ID).symlink_to(NODE)
    (by_path / "pci-0000:00:14.0-usb-0:1:1.0-video-index0").symlink_to("../../video63")
    return {"by-id": str(by_id / BY_ID), "by-path": str(next(by_path.iterdir()))}


# -- against the kernel's header ------------------------------------------------------------
def test_ioctl_numbers_and_struct_sizes_match_the_kernel_header(tmp_path) -> None:
    program = tmp_path / "sizes.c"
    program.write_text(
        "#include <stdio.h>\n#include <linux/videodev2.h>\n"
        'int main(void) { printf("%lu %lu %lu %lu %zu %zu %zu %zu\\n",'
        " (unsigned long)VIDIOC_QUERYCAP, (unsigned long)VIDIOC_ENUM_FMT,"
        " (unsigned long)VIDIOC_ENUM_FRAMESIZES, (unsigned long)VIDIOC_ENUM_FRAMEINTERVALS,"
        " sizeof(struct v4l2_capability), sizeof(struct v4l2_fmtdesc),"
        " sizeof(struct v4l2_frmsizeenum), sizeof(struct v4l2_frmivalenum)); return 0; }\n"
    )
    subprocess.run(["cc", "-o", str(tmp_path / "sizes"), str(program)], check=True, timeout=60)
    printed = subprocess.run([str(tmp_path / "sizes")], capture_output=True, text=True, check=True)
    assert [int(value) for value in printed.stdout.split()] == [
        v4l2.VIDIOC_QUERYCAP,
        v4l2.VIDIOC_ENUM_FMT,
        v4l2.VIDIOC_ENUM_FRAMESIZES,
        v4l2.VIDIOC_ENUM_FRAMEINTERVALS,
        v4l2._CAPABILITY.size,
        v4l2._FMTDESC.size,
        v4l2._FRMSIZE.size,
        v4l2._FRMIVAL.size,
    ]


# -- opening by every kind of port ----------------------------------------------------------
@pytest.mark.parametrize("kind", ["index", "node", "by-id", "by-path"])
def test_opens_through_the_v4l2_backend_by_every_port_kind(camera, tmp_path, kind) -> None:
    links = udev_links(tmp_path)
    port = {"index": "63", "node": NODE, **links}[kind]
    # a link into a folder other than /dev needs the backend named; /dev/v4l/... does not
    options = {"backend": "v4l2"} if kind == "by-path" else {}
    seen = camera.run("face-camera", port, width=640, height=480, fourcc="MJPG", **options)
    assert "error" not in seen, seen
    assert seen["present"]
    assert seen["backend"] == "V4L2"
    assert seen["model"] == "Rekam Emulated Face"  # VIDIOC_QUERYCAP's card name
    assert (seen["width"], seen["height"], seen["fourcc"], seen["fps"]) == (640, 480, "MJPG", 30)
    assert seen["shapes"] == [[480, 640, 3]]
    assert 0 <= frame_number(seen["levels"][0]) < 30
    assert abs(seen["levels"][0] - frame_level(frame_number(seen["levels"][0]))) < 2
    assert camera.log_lines("STREAMON")[-1] == ["MJPG", "640x480", "30"]


def test_an_absent_node_is_neither_present_nor_opened(camera) -> None:
    seen = camera.run("face-camera", "/dev/video62")
    assert not seen["present"]
    assert seen["error"]["code"] == "DEVICE_FACE_CAMERA_NO_PICTURE"


# -- the negotiated mode --------------------------------------------------------------------
def test_the_configured_mode_is_taken_when_offered(camera) -> None:
    seen = camera.run("face-camera", "63", width=640, height=480, fourcc="YUYV", fps=15)
    assert (seen["width"], seen["height"], seen["fourcc"], seen["fps"]) == (640, 480, "YUYV", 15)
    assert camera.log_lines("STREAMON")[-1] == ["YUYV", "640x480", "15"]
    assert abs(seen["levels"][0] - frame_level(frame_number(seen["levels"][0]))) < 2
    assert "YUYV 1280x720@10" in seen["offered"] and "MJPG 1280x720@30" in seen["offered"]


def test_the_smallest_larger_mode_at_full_rate_when_the_size_is_not_offered(camera) -> None:
    # 800x600 is not offered: 1280x720 covers it; YUYV has it only at 10 fps, MJPG at 30.
    seen = camera.run("face-camera", "63", width=800, height=600, fourcc="YUYV", fps=30)
    assert (seen["width"], seen["height"], seen["fourcc"], seen["fps"]) == (1280, 720, "MJPG", 30)
    assert camera.log_lines("STREAMON")[-1] == ["MJPG", "1280x720", "30"]
    assert seen["shapes"] == [[720, 1280, 3]]
    assert "does not offer 800x600; using MJPG 1280x720@30" in seen["stderr"]


@pytest.mark.parametrize(
    ("driver", "minimum"), [("face-camera", "315x420"), ("iris-camera", "480x180")]
)
def test_a_camera_below_the_standard_minimum_is_refused_naming_its_modes(
    camera, driver, minimum
) -> None:
    camera.modes = [Mode("YUYV", 320, 240, (30,)), Mode("MJPG", 160, 120, (30, 15))]
    seen = camera.run(driver, "63")
    error = seen["error"]
    assert error["code"] == MODE_BELOW_MINIMUM_CODE
    assert error["params"]["minimum"] == minimum
    assert error["params"]["offered"] == "YUYV 320x240@30, MJPG 160x120@30, MJPG 160x120@15"
    assert minimum in error["en"] and "YUYV 320x240@30" in error["en"]
    assert minimum in error["id"] and "Kamera" in error["id"]
    assert camera.log_lines("STREAMON") == []  # refused before streaming


def test_iris_halves_follow_the_granted_mode(camera) -> None:
    # 1280x480 is not offered: the covering 1280x720 is chosen, and each eye is 640x720.
    seen = camera.run("iris-camera", "63", width=1280, height=480, fourcc="MJPG")
    assert (seen["width"], seen["height"], seen["eye_width"]) == (1280, 720, 640)
    assert seen["model"] == "Rekam Emulated Face"


# -- controls -------------------------------------------------------------------------------
def test_manual_controls_are_set_in_v4l2_units_and_missing_ones_reported(camera) -> None:
    seen = camera.run("face-camera", "63", exposure=8, white_balance=9000, focus=40)
    set_controls = camera.log_lines("S_CTRL")
    assert set_controls == [
        ["exposure_auto", "1"],  # V4L2_EXPOSURE_MANUAL before the value
        ["exposure_absolute", "80"],  # 8 ms in 100 us units
        ["white_balance_auto", "0"],
        ["white_balance_temperature", "6500"],  # clamped by the device to its maximum
    ]
    assert seen["applied"] == {"exposure": 8.0, "white_balance": 6500.0}  # read back (G_CTRL)
    assert seen["unsupported"] == ["focus"]
    assert "has no focus control" in seen["stderr"]


def test_automatic_controls(camera) -> None:
    seen = camera.run("face-camera", "63", exposure="auto", white_balance="auto")
    assert camera.log_lines("S_CTRL") == [["exposure_auto", "3"], ["white_balance_auto", "1"]]
    assert seen["applied"] == {"exposure": "auto", "white_balance": "auto"}
    assert seen["unsupported"] == []


# -- live edge ------------------------------------------------------------------------------
def test_a_capture_after_a_stall_is_the_newest_frame(camera) -> None:
    seen = camera.run("face-camera", "63", width=640, height=480, fourcc="MJPG", stalls=(0, 0.6))
    dequeued = [(int(sequence), int(newest)) for sequence, newest in camera.log_lines("DQBUF")]
    last_sequence, newest = dequeued[-1]
    assert last_sequence == newest  # no newer frame existed when it was handed over
    assert frame_number(seen["levels"][-1]) == last_sequence % 30
    # the stall left older frames in the driver's queue, and they were skipped
    assert any(sequence < newest - 1 for sequence, newest in dequeued[-5:-1])


# -- choosing a mode (no device) ------------------------------------------------------------
OFFERED = (
    CameraMode("YUYV", 640, 480, 30.0),
    CameraMode("YUYV", 1920, 1080, 5.0),
    CameraMode("MJPG", 1920, 1080, 30.0),
    CameraMode("MJPG", 1280, 720, 60.0),
    CameraMode("MJPG", 1280, 720, 30.0),
    CameraMode("H264", 1920, 1080, 30.0),
)


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        ((1920, 1080, "YUYV", 30.0), CameraMode("MJPG", 1920, 1080, 30.0)),  # YUYV too slow
        ((1920, 1080, "YUYV", 5.0), CameraMode("YUYV", 1920, 1080, 5.0)),
        ((1280, 720, None, 25.0), CameraMode("MJPG", 1280, 720, 30.0)),  # slowest fast enough
        ((1024, 768, "MJPG", 30.0), CameraMode("MJPG", 1920, 1080, 30.0)),  # smallest covering
        ((4000, 3000, None, 30.0), CameraMode("MJPG", 1920, 1080, 30.0)),  # largest below
    ],
)
def test_choose_mode(wanted, expected) -> None:
    width, height, fourcc, fps = wanted
    chosen = choose_mode(
        OFFERED, width=width, height=height, fourcc=fourcc, fps=fps, min_width=315, min_height=420
    )
    assert chosen == expected


def test_choose_mode_finds_nothing_below_the_minimum() -> None:
    small = (CameraMode("YUYV", 320, 240, 30.0), CameraMode("H264", 1920, 1080, 30.0))
    min_width, min_height = FACE_MIN_SIZE
    assert (
        choose_mode(
            small,
            width=640,
            height=480,
            fourcc=None,
            fps=25,
            min_width=min_width,
            min_height=min_height,
        )
        is None
    )


def test_a_node_of_another_kind_is_no_capture_device(tmp_path) -> None:
    plain = tmp_path / "not-a-camera"
    plain.write_bytes(b"")
    with pytest.raises(v4l2.NotACaptureDevice):
        v4l2.query_camera(str(plain))
    assert not v4l2.node_opens(str(tmp_path / "absent"))
    assert os.path.exists(plain)
