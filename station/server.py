"""The station daemon: devices, enrollment workflow, outbox and uploader behind a gRPC server."""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
from collections.abc import Callable
from concurrent import futures
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from capture.assess import assessor_lookup
from capture.enrollment import EnrollmentStore
from capture.workflow import EnrollmentWorkflow
from station.auth import AuthInterceptor, TokenStore
from station.config import StationConfig
from station.devices import DeviceManager
from station.sealing import RecordSealer
from station.services.devices import DevicesService
from station.services.enrollment import EnrollmentService, face_camera_lookup
from station.services.records import RecordsService
from station.v1 import (
    devices_pb2,
    devices_pb2_grpc,
    enrollment_pb2,
    enrollment_pb2_grpc,
    records_pb2,
    records_pb2_grpc,
)
from uploader.keys import StationKeys
from uploader.outbox import Outbox
from uploader.service import Uploader

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
SERVICE_NAMES = (
    devices_pb2.DESCRIPTOR.services_by_name["Devices"].full_name,
    enrollment_pb2.DESCRIPTOR.services_by_name["Enrollment"].full_name,
    records_pb2.DESCRIPTOR.services_by_name["Records"].full_name,
)


class ConfigurationError(Exception):
    """The configuration cannot be served as it is; the message says what to change."""


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def private_dir(path: Path) -> Path:
    """Create ``path`` readable by the owner only."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


class StationDaemon:
    """Everything the daemon runs. ``start()`` binds and serves; ``stop()`` ends it cleanly."""

    def __init__(
        self, config: StationConfig, on_prompt: Callable[[str], None] | None = None
    ) -> None:
        if not is_loopback(config.host):
            raise ConfigurationError(
                f"Refusing to listen on {config.listen}: only loopback addresses "
                "(127.0.0.1, ::1, localhost) are served without TLS."
            )
        if not config.centre.url or not config.centre.public_key:
            raise ConfigurationError(
                "Set [centre] url and public_key: records are sealed for the centre's key."
            )
        self.config = config
        self.stopping = threading.Event()
        data_dir = private_dir(config.data_dir)
        self.tokens = TokenStore(data_dir / "operators.db")
        self.devices = DeviceManager(config.devices)
        self.outbox = Outbox(data_dir / "outbox")
        self.keys = StationKeys.load_or_create(data_dir / "keys")
        self.uploader = Uploader(
            self.outbox,
            config.centre.url,
            idle_interval=config.uploader.delivery_interval_s,
            poll_interval=config.uploader.poll_interval_s,
            backoff_cap=config.uploader.max_backoff_s,
        )
        self.workflow = EnrollmentWorkflow(
            EnrollmentStore(),
            self.devices.for_modality,
            assessor_lookup(config.quality),
            config.thresholds,
            config.capture,
            on_prompt=on_prompt,
        )
        sealer = RecordSealer(
            config.station_id,
            self.keys,
            Path(config.centre.public_key),
            self.outbox,
            self.devices,
            on_sealed=self.uploader.kick,
        )
        self.health = health.HealthServicer()
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="rpc"),
            interceptors=[AuthInterceptor(self.tokens)],
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ],
        )
        devices_pb2_grpc.add_DevicesServicer_to_server(
            DevicesService(self.devices, self.tokens, self.stopping), self.server
        )
        enrollment_pb2_grpc.add_EnrollmentServicer_to_server(
            EnrollmentService(
                self.workflow,
                self.tokens,
                sealer,
                face_camera_lookup(self.devices.for_modality),
            ),
            self.server,
        )
        records_pb2_grpc.add_RecordsServicer_to_server(
            RecordsService(self.outbox, self.tokens, self.uploader.kick, self.stopping),
            self.server,
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), self.server
        )
        self.port = 0
        self._join_status: Callable[[], None] | None = None

    def start(self) -> int:
        """Open devices, bind, start serving and delivering; returns the bound port."""
        self.devices.open_all()
        self._join_status = self.devices.watch_status(self.stopping)
        address = self.config.listen
        self.port = self.server.add_insecure_port(address)
        if self.port == 0:
            raise ConfigurationError(f"Could not listen on {address}: is the port in use?")
        self.server.start()
        self.uploader.start()
        for name in ("", *SERVICE_NAMES):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info(
            "station %s serving on %s port %d", self.config.station_id, self.config.host, self.port
        )
        return self.port

    def stop(self, grace: float = 3.0) -> None:
        """Stop accepting calls, let running ones end, flush the outbox, release devices."""
        self.health.enter_graceful_shutdown()
        self.stopping.set()
        self.server.stop(grace).wait(grace + 1)
        self.uploader.stop()
        if self._join_status is not None:
            self._join_status()
        self.devices.close()
        self.outbox.close()
        self.tokens.close()
        log.info("station stopped")
