"""Driver registry and the simulated kit as a whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from drivers.base import DeviceStatus
from drivers.camera import FaceCamera, IrisCamera
from drivers.isdv4 import Isdv4SignaturePad
from drivers.r30x import R30xFingerprintScanner
from drivers.registry import (
    InvalidDeviceSpec,
    UnknownDriver,
    available_drivers,
    create_device,
)
from simulator.devices.r30x import sensor_image
from simulator.kit import FINGERPRINT_ID, SIGNATURE_ID, SimulatedKit

pytestmark = pytest.mark.timeout(30)


def test_registry_lists_the_four_drivers() -> None:
    drivers = available_drivers()
    assert drivers["r30x"] is R30xFingerprintScanner
    assert drivers["isdv4"] is Isdv4SignaturePad
    assert drivers["face-camera"] is FaceCamera
    assert drivers["iris-camera"] is IrisCamera


def test_unknown_driver_names_the_known_ones() -> None:
    with pytest.raises(UnknownDriver) as caught:
        create_device({"id": "x", "driver": "nope", "port": "/dev/null"})
    assert "r30x" in str(caught.value) and "iris-camera" in str(caught.value)


def test_bad_specs_are_rejected_clearly() -> None:
    with pytest.raises(InvalidDeviceSpec):
        create_device({"id": "x", "driver": "r30x"})
    with pytest.raises(InvalidDeviceSpec) as caught:
        create_device({"id": "fp", "driver": "r30x", "port": "/dev/null", "options": {"bad": 1}})
    assert "fp" in str(caught.value)


def test_kit_specs_open_every_device(kit) -> None:
    specs = kit.device_specs()
    assert {spec["driver"] for spec in specs} == {
        "r30x",
        "vcom5s",
        "isdv4",
        "face-camera",
        "iris-camera",
    }
    devices = [create_device(spec) for spec in specs]
    try:
        for device in devices:
            device.open()
            assert device.status == DeviceStatus.READY
            assert device.identity.port == next(
                s["port"] for s in specs if s["id"] == device.device_id
            )
    finally:
        for device in devices:
            device.close()


def test_prompted_finger_is_captured_with_attempt_counting(kit, resident) -> None:
    scanner = create_device(next(s for s in kit.device_specs() if s["id"] == FINGERPRINT_ID))
    scanner.open()
    try:
        kit.ask_for("right_index")
        assert kit.finger == 2 and kit.attempts(2) == 1
        image = scanner.capture(timeout=3)
        assert np.array_equal(image, sensor_image(resident.fingerprint(2, 1)) * 17)
        kit.ask_for("right_index")
        assert kit.attempts(2) == 2
        again = scanner.capture(timeout=3)
        assert np.array_equal(again, sensor_image(resident.fingerprint(2, 2)) * 17)
        kit.ask_for("right_eye")  # hands off the scanner
        assert kit.finger is None
        kit.set_fault(FINGERPRINT_ID, "no_finger")
        kit.ask_for("left_thumb")
        with pytest.raises(Exception, match="no finger"):
            scanner.capture(timeout=0.3)
    finally:
        scanner.close()


def test_missing_finger_never_touches_the_glass(make_resident) -> None:
    with SimulatedKit(make_resident(seed=3, missing_fingers=(7,))) as kit:
        scanner = create_device(kit.device_specs()[0])
        scanner.open()
        try:
            kit.ask_for("left_index")
            with pytest.raises(Exception, match="no finger"):
                scanner.capture(timeout=0.3)
        finally:
            scanner.close()


def test_signature_prompt_makes_the_resident_sign(kit, resident) -> None:
    pad = create_device(next(s for s in kit.device_specs() if s["id"] == SIGNATURE_ID))
    pad.open()
    try:
        kit.ask_for("signature")
        trace = pad.capture_signature(timeout=10)
        touching = sum(1 for point in trace.points if point.touching)
        assert touching == sum(len(stroke) for stroke in resident.signature())
    finally:
        pad.close()


def test_kit_rejects_unknown_names(kit) -> None:
    with pytest.raises(ValueError):
        kit.ask_for("nose")
    with pytest.raises(ValueError):
        kit.place_finger(11)
    with pytest.raises(KeyError):
        kit.unplug("printer-0")
    with pytest.raises(ValueError):
        kit.set_fault(FINGERPRINT_ID, "gremlins")


def test_close_removes_ports_and_is_idempotent(resident) -> None:
    kit = SimulatedKit(resident)
    ports = [s["port"] for s in kit.device_specs() if s["driver"] in ("r30x", "isdv4")]
    workdir = kit.workdir
    kit.close()
    kit.close()
    assert not workdir.exists()
    assert all(port.startswith(str(workdir)) for port in ports)  # stable by-id style links
    assert not any(Path(port).exists() for port in ports)
