"""RunDiagnostics over gRPC and the ``rekam diag`` command against a running daemon."""

from __future__ import annotations

import argparse
import io
import json

import grpc
import pytest

from simulator.control import post
from station.commands import diag
from station.errors import error_reason
from station.v1 import devices_pb2

pytestmark = pytest.mark.timeout(120)

KIT_DEVICES = {
    "fingerprint-0",
    "fingerprint-usb-0",
    "signature-0",
    "face-camera-0",
    "iris-camera-0",
}


def run_steps(client, device_ids=(), capture=False, on_step=None) -> list:
    steps = []
    stream = client.devices.RunDiagnostics(
        devices_pb2.RunDiagnosticsRequest(
            device_ids=list(device_ids), include_test_capture=capture
        ),
        metadata=client.metadata,
        timeout=60,
    )
    for step in stream:
        steps.append(step)
        if on_step is not None:
            on_step(step)
    return steps


def by_check(steps, device_id: str) -> dict:
    return {s.check: s for s in steps if s.device_id == device_id}


@pytest.fixture
def clean_kit(station):
    kit = station.setup.kit
    kit.place_finger(None)
    yield kit
    for device_id in KIT_DEVICES:
        kit.clear_faults(device_id)
        kit.plug(device_id)
    kit.place_finger(None)


def test_every_device_passes_its_checks_on_a_healthy_kit(station, clean_kit) -> None:
    steps = run_steps(station.client(station.technician_token))
    assert {s.device_id for s in steps} == KIT_DEVICES
    assert all(s.passed for s in steps), [(s.device_id, s.check, s.detail) for s in steps]
    assert all(s.remedy == "" for s in steps)
    assert set(by_check(steps, "fingerprint-0")) == {"connectivity", "identity", "mode", "platen"}
    assert set(by_check(steps, "face-camera-0")) == {"connectivity", "identity", "mode", "stream"}
    pen = by_check(steps, "signature-0")["pen"]
    assert pen.figures["max_pressure"] > 0 and pen.figures["max_x"] > 0


@pytest.mark.parametrize("role", ["operator_token", "supervisor_token"])
def test_only_technicians_may_run_diagnostics(station, role) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        run_steps(station.client(getattr(station, role)))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_unknown_device_is_not_found(station) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        run_steps(station.client(station.technician_token), ["printer-0"])
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_reason(caught.value) == "DEVICE_NOT_FOUND"
    assert "printer-0" in caught.value.details()


def test_dirty_platens_fail_with_a_remedy_in_the_callers_language(station, clean_kit) -> None:
    for device_id in ("fingerprint-0", "fingerprint-usb-0"):
        clean_kit.set_fault(device_id, "dirty_platen", coverage=0.08)
    client = station.client(station.technician_token, language="id")
    steps = run_steps(client, ["fingerprint-0", "fingerprint-usb-0"])
    for device_id in ("fingerprint-0", "fingerprint-usb-0"):
        platen = by_check(steps, device_id)["platen"]
        assert not platen.passed
        assert platen.figures["dark_fraction"] > 0.05
        assert "bersihkan kacanya" in platen.remedy


def test_fingerprint_test_capture_after_the_blank_check(station, clean_kit) -> None:
    def place_finger_after_platen(step) -> None:
        if step.check == "platen":
            clean_kit.place_finger(2)  # the technician presses a finger once the glass is checked

    station.present("adult", 31)
    steps = run_steps(
        station.client(station.technician_token),
        ["fingerprint-0"],
        capture=True,
        on_step=place_finger_after_platen,
    )
    checks = by_check(steps, "fingerprint-0")
    assert checks["platen"].passed
    assert checks["test_capture"].passed, checks["test_capture"].detail
    assert checks["test_capture"].figures["quality"] >= 10


def test_camera_exposure_and_focus_catch_dark_and_blurred_frames(station, clean_kit) -> None:
    station.present("adult", 32)
    client = station.client(station.technician_token)
    healthy = run_steps(client, ["face-camera-0", "iris-camera-0"], capture=True)
    assert all(s.passed for s in healthy), [(s.device_id, s.check, s.detail) for s in healthy]
    clean_kit.set_fault("face-camera-0", "blur", kernel=15)
    clean_kit.set_fault("iris-camera-0", "dark", gain=0.1)
    faulty = run_steps(client, ["face-camera-0", "iris-camera-0"], capture=True)
    face, iris = by_check(faulty, "face-camera-0"), by_check(faulty, "iris-camera-0")
    assert face["exposure"].passed and not face["focus"].passed
    assert "focus" in face["focus"].remedy
    assert not iris["exposure"].passed and iris["exposure"].figures["mean_grey"] < 50
    assert "lamp" in iris["exposure"].remedy


def test_pen_test_capture(station, clean_kit) -> None:
    station.present("adult", 33)
    clean_kit.signature_pad.arm()
    steps = run_steps(station.client(station.technician_token), ["signature-0"], capture=True)
    capture = by_check(steps, "signature-0")["test_capture"]
    assert capture.passed and capture.figures["peak_pressure"] > 0


def test_unplugged_device_fails_connectivity_and_stops_there(station, clean_kit) -> None:
    post(station.setup.control.url, "/v1/devices/signature-0/unplug")
    steps = run_steps(station.client(station.technician_token), ["signature-0"])
    assert [s.check for s in steps] == ["connectivity"]
    assert not steps[0].passed and "Reconnect" in steps[0].remedy


def diag_args(station, *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    diag.register(parser.add_subparsers())
    return parser.parse_args(["diag", "--address", station.address, *extra])


def test_rekam_diag_prints_a_report_and_exits_zero_when_healthy(
    station, clean_kit, monkeypatch
) -> None:
    monkeypatch.setenv("REKAM_TOKEN", station.technician_token)
    out, err = io.StringIO(), io.StringIO()
    args = diag_args(station, "fingerprint-0", "signature-0")
    assert args.func(args, out, err) == 0
    report = out.getvalue()
    assert "fingerprint-0" in report and "PASS  platen" in report
    assert "checks passed on 2 device(s)" in report


def test_rekam_diag_json_and_failing_exit_status(station, clean_kit) -> None:
    clean_kit.set_fault("fingerprint-0", "dirty_platen")
    out, err = io.StringIO(), io.StringIO()
    args = diag_args(station, "--token", station.technician_token, "--json", "fingerprint-0")
    assert args.func(args, out, err) == 1
    report = json.loads(out.getvalue())
    assert report["passed"] is False
    failed = [s for s in report["steps"] if not s["passed"]]
    assert [s["check"] for s in failed] == ["platen"] and failed[0]["remedy"]


def test_rekam_diag_refuses_an_operator_token(station) -> None:
    out, err = io.StringIO(), io.StringIO()
    args = diag_args(station, "--token", station.operator_token)
    assert args.func(args, out, err) == 2
    assert "PERMISSION_DENIED" in err.getvalue()
