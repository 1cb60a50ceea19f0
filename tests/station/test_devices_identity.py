"""What ``rekam diag`` says of each device's identity and negotiated mode, against the
configured expectations (``expect_*`` options), over the real RunDiagnostics of a running kit."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serial.tools.list_ports_common import ListPortInfo
from simkit import Kit, running_kit
from test_devices_diagnostics import by_check, run_steps

from simulator.simulate import SimulatedSetup
from station.commands import diag

pytestmark = pytest.mark.timeout(120)

TWIN_ID = "fingerprint-twin"
FIRST_TWO = ("fingerprint-0", "face-camera-0")
# What each kit device is configured to be, where it differs from what the kit has: the
# simulated module is an R307-class ZhianTec module (no ReadProdInfo: it names itself R30x)
# with a 256x288 sensor, the face camera streams 640x480, and the
# pad runs at 19200 baud; no driver reports a sensor name in its mode.
EXPECTATIONS: dict[str, dict[str, str]] = {
    "fingerprint-0": {"expect_model": "R503", "expect_sensor": "FPC1011"},
    "face-camera-0": {"expect_image_size": "1280x720"},
    "signature-0": {"expect_baudrate": "38400"},
    "fingerprint-usb-0": {"expect_image_size": "300X288", "expect_vendor": "veridicom"},
}


def twin_adapters() -> list[ListPortInfo]:
    """Two identical CP2102 adapters without serial numbers, on hub ports 1-1.2 and 1-1.3."""
    twins = []
    for node, location in (("/dev/ttyUSB7", "1-1.2"), ("/dev/ttyUSB12", "1-1.3")):
        info = ListPortInfo(node, skip_link_detection=True)
        info.vid, info.pid, info.location = 0x10C4, 0xEA60, location
        twins.append(info)
    return twins


@pytest.fixture(scope="module")
def expecting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    """A kit whose configuration expects other devices than some it has, plus a scanner named
    by a VID:PID that two plugged-in adapters share."""
    kit_devices = SimulatedSetup.devices.fget
    assert kit_devices is not None

    def configured(setup: SimulatedSetup) -> list[dict[str, Any]]:
        specs = [
            {**spec, "options": {**spec["options"], **EXPECTATIONS.get(spec["id"], {})}}
            for spec in kit_devices(setup)
        ]
        twin = {"id": TWIN_ID, "driver": "r30x", "port": "usb-serial:10c4:ea60", "options": {}}
        return [*specs, twin]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SimulatedSetup, "devices", property(configured))
        patch.setattr("serial.tools.list_ports.comports", twin_adapters)
        data_dir: Path = tmp_path_factory.mktemp("kit") / "station"
        with running_kit("KIT-TEST-02", data_dir) as kit:
            yield kit


def test_the_report_shows_each_devices_identity_and_negotiated_mode(station) -> None:
    steps = run_steps(station.client(station.technician_token))
    scanner = by_check(steps, "fingerprint-0")
    assert "ZhianTec R30x" in scanner["identity"].detail
    assert scanner["mode"].passed and "image_size 256x288" in scanner["mode"].detail
    assert "baudrate 57600" in scanner["mode"].detail
    assert scanner["mode"].figures["ppi"] == 500
    pad = by_check(steps, "signature-0")["mode"]
    assert "range 15360x9600" in pad.detail and pad.figures["max_pressure"] > 0
    assert "image_size 640x480" in by_check(steps, "face-camera-0")["mode"].detail


def test_a_device_other_than_configured_fails_identity_with_its_remedy(expecting) -> None:
    steps = run_steps(expecting.client(expecting.technician_token, language="id"))
    identity = by_check(steps, "fingerprint-0")["identity"]
    assert not identity.passed
    assert "R30x" in identity.detail and "R503" in identity.detail
    assert "expect_" in identity.remedy and "Perangkat" in identity.remedy  # Bahasa Indonesia
    assert by_check(steps, "fingerprint-0")["platen"].passed  # the checks go on


def test_a_mode_other_than_configured_fails_the_mode_check(expecting) -> None:
    steps = run_steps(expecting.client(expecting.technician_token))
    camera = by_check(steps, "face-camera-0")["mode"]
    assert not camera.passed
    assert 'expect_image_size="1280x720" -> 640x480' in camera.detail
    assert "camera format" in camera.remedy
    pad = by_check(steps, "signature-0")["mode"]
    assert not pad.passed and 'expect_baudrate="38400" -> 19200' in pad.detail
    scanner = by_check(steps, "fingerprint-0")["mode"]
    assert not scanner.passed and 'expect_sensor="FPC1011" -> ?' in scanner.detail  # unreported
    usb = by_check(steps, "fingerprint-usb-0")
    assert usb["identity"].passed and usb["mode"].passed  # case and spelling aside


def test_a_spec_two_adapters_match_fails_connectivity_naming_them(expecting) -> None:
    steps = run_steps(expecting.client(expecting.technician_token), [TWIN_ID])
    assert [s.check for s in steps] == ["connectivity"]
    remedy = steps[0].remedy
    assert "/dev/ttyUSB7" in remedy and "/dev/ttyUSB12" in remedy
    assert "usb-path:1-1.2" in remedy and "usb-path:1-1.3" in remedy


def test_rekam_diag_json_carries_the_mismatch_and_its_remedy(expecting) -> None:
    parser = argparse.ArgumentParser()
    diag.register(parser.add_subparsers())
    token = expecting.technician_token
    args = parser.parse_args(
        ["diag", "--address", expecting.address, "--token", token, "--json", *FIRST_TWO]
    )
    out, err = io.StringIO(), io.StringIO()
    assert args.func(args, out, err) == 1
    report = json.loads(out.getvalue())
    failed = {(s["device_id"], s["check"]): s for s in report["steps"] if not s["passed"]}
    assert set(failed) == {
        ("fingerprint-0", "identity"),
        ("fingerprint-0", "mode"),
        ("face-camera-0", "mode"),
    }
    assert all(s["remedy"] for s in failed.values())
    modes = [s for s in report["steps"] if s["check"] == "mode"]
    assert any("image_size 256x288" in s["detail"] for s in modes)
