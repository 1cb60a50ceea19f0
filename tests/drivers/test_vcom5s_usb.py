"""The Veridicom 5thSense driver through pyusb against the simulated USB bus (an IBackend).

Only what the umockdev tests (test_vcom5s_libusb.py, real libusb) cannot express lives here:
string descriptors that answer, a sensor held by another process or not ours to open, a
transfer that never completes, a sensor that comes back after an unplug, and the capture loop's
waiting (no finger, cancel).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from drivers.base import DeviceStatus
from drivers.errors import CaptureCancelled, CaptureTimeout, DeviceUnavailable, ProtocolError
from drivers.registry import create_device
from drivers.vcom5s import HEIGHT, WIDTH, Vcom5sFingerprintScanner, parse_port
from simulator.devices.vcom5s_usb import SimulatedVcom5s

BACKEND = "simulator.devices.vcom5s_usb"


def ridge_finger(seed: int = 3) -> np.ndarray:
    rows, cols = np.mgrid[0:320, 0:320].astype(np.float32)
    return (127.5 + 127.5 * np.sin((rows * 0.8 + cols * 0.6) / 3.0 + seed)).astype(np.uint8)


@pytest.fixture
def sensor():
    state: dict[str, np.ndarray | None] = {"finger": ridge_finger()}
    device = SimulatedVcom5s(lambda: state["finger"], serial="V5S-TEST1")
    device.start()
    device.state = state  # type: ignore[attr-defined]
    try:
        yield device
    finally:
        device.detach()


def open_driver(sensor: SimulatedVcom5s, **options) -> Vcom5sFingerprintScanner:
    driver = Vcom5sFingerprintScanner("fp-usb", sensor.port, usb_backend=BACKEND, **options)
    driver.open()
    return driver


def test_open_reads_identity_from_usb_string_descriptors(sensor):
    driver = open_driver(sensor)
    try:
        assert driver.status is DeviceStatus.READY
        assert driver.identity.vendor == "Veridicom"
        assert driver.identity.model == "5thSense"
        assert driver.identity.serial == "V5S-TEST1"
        assert driver.identity.transport == "usb"
        assert driver.identity.mode == {"usb_id": "061a:0110", "image_size": "300x288"}
        assert driver.capabilities.width == WIDTH and driver.capabilities.height == HEIGHT
    finally:
        driver.close()


def test_no_finger_times_out(sensor):
    sensor.state["finger"] = None
    driver = open_driver(sensor, poll_interval=0.01)
    try:
        with pytest.raises(CaptureTimeout) as caught:
            driver.capture(timeout=0.2)
    finally:
        driver.close()
    assert "finger" in caught.value.message.render("en")


def test_cancel_ends_the_wait(sensor):
    sensor.state["finger"] = None
    driver = open_driver(sensor, poll_interval=0.01)
    cancel = threading.Event()
    threading.Timer(0.05, cancel.set).start()
    try:
        with pytest.raises(CaptureCancelled):
            driver.capture(timeout=10.0, cancel=cancel)
    finally:
        driver.close()


def test_transfer_timeout_is_a_clear_error(sensor):
    driver = open_driver(sensor, retries=0, transfer_timeout_ms=20)
    sensor.set_fault("timeout")
    try:
        with pytest.raises(ProtocolError) as caught:
            driver.capture(timeout=1.0)
    finally:
        driver.close()
    assert "timed out" in caught.value.detail


def test_unplug_mid_transfer_then_plug_back(sensor):
    driver = open_driver(sensor)
    sensor.set_fault("unplug_mid_transfer", after_reads=10)
    with pytest.raises(DeviceUnavailable) as caught:
        driver.capture(timeout=2.0)
    assert driver.status is DeviceStatus.DISCONNECTED
    assert "not connected" in caught.value.message.render("en")
    with pytest.raises(DeviceUnavailable):
        driver.capture(timeout=0.5)  # still unplugged: the reopen fails cleanly
    sensor.start()
    try:
        assert driver.capture(timeout=2.0).shape == (HEIGHT, WIDTH)
        assert driver.status is DeviceStatus.READY
    finally:
        driver.close()


def test_a_sensor_held_by_fprintd_is_busy_with_its_own_sentence(sensor):
    sensor.set_fault("busy")
    driver = Vcom5sFingerprintScanner("fp-usb", sensor.port, usb_backend=BACKEND)
    with pytest.raises(DeviceUnavailable) as caught:
        driver.open()
    assert caught.value.code == "DEVICE_USB_FINGERPRINT_SCANNER_BUSY"
    assert "fprintd" in caught.value.message.render("en")
    assert "fprintd" in caught.value.message.render("id")
    assert driver.status is DeviceStatus.DISCONNECTED
    sensor.clear_faults()  # fprintd stopped: the next open works
    driver.open()
    driver.close()


def test_no_permission_names_the_udev_rule(sensor):
    sensor.set_fault("no_permission")
    driver = Vcom5sFingerprintScanner("fp-usb", sensor.port, usb_backend=BACKEND)
    with pytest.raises(DeviceUnavailable) as caught:
        driver.open()
    assert caught.value.code == "DEVICE_USB_FINGERPRINT_SCANNER_NO_PERMISSION"
    assert "70-rekam.rules" in caught.value.message.render("en")
    assert sensor.port in caught.value.message.render("en")


def test_registry_builds_the_driver_from_a_spec(sensor):
    device = create_device(
        {
            "id": "fp-usb",
            "driver": "vcom5s",
            "port": sensor.port,
            "options": {"usb_backend": BACKEND},
        }
    )
    assert isinstance(device, Vcom5sFingerprintScanner)


@pytest.mark.parametrize("port", ["061a:0110", "usb:zz:0110", "usb:"])
def test_bad_port_strings_are_refused(port):
    with pytest.raises(ValueError):
        parse_port(port)
