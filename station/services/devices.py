"""station.v1.Devices: what is attached, hotplug events, and technician diagnostics."""

from __future__ import annotations

import queue
import threading

import grpc

from domain.messages import SOURCE_LANGUAGE, msg
from drivers.base import Device, DeviceStatus
from station import convert
from station.auth import TokenStore
from station.devices import DeviceManager, UnusableDevice, unavailable_message
from station.diagnostics import CheckResult, DiagnosticLimits, diagnose, diagnose_unusable
from station.services.base import StationServicer
from station.v1 import devices_pb2, devices_pb2_grpc

EVENT_KIND = {
    "attached": devices_pb2.DeviceEvent.KIND_ATTACHED,
    "detached": devices_pb2.DeviceEvent.KIND_DETACHED,
    "status_changed": devices_pb2.DeviceEvent.KIND_STATUS_CHANGED,
}


def device_to_pb(device: Device, driver: str, language: str) -> devices_pb2.Device:
    """The API's view of a device, with an operator sentence when it is disconnected."""
    message = convert.device_to_pb(device, driver)
    if device.status is DeviceStatus.DISCONNECTED:
        unavailable = unavailable_message(device.capabilities.modality)
        message.status_message = unavailable.render(language)
    return message


def unusable_to_pb(entry: UnusableDevice, language: str) -> devices_pb2.Device:
    """A configured device whose driver cannot be loaded: disconnected, with the cause."""
    return devices_pb2.Device(
        id=entry.device_id,
        driver=entry.driver,
        status=devices_pb2.DEVICE_STATUS_DISCONNECTED,
        identity=devices_pb2.DeviceIdentity(port=entry.port),
        status_message=entry.error.message.render(language),
    )


def step_to_pb(result: CheckResult, language: str) -> devices_pb2.DiagnosticStep:
    return devices_pb2.DiagnosticStep(
        device_id=result.device_id,
        check=result.check,
        passed=result.passed,
        detail=result.detail.render(language),
        remedy=result.remedy.render(language) if result.remedy else "",
        figures=result.figures,
    )


class DevicesService(StationServicer, devices_pb2_grpc.DevicesServicer):
    def __init__(
        self,
        devices: DeviceManager,
        tokens: TokenStore,
        stopping: threading.Event,
        limits: DiagnosticLimits | None = None,
        language: str = SOURCE_LANGUAGE,
    ):
        self.devices = devices
        self.tokens = tokens
        self.stopping = stopping
        self.limits = limits or DiagnosticLimits()
        self.language = language  # the station's default operator language

    def _pb(self, device: Device, context: grpc.ServicerContext) -> devices_pb2.Device:
        language = self.language_of(context)
        return device_to_pb(device, self.devices.driver_of(device.device_id), language)

    def ListDevices(self, request, context):
        self.caller(context)
        language = self.language_of(context)
        unusable = [unusable_to_pb(u, language) for u in self.devices.unusable()]
        return devices_pb2.ListDevicesResponse(
            devices=[self._pb(d, context) for d in self.devices.devices()] + unusable
        )

    def WatchDevices(self, request, context):
        self.caller(context)
        language = self.language_of(context)
        events = self.devices.subscribe()
        try:
            if request.include_current:
                for device in self.devices.devices():
                    yield devices_pb2.DeviceEvent(
                        kind=devices_pb2.DeviceEvent.KIND_ATTACHED, device=self._pb(device, context)
                    )
            while context.is_active() and not self.stopping.is_set():
                try:
                    event = events.get(timeout=0.25)
                except queue.Empty:
                    continue
                yield devices_pb2.DeviceEvent(
                    kind=EVENT_KIND[event.kind],
                    device=device_to_pb(event.device, event.driver, language),
                    time=convert.timestamp(event.time),
                )
        finally:
            self.devices.unsubscribe(events)

    def RunDiagnostics(self, request, context):
        self.caller(context)
        language = self.language_of(context)
        known = {device.device_id: device for device in self.devices.devices()}
        unusable = {entry.device_id: entry for entry in self.devices.unusable()}
        unknown = [d for d in request.device_ids if d not in known and d not in unusable]
        if unknown:
            names = ", ".join(unknown)
            not_found = msg("DEVICE_NOT_FOUND", names=names, known=", ".join([*known, *unusable]))
            self.refuse(context, grpc.StatusCode.NOT_FOUND, "DEVICE_NOT_FOUND", not_found)
        cancel = threading.Event()
        context.add_callback(cancel.set)
        wanted = set(request.device_ids) or {*known, *unusable}
        for device_id, entry in unusable.items():
            if device_id in wanted:
                for result in diagnose_unusable(entry):
                    yield step_to_pb(result, language)
        for device_id, device in known.items():
            if device_id not in wanted:
                continue
            for result in diagnose(
                device,
                include_capture=request.include_test_capture,
                limits=self.limits,
                reopen=self.devices.reopen,
                cancel=cancel,
            ):
                yield step_to_pb(result, language)
            self.devices.sync(device)
            if cancel.is_set():
                return
