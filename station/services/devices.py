"""station.v1.Devices: what is attached, device events, and technician diagnostics."""

from __future__ import annotations

import queue
import threading

from drivers.base import DeviceStatus, ImageDevice, PenDevice
from drivers.errors import DeviceError
from station import convert
from station.auth import TokenStore, caller
from station.devices import DeviceManager
from station.errors import caller_language
from station.v1 import devices_pb2, devices_pb2_grpc

EVENT_KIND = {
    "attached": devices_pb2.DeviceEvent.KIND_ATTACHED,
    "detached": devices_pb2.DeviceEvent.KIND_DETACHED,
    "status_changed": devices_pb2.DeviceEvent.KIND_STATUS_CHANGED,
}

REMEDY = {
    "connectivity": (
        "Reconnect the device's cable (or power it on), then run the diagnostics again.",
        "Sambungkan kembali kabel perangkat (atau nyalakan), lalu jalankan diagnostik lagi.",
    ),
    "identity": (
        "The device did not identify itself: check the configured driver and port.",
        "Perangkat tidak mengenali dirinya: periksa driver dan port yang dikonfigurasi.",
    ),
    "test_capture": (
        "The test capture failed: clean the sensor or lens and present again.",
        "Uji perekaman gagal: bersihkan sensor atau lensa lalu ulangi.",
    ),
}


class DevicesService(devices_pb2_grpc.DevicesServicer):
    def __init__(self, devices: DeviceManager, tokens: TokenStore, stopping: threading.Event):
        self.devices = devices
        self.tokens = tokens
        self.stopping = stopping

    def _pb(self, device):
        return convert.device_to_pb(device, self.devices.driver_of(device.device_id))

    def ListDevices(self, request, context):
        caller(context, self.tokens)
        return devices_pb2.ListDevicesResponse(
            devices=[self._pb(d) for d in self.devices.devices()]
        )

    def WatchDevices(self, request, context):
        caller(context, self.tokens)
        events = self.devices.subscribe()
        try:
            if request.include_current:
                for device in self.devices.devices():
                    yield devices_pb2.DeviceEvent(
                        kind=devices_pb2.DeviceEvent.KIND_ATTACHED, device=self._pb(device)
                    )
            while context.is_active() and not self.stopping.is_set():
                try:
                    event = events.get(timeout=0.25)
                except queue.Empty:
                    continue
                yield devices_pb2.DeviceEvent(
                    kind=EVENT_KIND[event.kind],
                    device=convert.device_to_pb(event.device, event.driver),
                    time=convert.timestamp(event.time),
                )
        finally:
            self.devices.unsubscribe(events)

    def RunDiagnostics(self, request, context):
        caller(context, self.tokens)
        language = caller_language(context)
        wanted = set(request.device_ids)
        for device in self.devices.devices():
            if wanted and device.device_id not in wanted:
                continue
            yield from self._diagnose(device, request.include_test_capture, language)

    def _diagnose(self, device, include_capture: bool, language: str):
        def step(check: str, passed: bool, detail: str, figures=None):
            en, idn = REMEDY[check]
            return devices_pb2.DiagnosticStep(
                device_id=device.device_id,
                check=check,
                passed=passed,
                detail=detail,
                remedy="" if passed else (idn if language == "id" else en),
                figures=figures or {},
            )

        connected = device.status is not DeviceStatus.DISCONNECTED
        if not connected:
            try:
                device.open()
                connected = True
            except DeviceError as exc:
                yield step("connectivity", False, exc.detail)
                return
        yield step("connectivity", True, f"{device.identity.transport} {device.identity.port}")
        identity = device.identity
        known = identity.vendor not in ("", "unknown") and identity.model not in ("", "unknown")
        yield step("identity", known, f"{identity.vendor} {identity.model} {identity.serial}")
        if not include_capture:
            return
        try:
            with device.lock:
                if isinstance(device, PenDevice):
                    trace = device.capture_signature(timeout=10.0)
                    yield step("test_capture", bool(trace.points), f"{len(trace.points)} points")
                elif isinstance(device, ImageDevice):
                    image = device.capture(timeout=10.0)
                    mean = float(image.mean())
                    yield step(
                        "test_capture",
                        5.0 < mean < 250.0,
                        f"{image.shape[1]}x{image.shape[0]}",
                        {"mean_grey": mean},
                    )
        except DeviceError as exc:
            yield step("test_capture", False, exc.detail)
