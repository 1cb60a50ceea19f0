"""Fault injection per simulated device, presence probes, and a missing USB-serial adapter."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from drivers.camera import source_present
from drivers.errors import DeviceUnavailable
from drivers.r30x import R30xFingerprintScanner
from drivers.registry import create_device
from drivers.vcom5s import Vcom5sFingerprintScanner
from simulator.control import KitControlServer, coerce_param
from simulator.devices.platen import DIRT_LEVEL
from simulator.devices.r30x import SimulatedR30x
from simulator.devices.vcom5s_usb import SimulatedVcom5s
from simulator.kit import FACE_ID, FINGERPRINT_ID, SIGNATURE_ID, USB_FINGERPRINT_ID
from station.cli import main as rekam

pytestmark = pytest.mark.timeout(30)

FINGER = np.random.default_rng(5).integers(0, 256, (300, 270), dtype=np.uint8)


# -- serial ports by USB identity (the matching rules: test_serial_ports.py) -------------
def test_a_missing_usb_serial_adapter_is_unavailable_not_a_crash() -> None:
    scanner = R30xFingerprintScanner("fp", "usb-serial:0403:6001/NOT-HERE")
    assert not scanner.present()
    with pytest.raises(DeviceUnavailable):
        scanner.open()


# -- R30x faults ---------------------------------------------------------------------------
@pytest.fixture
def scanner(r30x_sim: SimulatedR30x):
    device = R30xFingerprintScanner("fingerprint-0", r30x_sim.port, packet_timeout=0.3)
    device.open()
    try:
        yield device
    finally:
        device.close()


def test_a_hung_module_is_a_clear_error_then_recovers(scanner, r30x_sim, platen) -> None:
    platen["image"] = FINGER
    r30x_sim.set_fault("timeout")
    with pytest.raises(DeviceUnavailable, match="no answer"):
        scanner.capture(timeout=2)
    assert not scanner.ping()
    r30x_sim.clear_faults()
    assert scanner.ping()  # reopened on the same port
    assert np.array_equal(scanner.capture(timeout=2), r30x_sim.last_image * 17)


def test_one_lost_command_is_only_a_timeout(scanner, r30x_sim) -> None:
    r30x_sim.set_fault("timeout", times=1)
    assert not scanner.ping()
    assert scanner.ping()


def test_slow_link_still_delivers_the_exact_image(platen) -> None:
    sim = SimulatedR30x(lambda: platen["image"], baudrate=57600)
    sim.set_fault("slow_link", baudrate=460800)
    assert sim.line_rate() == 460800
    sim.start()
    scanner = R30xFingerprintScanner("fp", sim.port, packet_timeout=1.0)
    try:
        scanner.open()
        platen["image"] = FINGER
        assert np.array_equal(scanner.capture(timeout=5), sim.last_image * 17)
    finally:
        scanner.close()
        sim.stop()


def test_dirty_platen_is_imaged_with_nothing_on_it(scanner, r30x_sim, platen) -> None:
    assert scanner.read_platen() is None  # clean, empty glass: GenImg says "no finger"
    r30x_sim.set_fault("dirty_platen", coverage=0.1)
    blank = scanner.read_platen()
    assert blank is not None
    dark = np.count_nonzero(blank <= DIRT_LEVEL) / blank.size
    assert 0.08 <= dark <= 0.2


# -- Veridicom faults ----------------------------------------------------------------------
@pytest.fixture
def usb_sensor():
    device = SimulatedVcom5s(lambda: None, serial="V5S-FAULTS")
    device.start()
    try:
        yield device
    finally:
        device.detach()


def test_usb_dirty_platen_slow_link_and_presence(usb_sensor) -> None:
    driver = Vcom5sFingerprintScanner(
        "fp-usb", usb_sensor.port, usb_backend="simulator.devices.vcom5s_usb"
    )
    driver.open()
    try:
        assert driver.present()
        clean = driver.read_platen()
        assert np.count_nonzero(clean < 128) == 0
        usb_sensor.set_fault("dirty_platen", coverage=0.1)
        usb_sensor.set_fault("slow_link", delay_ms=5)
        assert usb_sensor.sensor.faults == {"dirty_platen": 10, "slow_link": 5}
        dirty = driver.read_platen()
        assert 0.08 <= np.count_nonzero(dirty < 128) / dirty.size <= 0.2
        usb_sensor.stop()
        assert not driver.present()
    finally:
        driver.close()


# -- cameras -------------------------------------------------------------------------------
def test_camera_presence_and_slow_link(kit) -> None:
    spec = next(s for s in kit.device_specs() if s["id"] == FACE_ID)
    camera = create_device(spec)
    camera.open()
    try:
        assert camera.present()
        kit.set_fault(FACE_ID, "slow_link", fps=4)
        assert kit.face_camera.link_fps() == 4
        served = kit.face_camera.frames_served
        for _ in range(3):
            assert camera.capture(timeout=3).shape == (480, 640, 3)
        assert kit.face_camera.frames_served > served
        kit.unplug(FACE_ID)
        assert not camera.present()
    finally:
        camera.close()


def test_source_presence_for_files_and_nodes(tmp_path) -> None:
    image = tmp_path / "frame_0001.png"
    image.write_bytes(b"not really a png")
    assert source_present(str(image))
    assert source_present(str(tmp_path / "frame_%04d.png"))
    assert not source_present(str(tmp_path / "missing.avi"))
    assert not source_present("http://127.0.0.1:9/stream.mjpg", timeout=0.2)


# -- scripting faults through the control surface and ``rekam sim`` -------------------------
def test_parameters_written_as_text_are_coerced() -> None:
    assert coerce_param("3") == 3 and coerce_param("0.25") == 0.25
    assert coerce_param("true") is True and coerce_param("off") is False
    assert coerce_param("glass") == "glass" and coerce_param(7) == 7


def test_rekam_sim_scripts_faults_unplug_and_plug(kit, make_resident, capsys) -> None:
    control = KitControlServer(kit, lambda kind, seed: make_resident(seed)).start()
    try:
        url = control.url
        assert rekam(["sim", "fault", "--control", url, FINGERPRINT_ID, "truncate", "times=2"]) == 0
        assert kit.fingerprint.faults["truncate"] == {"times": 2}
        assert rekam(["sim", "fault", "--control", url, USB_FINGERPRINT_ID, "short_read"]) == 0
        assert kit.usb_fingerprint.sensor.faults == {"short_read": 1}
        assert rekam(["sim", "fault", "--control", url, FINGERPRINT_ID, "clear"]) == 0
        assert kit.fingerprint.faults == {}
        assert rekam(["sim", "unplug", "--control", url, SIGNATURE_ID]) == 0
        assert not kit.is_plugged(SIGNATURE_ID)
        assert rekam(["sim", "plug", "--control", url, SIGNATURE_ID]) == 0
        deadline = time.monotonic() + 5
        while not kit.is_plugged(SIGNATURE_ID) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert kit.is_plugged(SIGNATURE_ID)
        with pytest.raises(RuntimeError, match="unknown"):
            rekam(["sim", "fault", "--control", url, FINGERPRINT_ID, "gremlins"])
        capsys.readouterr()
    finally:
        control.stop()


def test_rekam_sim_present_tells_the_resident_what_to_present(kit, make_resident, capsys) -> None:
    control = KitControlServer(kit, lambda kind, seed: make_resident(seed)).start()
    try:
        url = control.url
        argv = ["sim", "present", "--control", url, "--kind", "adult", "--seed", "5"]
        assert rekam([*argv, "--position", "left_thumb"]) == 0
        assert json.loads(capsys.readouterr().out) == {
            "resident": {"kind": "adult", "seed": 5},
            "position": "left_thumb",
        }
        assert kit.resident is not None and kit.finger == 6 and kit.attempts(6) == 1
        assert rekam(["sim", "present", "--control", url, "--position", "face"]) == 0
        assert kit.resident is not None and kit.finger is None  # the same resident, hands off
        assert control.handle("GET", "/v1/kit", {})[1]["position"] == "face"
        with pytest.raises(RuntimeError, match="unknown position"):
            rekam(["sim", "present", "--control", url, "--position", "nose"])
        assert rekam(["sim", "present", "--control", url]) == 0
        assert kit.resident is None
        assert control.handle("GET", "/v1/kit", {})[1]["position"] == ""
        capsys.readouterr()
    finally:
        control.stop()
