"""The Veridicom 5thSense driver through real libusb, against a umockdev-emulated sensor.

Each test runs the driver (pyusb's libusb1 backend, libusb-1.0 from Debian) in a subprocess
under ``umockdev-run``: libusb enumerates the sensor from the emulated sysfs
(``umockdev/vcom5s.umockdev``, see the README there) and its usbfs ioctls on
``/dev/bus/usb/001/003`` are answered by an ioctl script written here from libfprint's
``libfprint/drivers/vcom5s.c`` (Daniel Drake, 2008): per scan, the vendor control writes
``40 02 0001`` (contrast 0x01) and ``40 03 0029`` (gain 0x29), the command ``C0 C1 0000`` with no
data stage, then 24 bulk reads of 3,600 bytes on endpoint 0x81 carrying 12 rows of 300 pixels
each. The script format is umockdev's ioctl tree (``src/ioctl_tree.c``): one
``USBDEVFS_REAPURBNDELAY ret type endpoint status flags buffer_length actual_length
error_count data`` line per URB; an OUT URB (every control URB: endpoint 0) must match byte for
byte, an IN URB is a child of the URB before it and its data is handed back on reap.

What the ioctl tree cannot carry stays with the simulated pyusb backend (test_vcom5s_usb.py):
data returned by a control-IN transfer (the tree copies data back only for endpoints with bit
0x80, and control URBs use endpoint 0), so the string descriptors fail here (and the identity
fallback is what these tests see); errors other than ENOTTY on an ioctl (EBUSY, EACCES); and a
transfer that never completes (libusb's own timeout).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent / "umockdev"
DEVICE_FILE = HERE / "vcom5s.umockdev"
CHILD = HERE / "vcom5s_child.py"
REPO = Path(__file__).resolve().parents[2]
DEVNODE = "/dev/bus/usb/001/003"
PORT = "usb:061a:0110"
WIDTH, HEIGHT, READ_SIZE = 300, 288, 3600
EP_IN = 0x81
URB_CONTROL, URB_BULK = 2, 3
ENODEV = 19
# USBDEVFS_GET_CAPABILITIES as a Linux kernel answered it (libfprint tests/synaptics/custom.ioctl).
CAPABILITIES = "USBDEVFS_GET_CAPABILITIES 0 7D000000"

pytestmark = pytest.mark.skipif(
    shutil.which("umockdev-run") is None, reason="umockdev is not installed (make system)"
)


def control_out(request_type: int, request: int, value: int) -> str:
    """A control URB with no data stage: the 8-byte setup packet is its whole buffer."""
    setup = bytes([request_type, request]) + value.to_bytes(2, "little") + bytes(4)
    return f"USBDEVFS_REAPURBNDELAY 0 {URB_CONTROL} 0 0 0 8 0 0 {setup.hex().upper()}"


def bulk_in(data: bytes, *, length: int = READ_SIZE, status: int = 0) -> str:
    """A bulk read on 0x81 (a child of the URB before it) answering ``data``."""
    return (
        f" USBDEVFS_REAPURBNDELAY 0 {URB_BULK} {EP_IN} {status} 0 {length} {len(data)} 0 "
        f"{data.hex().upper()}"
    )


def scan_dialog(image: np.ndarray, *, reads: int = HEIGHT // 12) -> list[str]:
    """libfprint's capture loop: contrast, gain, scan command, then the image in 12-row reads."""
    raw = image.astype(np.uint8).tobytes()
    lines = [control_out(0x40, 0x02, 0x01), control_out(0x40, 0x03, 0x29)]
    lines.append(control_out(0xC0, 0xC1, 0x00))
    lines += [bulk_in(raw[i * READ_SIZE : (i + 1) * READ_SIZE]) for i in range(reads)]
    return lines


def finger_image(seed: int) -> np.ndarray:
    """Dark ridges (the centre box averages well under libfprint's threshold of 100) with noise,
    so every byte of the transfer is checked."""
    rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    ridges = 60 + 40 * np.sin((rows * 0.8 + cols * 0.6) / 3.0 + seed)
    noise = np.random.default_rng(seed).integers(-12, 13, size=(HEIGHT, WIDTH))
    return np.clip(ridges + noise, 0, 255).astype(np.uint8)


