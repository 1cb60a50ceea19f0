"""Port resolution against a real sysfs layout: USB serial adapters and UVC cameras emulated by
umockdev (``umockdev-run --device X.umockdev``), read by pyserial's own ``list_ports`` and by
``drivers.usb_identity``, in a subprocess that sees the emulated /sys and /dev."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sysfs_tree import SerialAdapter, UsbCamera, umockdev_file

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(shutil.which("umockdev-run") is None, reason="umockdev is not installed"),
]

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("sysfs_resolve.py")

# Two identical CP2102 adapters without serial numbers on hub ports 1-1.2 and 1-1.10, one with
# a serial number on 1-1.3; the kernel numbered them ttyUSB10, ttyUSB2, ttyUSB3.
TWINS = (SerialAdapter("ttyUSB10", "1-1.2"), SerialAdapter("ttyUSB2", "1-1.10"))
WITH_SERIAL = SerialAdapter("ttyUSB3", "1-1.3", serial="0001A2B3")


def resolve(tmp_path: Path, devices, request: dict) -> dict:
    record = tmp_path / f"kit-{len(list(tmp_path.iterdir()))}.umockdev"
    record.write_text(umockdev_file(*devices))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [
            "umockdev-run",
            "--device",
            str(record),
            "--",
            sys.executable,
            str(PROBE),
            json.dumps(request),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_pyserial_lists_the_emulated_adapters_with_their_topology_paths(tmp_path) -> None:
    found = resolve(tmp_path, [*TWINS, WITH_SERIAL], {})
    ports = {device: rest for device, *rest in found["comports"]}
    assert ports["/dev/ttyUSB10"] == [0x10C4, 0xEA60, None, "1-1.2"]
    assert ports["/dev/ttyUSB2"] == [0x10C4, 0xEA60, None, "1-1.10"]
    assert ports["/dev/ttyUSB3"] == [0x10C4, 0xEA60, "0001A2B3", "1-1.3"]


def test_specs_resolve_by_serial_and_topology_and_refuse_ambiguity(tmp_path) -> None:
    specs = [
        "usb-serial:10c4:ea60/0001A2B3",
        "usb-path:1-1.2",
        "usb-path:1-1.10",
        "usb-serial:10c4:ea60",
        "usb-serial:10c4:ea60/MISSING",
    ]
    found = resolve(tmp_path, [*TWINS, WITH_SERIAL], {"serial": specs})["serial"]
    assert found["usb-serial:10c4:ea60/0001A2B3"] == "/dev/ttyUSB3"
    assert found["usb-path:1-1.2"] == "/dev/ttyUSB10"
    assert found["usb-path:1-1.10"] == "/dev/ttyUSB2"
    assert found["usb-serial:10c4:ea60/MISSING"] is None
    ambiguous = found["usb-serial:10c4:ea60"]
    assert ambiguous["error"] == "DEVICE_PORT_AMBIGUOUS"
    assert [c.split()[0] for c in ambiguous["candidates"]] == [
        "/dev/ttyUSB2",
        "/dev/ttyUSB3",
        "/dev/ttyUSB10",  # natural order
    ]
    assert "usb-path:1-1.10" in ambiguous["candidates"][0]


def test_a_spec_and_a_plain_path_find_the_adapter_after_it_re_enumerates(tmp_path) -> None:
    before = [SerialAdapter("ttyUSB0", "1-1.2"), SerialAdapter("ttyUSB1", "1-1.4")]
    after = [SerialAdapter("ttyUSB1", "1-1.4"), SerialAdapter("ttyUSB2", "1-1.2")]  # replugged
    seen = resolve(tmp_path, before, {"remember": "/dev/ttyUSB0", "serial": ["usb-path:1-1.2"]})
    assert seen["serial"]["usb-path:1-1.2"] == "/dev/ttyUSB0"
    assert seen["remembered"]["location"] == "1-1.2"
    again = resolve(
        tmp_path,
        after,
        {
            "seen": {"spec": "/dev/ttyUSB0", "device": seen["remembered"]},
            "serial": ["/dev/ttyUSB0", "usb-path:1-1.2"],
        },
    )["serial"]
    assert again == {"/dev/ttyUSB0": "/dev/ttyUSB2", "usb-path:1-1.2": "/dev/ttyUSB2"}


def test_cameras_resolve_to_their_capture_node(tmp_path) -> None:
    cameras = [UsbCamera(2, "1-1.5", serial="A1B2C3D4"), UsbCamera(0, "1-1.6")]
    first = cameras[0].by_id
    specs = [
        "usb:046d:082d/A1B2C3D4",
        "usb-path:1-1.6",
        "usb:046d:082d",
        f"/dev/v4l/by-id/{first}",
        first,
        "usb:046d:0000",
        "0",
    ]
    found = resolve(tmp_path, cameras, {"video": specs})["video"]
    assert found["usb:046d:082d/A1B2C3D4"] == "/dev/video2"  # not video3, its metadata node
    assert found["usb-path:1-1.6"] == "/dev/video0"
    assert found["usb:046d:082d"]["error"] == "DEVICE_PORT_AMBIGUOUS"
    assert found[f"/dev/v4l/by-id/{first}"] == "/dev/video2"
    assert found[first] == "/dev/video2"
    assert found["usb:046d:0000"] is None
    assert found["0"] == "0"  # an index is handed to OpenCV as it is
    replugged = [UsbCamera(4, "1-1.5", serial="A1B2C3D4")]
    again = resolve(tmp_path, replugged, {"video": ["usb:046d:082d/A1B2C3D4", first]})["video"]
    assert again == {"usb:046d:082d/A1B2C3D4": "/dev/video4", first: "/dev/video4"}
