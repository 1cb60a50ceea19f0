"""The R30x driver against the simulated module on a real pty, including every fault."""

from __future__ import annotations

import threading

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
def scanner(r30x_sim: SimulatedR30x):
    device = R30xFingerprintScanner("fingerprint-0", r30x_sim.port, packet_timeout=0.4)
    device.open()
    try:
        yield device
    finally:
        device.close()


def expected_image(sim: SimulatedR30x) -> np.ndarray:
    assert sim.last_image is not None
    return sim.last_image * 17


def test_handshake_reads_parameters_and_identity(scanner, r30x_sim) -> None:
    params = scanner.system_parameters
    assert params is not None
    assert params.baudrate == 57600 and params.packet_size == 128
    assert params.address == 0xFFFFFFFF
    assert scanner.identity.model == "R503"
    assert scanner.identity.serial == "SIM00001"
    assert scanner.identity.transport == "uart"
    assert scanner.status == DeviceStatus.READY
    caps = scanner.capabilities
    assert caps.modality == Modality.FINGERPRINT
    assert (caps.width, caps.height, caps.ppi) == (256, 288, 500)
    assert len(caps.positions) == 10 and "left_little" in caps.positions
    assert r30x_sim.commands_seen[:3] == [0x13, 0x0F, 0x3C]


def test_module_without_product_info_or_led_falls_back(platen) -> None:
    sim = SimulatedR30x(lambda: platen["image"], product_info=None, aura_led=False)
    sim.start()
    device = R30xFingerprintScanner("fp", sim.port, packet_timeout=0.4)
    try:
        device.open()
        assert device.product_info is None
        assert device.identity.model == "R30x"
        platen["image"] = FINGER
        image = device.capture(timeout=2)
        assert np.array_equal(image, expected_image(sim))
        assert device.set_led(1) is False
    finally:
        device.close()
        sim.stop()


def test_image_round_trip_equals_what_the_module_showed(scanner, r30x_sim, platen) -> None:
    platen["image"] = FINGER
    image = scanner.capture(timeout=2, position="right_index")
    assert image.dtype == np.uint8 and image.shape == (288, 256)
    assert np.array_equal(image, sensor_image(FINGER) * 17)
    assert np.array_equal(image, expected_image(r30x_sim))
    assert set(np.unique(image)) <= {v * 17 for v in range(16)}
    assert r30x_sim.led_state is not None  # the ring LED was driven
    assert scanner.status == DeviceStatus.READY


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
        good = R30xFingerprintScanner("fp", sim.port, password=0x1234, packet_timeout=0.4)
        good.open()
        good.close()
    finally:
        sim.stop()


def test_baud_change_is_applied_on_both_ends(scanner, r30x_sim, platen) -> None:
    scanner.change_baudrate(115200)
    assert r30x_sim.baudrate == 115200
    assert scanner.system_parameters is not None
    assert scanner.system_parameters.baudrate == 115200
    platen["image"] = FINGER
    assert np.array_equal(scanner.capture(timeout=2), expected_image(r30x_sim))
    with pytest.raises(ValueError):
        scanner.change_baudrate(100000)


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
