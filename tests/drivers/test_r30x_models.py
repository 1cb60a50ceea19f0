"""The findings of the R30x protocol audit, each checked against the independent module model.

- an R503 (192x192 sensor) captures, its size read from ReadProdInfo;
- a module without ReadProdInfo takes its size from the configured model's table entry;
- an R308-like module whose ReadSysPara answers 0x01 opens and captures;
- a GenImg answered after 1.05 s is a capture, an unanswered one a ProtocolError on an open port;
- a baud change is followed as the module applies it: at the next startup (R307 and R503
  manuals) or at once (a firmware variant); the line speed is probed at open and named in the
  identity.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest

from drivers.base import DeviceStatus
from drivers.errors import DeviceUnavailable, ProtocolError
from drivers.r30x import MODEL_GEOMETRY, BaudChange, R30xFingerprintScanner
from simulator.devices.r30x import MODELS, SimulatedR30x

pytestmark = pytest.mark.timeout(30)

FINGER = np.random.default_rng(23).integers(0, 256, (320, 300), dtype=np.uint8)
# A firmware that switches its UART right after acknowledging SetSysPara, unlike the manuals.
SWITCHES_AT_ONCE = replace(MODELS["R307"], name="R307-variant", settings_at_power_up=False)


@pytest.fixture
def open_scanner() -> Iterator:
    opened: list[R30xFingerprintScanner] = []

    def open_(sim: SimulatedR30x, **options) -> R30xFingerprintScanner:
        options.setdefault("packet_timeout", 0.4)
        device = R30xFingerprintScanner("fp", sim.port, **options)
        opened.append(device)
        device.open()
        return device

    yield open_
    for device in opened:
        device.close()


# -- image size ---------------------------------------------------------------------------
def test_r503_size_comes_from_read_prod_info_over_the_configured_model(
    start_module, open_scanner, platen
) -> None:
    sim = start_module("R503")
    scanner = open_scanner(sim, model="R307")  # misconfigured: the module's own word wins
    assert scanner.product_info is not None
    assert (scanner.product_info.image_width, scanner.product_info.image_height) == (192, 192)
    platen["image"] = FINGER
    image = scanner.capture(timeout=2)
    assert image.shape == (192, 192)
    assert np.array_equal(image, sim.last_image * 17)


def test_a_module_without_prod_info_takes_its_model_s_size(
    start_module, open_scanner, platen
) -> None:
    r551 = replace(MODELS["R307"], name="R551", width=192, height=192)  # no ReadProdInfo
    sim = start_module(r551)
    scanner = open_scanner(sim, model="R551")
    assert MODEL_GEOMETRY["R551"].width == 192
    platen["image"] = FINGER
    assert np.array_equal(scanner.capture(timeout=2), sim.last_image * 17)


def test_a_wrong_size_is_a_protocol_error_that_names_the_model_setting(
    start_module, open_scanner, platen
) -> None:
    sim = start_module(replace(MODELS["R307"], name="R551", width=192, height=192))
    scanner = open_scanner(sim)  # no model configured: the ZFM 256x288 is expected
    platen["image"] = FINGER
    with pytest.raises(ProtocolError) as caught:
        scanner.capture(timeout=2)
    assert "18432 bytes, expected 36864" in caught.value.detail
    assert "model" in caught.value.detail
    assert scanner.status == DeviceStatus.READY


def test_an_unknown_model_name_is_refused() -> None:
    with pytest.raises(ValueError, match="R999"):
        R30xFingerprintScanner("fp", "/dev/null", model="R999")


# -- ReadSysPara is optional --------------------------------------------------------------
def test_r308_opens_although_read_sys_para_answers_0x01(start_module, open_scanner, platen) -> None:
    sim = start_module("R308")
    scanner = open_scanner(sim)
    assert scanner.status == DeviceStatus.READY
    assert scanner.system_parameters is None
    assert 0x0F in sim.commands_seen
    platen["image"] = FINGER
    assert np.array_equal(scanner.capture(timeout=2), sim.last_image * 17)
    assert scanner.ping() is True  # an error code is still an answer


# -- GenImg timing -----------------------------------------------------------------------
def test_a_genimg_answered_after_1_05_s_is_a_capture(start_module, open_scanner, platen) -> None:
    sim = start_module("R307")
    scanner = open_scanner(sim, packet_timeout=1.0)
    platen["image"] = FINGER
    sim.set_fault("slow_capture", seconds=1.05, times=1)
    image = scanner.capture(timeout=4)
    assert np.array_equal(image, sim.last_image * 17)
    assert scanner.status == DeviceStatus.READY


def test_an_unanswered_genimg_is_a_protocol_error_and_the_port_stays_open(
    start_module, open_scanner, platen
) -> None:
    sim = start_module("R307")
    scanner = open_scanner(sim, capture_answer_timeout=0.5)
    platen["image"] = FINGER
    scanner.capture(timeout=2)  # the first capture learns the module has no ring LED
    sim.set_fault("timeout", times=1)  # the next command, GenImg, goes unanswered
    with pytest.raises(ProtocolError) as caught:
        scanner.capture(timeout=2)
    assert caught.value.code == "DEVICE_FINGERPRINT_SCANNER_SLOW"
    assert "lift the finger" in caught.value.message.render("en")
    assert "GenImg" in caught.value.detail
    assert scanner.status == DeviceStatus.READY
    assert np.array_equal(scanner.capture(timeout=2), sim.last_image * 17)


# -- line speed ---------------------------------------------------------------------------
def test_open_probes_the_line_speed_and_names_it(start_module, open_scanner, platen) -> None:
    sim = start_module("R307", baudrate=19200)
    scanner = open_scanner(sim)
    assert scanner.baudrate == 19200
    assert scanner.identity.mode["baudrate"] == "19200"
    assert sim.bytes_unheard > 0  # the first words, at 57600, were noise to the module
    platen["image"] = FINGER
    assert np.array_equal(scanner.capture(timeout=2), sim.last_image * 17)


def test_without_probing_a_module_at_another_speed_is_unavailable(start_module) -> None:
    sim = start_module("R307", baudrate=9600)
    scanner = R30xFingerprintScanner("fp", sim.port, packet_timeout=0.3, probe_baudrates=False)
    with pytest.raises(DeviceUnavailable, match="57600"):
        scanner.open()
    assert scanner.status == DeviceStatus.DISCONNECTED


def test_a_module_that_switches_at_once_is_followed(start_module, open_scanner, platen) -> None:
    sim = start_module(SWITCHES_AT_ONCE)
    scanner = open_scanner(sim)
    assert scanner.change_baudrate(115200) is BaudChange.APPLIED
    assert sim.baudrate == 115200 and scanner.baudrate == 115200
    assert scanner.pending_baudrate is None
    assert scanner.system_parameters is not None
    assert scanner.system_parameters.baudrate == 115200
    assert scanner.identity.mode["baudrate"] == "115200"
    platen["image"] = FINGER
    assert np.array_equal(scanner.capture(timeout=2), sim.last_image * 17)
    with pytest.raises(ValueError):
        scanner.change_baudrate(100000)


@pytest.mark.parametrize("model", ["R307", "R503"])
def test_a_baud_change_waits_for_the_next_power_up_as_the_manuals_say(
    start_module, open_scanner, platen, model
) -> None:
    sim = start_module(model)
    scanner = open_scanner(sim)
    assert scanner.change_baudrate(115200) is BaudChange.AT_NEXT_POWER_UP
    assert sim.baudrate == 57600 and scanner.baudrate == 57600  # both still at the old rate
    assert scanner.pending_baudrate == 115200
    assert scanner.identity.mode["baudrate_at_next_power_up"] == "115200"
    assert scanner.system_parameters is not None
    assert scanner.system_parameters.baudrate == 115200  # what the module stored
    platen["image"] = FINGER
    assert np.array_equal(scanner.capture(timeout=2), sim.last_image * 17)

    sim.unplug()
    sim.plug()  # power cycle: the stored rate takes effect
    assert sim.baudrate == 115200
    assert not scanner.ping()  # the old port went away with the power
    assert scanner.ping()  # reopened: the probe finds the new rate
    assert scanner.baudrate == 115200 and scanner.pending_baudrate is None
    assert np.array_equal(scanner.capture(timeout=2), sim.last_image * 17)


@pytest.mark.parametrize(("model", "line_after"), [(SWITCHES_AT_ONCE, 38400), ("R503", 57600)])
def test_a_target_baudrate_at_open_is_asked_for(
    start_module, open_scanner, model, line_after
) -> None:
    sim = start_module(model)
    scanner = open_scanner(sim, target_baudrate=38400)
    assert sim.baudrate == line_after and scanner.baudrate == line_after
    assert scanner.pending_baudrate == (None if line_after == 38400 else 38400)
    assert scanner.status == DeviceStatus.READY
    assert scanner.identity.mode["baudrate"] == str(line_after)
    scanner.close()
    scanner.open()  # not asked again while the change waits for the power-up
    assert sim.commands_seen.count(0x0E) == 1
