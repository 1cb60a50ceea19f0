"""The R30x driver against the independent module model on a real pty, including every fault.

The model (simulator/devices/r30x.py) is written from the module manuals with its own codec;
these tests run the driver against several of its modules: an R307 (256x288, no ReadProdInfo,
no ring LED) and an R503 (192x192, ReadProdInfo, ring LED).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest

from drivers.base import DeviceStatus, Modality
from drivers.errors import (
    CaptureCancelled,
    CaptureTimeout,
    DeviceUnavailable,
    ProtocolError,
)
from drivers.r30x import R30xFingerprintScanner
from simulator.devices.r30x import SimulatedR30x, sensor_image

pytestmark = pytest.mark.timeout(30)

FINGER = np.random.default_rng(11).integers(0, 256, (300, 270), dtype=np.uint8)


@pytest.fixture
def scanner(r30x_sim: SimulatedR30x) -> Iterator[R30xFingerprintScanner]:
    device = R30xFingerprintScanner("fingerprint-0", r30x_sim.port, packet_timeout=0.4)
    device.open()
    try:
        yield device
    finally:
        device.close()


@pytest.fixture(params=["R307", "R503"])
def module(request, platen, tmp_path) -> Iterator[SimulatedR30x]:
    sim = SimulatedR30x(lambda: platen["image"], model=request.param, link_path=tmp_path / "tty")
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def expected_image(sim: SimulatedR30x) -> np.ndarray:
    assert sim.last_image is not None
    return sim.last_image * 17


def test_r307_handshake_reads_parameters_and_identity(scanner, r30x_sim) -> None:
    params = scanner.system_parameters
    assert params is not None
    assert params.baudrate == 57600 and params.packet_size == 128
    assert params.address == 0xFFFFFFFF and params.library_size == 1000
    assert scanner.product_info is None  # an R307 answers ReadProdInfo with an error code
    assert scanner.identity.model == "R30x"
    assert scanner.identity.mode["baudrate"] == "57600"
    assert scanner.identity.transport == "uart"
    assert scanner.status == DeviceStatus.READY
    caps = scanner.capabilities
    assert caps.modality == Modality.FINGERPRINT
    assert (caps.width, caps.height, caps.ppi) == (256, 288, 500)
    assert len(caps.positions) == 10 and "left_little" in caps.positions
    assert r30x_sim.commands_seen[:3] == [0x13, 0x0F, 0x3C]


def test_r503_reports_its_own_identity_and_size(platen) -> None:
    sim = SimulatedR30x(lambda: platen["image"], model="R503")
    sim.start()
    device = R30xFingerprintScanner("fp", sim.port, packet_timeout=0.4)
    try:
        device.open()
        assert device.product_info is not None
        assert device.identity.model == "R503" and device.identity.serial == "SIM00001"
        assert "sensor FPC1021" in device.identity.firmware
        assert (device.capabilities.width, device.capabilities.height) == (192, 192)
        platen["image"] = FINGER
        image = device.capture(timeout=2, position="right_index")
        assert image.shape == (192, 192)
        assert np.array_equal(image, sensor_image(FINGER, 192, 192) * 17)
        assert sim.led_state is not None  # the ring LED was driven
    finally:
        device.close()
        sim.stop()


def test_module_without_led_is_driven_without_it(scanner, r30x_sim, platen) -> None:
    platen["image"] = FINGER
    image = scanner.capture(timeout=2)
    assert np.array_equal(image, expected_image(r30x_sim))
    assert scanner.set_led(1) is False
    assert r30x_sim.led_state is None


def test_image_round_trip_equals_what_the_module_showed(module, platen) -> None:
    scanner = R30xFingerprintScanner("fp", module.port, packet_timeout=0.4)
    try:
        scanner.open()
        platen["image"] = FINGER
        image = scanner.capture(timeout=2, position="right_index")
        assert image.dtype == np.uint8
        assert image.shape == (module.model.height, module.model.width)
        assert np.array_equal(image, module.sensor_image(FINGER) * 17)
        assert np.array_equal(image, expected_image(module))
        assert set(np.unique(image)) <= {v * 17 for v in range(16)}
        assert scanner.status == DeviceStatus.READY
    finally:
        scanner.close()


def test_no_finger_times_out_with_an_operator_sentence(scanner) -> None:
    with pytest.raises(CaptureTimeout) as caught:
        scanner.capture(timeout=0.3)
    assert "finger" in caught.value.message.render("en")
    assert "jari" in caught.value.message.render("id")
    assert scanner.status == DeviceStatus.READY


def test_no_finger_fault_overrides_a_placed_finger(scanner, r30x_sim, platen) -> None:
    platen["image"] = FINGER
    r30x_sim.set_fault("no_finger")
    with pytest.raises(CaptureTimeout):
        scanner.capture(timeout=0.3)


def test_cancel_stops_the_wait(scanner) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CaptureCancelled):
        scanner.capture(timeout=5, cancel=cancel)


def test_a_corrupted_checksum_is_fetched_again(scanner, r30x_sim, platen) -> None:
    platen["image"] = FINGER
    r30x_sim.set_fault("corrupt_checksum", packet=5, times=1)
    image = scanner.capture(timeout=2)
    assert np.array_equal(image, expected_image(r30x_sim))
    assert r30x_sim.commands_seen.count(0x0A) == 2  # UpImage issued twice


def test_persistent_corruption_is_a_protocol_error_not_an_image(scanner, r30x_sim, platen) -> None:
    platen["image"] = FINGER
    r30x_sim.set_fault("corrupt_checksum", packet=200)
    with pytest.raises(ProtocolError) as caught:
        scanner.capture(timeout=2)
    assert "checksum" in caught.value.detail
    assert caught.value.reason == "PROTOCOL_ERROR"


def test_a_truncated_transfer_is_a_protocol_error(scanner, r30x_sim, platen) -> None:
    platen["image"] = FINGER
    r30x_sim.set_fault("truncate", after_bytes=5000)
    with pytest.raises(ProtocolError) as caught:
        scanner.capture(timeout=2)
    assert "stopped after" in caught.value.detail
    r30x_sim.clear_faults()  # the line recovers: the next capture is whole again
    assert np.array_equal(scanner.capture(timeout=2), expected_image(r30x_sim))


def test_garbage_before_headers_is_skipped(scanner, r30x_sim, platen) -> None:
    platen["image"] = FINGER
    r30x_sim.set_fault("garbage", count=23)
    image = scanner.capture(timeout=2)
    assert np.array_equal(image, expected_image(r30x_sim))
    assert scanner.discarded_bytes >= 23


def test_unplug_mid_transfer_then_replug(scanner, r30x_sim, platen) -> None:
    platen["image"] = FINGER
    r30x_sim.set_fault("unplug_mid_transfer", after_packets=40)
    with pytest.raises(DeviceUnavailable) as caught:
        scanner.capture(timeout=2)
    assert "scanner" in caught.value.message.render("en")
    assert scanner.status == DeviceStatus.DISCONNECTED
    with pytest.raises(DeviceUnavailable):
        scanner.capture(timeout=1)  # the port has vanished
    r30x_sim.plug()
    image = scanner.capture(timeout=2)  # reopens by itself
    assert np.array_equal(image, expected_image(r30x_sim))
    assert scanner.status == DeviceStatus.READY


def test_ping_tracks_the_cable(scanner, r30x_sim) -> None:
    assert scanner.ping() is True
    r30x_sim.unplug()
    assert scanner.ping() is False
    assert scanner.status == DeviceStatus.DISCONNECTED


def test_open_on_a_missing_port_is_unavailable(tmp_path) -> None:
    device = R30xFingerprintScanner("fp", str(tmp_path / "ttyUSB9"))
    with pytest.raises(DeviceUnavailable):
        device.open()
    assert device.status == DeviceStatus.DISCONNECTED


def test_wrong_password_is_refused(platen) -> None:
    sim = SimulatedR30x(lambda: platen["image"], password=0x1234)
    sim.start()
    try:
        device = R30xFingerprintScanner("fp", sim.port, password=0x9999, packet_timeout=0.4)
        with pytest.raises(DeviceUnavailable) as caught:
            device.open()
        assert "password" in caught.value.detail
        assert sim.commands_seen == [0x13]  # refused at the first speed: no probing on
        good = R30xFingerprintScanner("fp", sim.port, password=0x1234, packet_timeout=0.4)
        good.open()
        assert good.system_parameters is not None
        assert good.system_parameters.status_register & 0x04  # password verified
        good.close()
    finally:
        sim.stop()


def test_paced_line_still_delivers_the_image(platen) -> None:
    sim = SimulatedR30x(lambda: platen["image"], pace=True, baudrate=115200)
    sim.start()
    device = R30xFingerprintScanner("fp", sim.port, baudrate=115200, packet_timeout=1.0)
    try:
        device.open()
        platen["image"] = FINGER
        assert np.array_equal(device.capture(timeout=3), expected_image(sim))
        assert sim.bytes_sent > 36864
    finally:
        device.close()
        sim.stop()
