"""Hotplug over gRPC: WatchDevices events, unplug mid-capture, and recovery without a restart."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator

import grpc
import pytest

from simulator.control import post
from simulator.demo import subject_for
from simulator.personas import make_persona
from station.client import StationClient, position
from station.errors import error_reason
from station.v1 import devices_pb2, enrollment_pb2

pytestmark = pytest.mark.timeout(120)

DETACHED = devices_pb2.DeviceEvent.KIND_DETACHED
ATTACHED = devices_pb2.DeviceEvent.KIND_ATTACHED


class EventWatch:
    """A WatchDevices stream read on a thread into a queue; stopped by ``close``."""

    def __init__(self, client: StationClient) -> None:
        self.events: queue.Queue[devices_pb2.DeviceEvent] = queue.Queue()
        self.stream = client.devices.WatchDevices(
            devices_pb2.WatchDevicesRequest(), metadata=client.metadata, timeout=90
        )
        self.thread = threading.Thread(target=self._read, name="watch-reader", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for event in self.stream:
                self.events.put(event)
        except grpc.RpcError:
            return

    def next_for(self, device_id: str, limit_s: float = 15.0) -> devices_pb2.DeviceEvent:
        """The next attach or detach of ``device_id`` (status changes and other devices are
        skipped), within ``limit_s``."""
        deadline = time.monotonic() + limit_s
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                event = self.events.get(timeout=remaining)
            except queue.Empty:
                break
            if event.device.id == device_id and event.kind in (ATTACHED, DETACHED):
                return event
        raise AssertionError(f"no event about {device_id} within {limit_s} s")

    def close(self) -> None:
        self.stream.cancel()
        self.thread.join(timeout=5)


@pytest.fixture
def watch(station) -> Iterator[EventWatch]:
    client = station.client()
    watcher = EventWatch(client)
    try:
        yield watcher
    finally:
        watcher.close()
        client.close()


def device_status(client: StationClient, device_id: str) -> devices_pb2.Device:
    listed = client.devices.ListDevices(devices_pb2.ListDevicesRequest(), metadata=client.metadata)
    return next(d for d in listed.devices if d.id == device_id)


def wait_until_ready(client: StationClient, device_id: str, limit_s: float = 15.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if device_status(client, device_id).status == devices_pb2.DEVICE_STATUS_READY:
            return
        time.sleep(0.1)
    raise AssertionError(f"{device_id} did not come back within {limit_s} s")


@pytest.mark.parametrize("device_id", ["fingerprint-0", "fingerprint-usb-0", "face-camera-0"])
def test_watch_shows_detach_then_attach(station, watch, device_id) -> None:
    control = station.setup.control.url
    client = station.client(language="id")
    try:
        post(control, f"/v1/devices/{device_id}/unplug")
        detached = watch.next_for(device_id)
        assert detached.kind == DETACHED
        assert detached.device.status == devices_pb2.DEVICE_STATUS_DISCONNECTED
        listed = device_status(client, device_id)
        assert listed.status == devices_pb2.DEVICE_STATUS_DISCONNECTED
        assert "tidak terhubung" in listed.status_message  # the sentence, in Bahasa Indonesia

        post(control, f"/v1/devices/{device_id}/plug")
        attached = watch.next_for(device_id)
        assert attached.kind == ATTACHED
        assert attached.device.status == devices_pb2.DEVICE_STATUS_READY
        assert device_status(client, device_id).status_message == ""
    finally:
        post(control, f"/v1/devices/{device_id}/plug")
        client.close()


def start_enrollment_with_face(client: StationClient, seed: int) -> str:
    persona = make_persona("adult", seed)
    subject = subject_for(persona, demographics_ref=f"KK-{seed}")
    enrollment = client.enrollment.StartEnrollment(
        enrollment_pb2.StartEnrollmentRequest(subject=subject), metadata=client.metadata
    )
    summary = client.capture(enrollment.enrollment_id, position("face"), timeout=60)
    assert summary.result is not None
    client.enrollment.ApproveSample(
        enrollment_pb2.ApproveSampleRequest(
            enrollment_id=enrollment.enrollment_id, position=position("face"), approved=True
        ),
        metadata=client.metadata,
    )
    return enrollment.enrollment_id


def test_unplug_mid_capture_is_unavailable_and_plugging_back_recovers(station, watch) -> None:
    kit = station.setup.kit
    station.present("adult", 4711)
    client = station.client()
    try:
        enrollment_id = start_enrollment_with_face(client, 4711)
        kit.set_fault("fingerprint-0", "no_finger")  # the scanner waits for a finger ...
        stream = client.enrollment.Capture(
            enrollment_pb2.CaptureRequest(
                enrollment_id=enrollment_id, position=position("right_index"), timeout_seconds=60
            ),
            metadata=client.metadata,
            timeout=60,
        )
        first = next(stream)
        assert first.WhichOneof("event") == "prompt"
        post(station.setup.control.url, "/v1/devices/fingerprint-0/unplug")  # ... cable pulled
        events = [event for _, event in zip(range(1000), stream, strict=False)]  # bounded
        result = events[-1].result  # the stream ends in a result the operator acts on
        assert not result.accepted and result.reason == "DEVICE_UNAVAILABLE"
        assert result.attempts_left == 3 and result.sample.device_id == "fingerprint-0"
        assert "fingerprint scanner" in result.message
        assert watch.next_for("fingerprint-0").kind == DETACHED
        # While it is gone, a capture naming it is refused at once, naming the other scanner.
        with pytest.raises(grpc.RpcError) as caught:
            client.capture(enrollment_id, position("right_index"), timeout=5)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert error_reason(caught.value) == "DEVICE_UNAVAILABLE"
        assert "fingerprint-0" in caught.value.details()
        assert "fingerprint-usb-0" in caught.value.details()

        kit.clear_faults("fingerprint-0")
        post(station.setup.control.url, "/v1/devices/fingerprint-0/plug")
        assert watch.next_for("fingerprint-0").kind == ATTACHED
        wait_until_ready(client, "fingerprint-0")
        summary = client.capture(enrollment_id, position("right_index"), timeout=60)
        assert summary.result is not None
        assert summary.result.sample.device_id == "fingerprint-0"
    finally:
        kit.clear_faults("fingerprint-0")
        post(station.setup.control.url, "/v1/devices/fingerprint-0/plug")
        client.close()