def empty_glass(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(200, 256, size=(HEIGHT, WIDTH), dtype=np.uint8)


def run_driver(tmp_path: Path, script: list[str], port: str = PORT, **options) -> dict:
    ioctl = tmp_path / "vcom5s.ioctl"
    ioctl.write_text("\n".join([f"@DEV {DEVNODE}", CAPABILITIES, *script]) + "\n")
    command = [
        "umockdev-run",
        "--device",
        str(DEVICE_FILE),
        "--ioctl",
        f"{DEVNODE}={ioctl}",
        "--",
        sys.executable,
        str(CHILD),
        port,
        str(tmp_path / "image.npy"),
        json.dumps(options),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def captured(tmp_path: Path) -> np.ndarray:
    return np.load(tmp_path / "image.npy")


def test_libusb_capture_returns_the_scripted_finger_pixel_exact(tmp_path):
    finger = finger_image(seed=5)
    report = run_driver(tmp_path, scan_dialog(empty_glass(seed=1)) + scan_dialog(finger))
    assert "error" not in report, report
    assert np.array_equal(captured(tmp_path), finger)  # the empty scan was passed over


def test_unreadable_string_descriptors_leave_the_sensor_usable(tmp_path):
    report = run_driver(tmp_path, scan_dialog(finger_image(seed=2)))
    identity = report["identity"]
    assert (identity["vendor"], identity["model"]) == ("061a", "0110")
    assert identity["port"] == DEVNODE  # the bus address libusb found it at
    assert identity["firmware"] == "1.02"  # bcdDevice, from the sysfs descriptors
    assert identity["serial"] == ""
    assert "string descriptors" in report["identity_note"]
    assert report["status"] == "READY"


def test_register_writes_other_than_libfprints_are_not_answered(tmp_path):
    report = run_driver(tmp_path, scan_dialog(finger_image(seed=3)), contrast=0x02, retries=0)
    assert report["error"]["reason"] == "PROTOCOL_ERROR"
    assert report["error"]["code"] == "DEVICE_FINGERPRINT_IMAGE_INCOMPLETE"


def short_scan(image: np.ndarray, after_reads: int) -> list[str]:
    """A scan whose read number ``after_reads`` brings half its 3,600 bytes."""
    start = after_reads * READ_SIZE
    half = bulk_in(image.tobytes()[start : start + READ_SIZE // 2])
    return [*scan_dialog(image, reads=after_reads), half]


def test_one_short_bulk_read_is_scanned_again(tmp_path):
    finger = finger_image(seed=4)
    report = run_driver(tmp_path, short_scan(finger, 4) + scan_dialog(finger), retries=1)
    assert "error" not in report, report
    assert np.array_equal(captured(tmp_path), finger)


def test_short_reads_beyond_the_retries_are_an_incomplete_image(tmp_path):
    finger = finger_image(seed=8)
    report = run_driver(tmp_path, short_scan(finger, 4) + short_scan(finger, 9), retries=1)
    assert report["error"]["reason"] == "PROTOCOL_ERROR"
    assert "short bulk read: 1800 of 3600" in report["error"]["detail"]


def test_no_matching_sensor_on_the_bus_is_unavailable(tmp_path):
    report = run_driver(tmp_path, scan_dialog(finger_image(seed=9)), port="usb:061a:0111")
    assert report["error"]["code"] == "DEVICE_USB_FINGERPRINT_SCANNER_NOT_CONNECTED"


def test_unplug_mid_transfer_is_unavailable(tmp_path):
    script = scan_dialog(finger_image(seed=6), reads=10)
    script.append(bulk_in(b"", status=-ENODEV))
    report = run_driver(tmp_path, script)
    assert report["error"]["reason"] == "DEVICE_UNAVAILABLE"
    assert report["error"]["code"] == "DEVICE_USB_FINGERPRINT_SCANNER_NOT_CONNECTED"
    assert report["status"] == "DISCONNECTED"


def test_a_serial_that_cannot_be_read_matches_no_sensor(tmp_path):
    report = run_driver(tmp_path, scan_dialog(finger_image(seed=7)), port=f"{PORT}/V5S-000042")
    assert report["error"]["code"] == "DEVICE_USB_FINGERPRINT_SCANNER_NOT_CONNECTED"
    assert "string descriptors" in report["error"]["detail"]
