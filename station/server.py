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

from capture.assess import assessor_lookup, finaliser_lookup
from capture.enrollment import EnrollmentStore
from capture.journal import EnrollmentJournal
from capture.workflow import EnrollmentWorkflow
from domain.clock import STATE_FILE as CLOCK_STATE_FILE
from domain.clock import ClockStep, KitClock
from station.approvals import ApprovalBook
from station.audit import AUDITED_METHODS, AuditAnchor, AuditLog, AuditTrail
from station.auth import AuthInterceptor, TokenStore
from station.config import StationConfig
from station.devices import DeviceManager
from station.identity import IdentityUnavailable, open_identity
from station.limits import StreamGuard
from station.metrics import METRICS_METHODS, MetricsEndpoint, StationMetrics, serve_metrics
from station.observing import ObservingInterceptor
from station.sealing import RecordSealer
from station.services.devices import DevicesService
from station.services.enrollment import EnrollmentService, face_camera_lookup
from station.services.records import BundleExporter, RecordsService
from station.storage_health import HEALTH_SERVICE, StorageHealth
from station.throttle import LoginThrottle
from station.tls import centre_trust, server_credentials
from station.v1 import (
    devices_pb2,
    devices_pb2_grpc,
    enrollment_pb2,
    enrollment_pb2_grpc,
    records_pb2,
    records_pb2_grpc,
)
from station.validation import MalformedRequestInterceptor
from station.web.forwarding import Forwarder, method_table
from station.web.gateway import WebDoor, WebDoorSettings
from uploader.keys import StationSigner
from uploader.outbox import Outbox
from uploader.service import Uploader
from uploader.sink import InvalidSinkSettings, SinkContext
from uploader.sink_registry import SinkUnavailable, UnknownSink, sink_factory

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # the largest answer (thumbnails, preview frames)
RPC_WORKERS = 32
# Workers streams may never take: unary calls and health always find one.
WORKERS_KEPT_FOR_UNARY = 8
SERVICES = (
    devices_pb2.DESCRIPTOR.services_by_name["Devices"],
    enrollment_pb2.DESCRIPTOR.services_by_name["Enrollment"],
    records_pb2.DESCRIPTOR.services_by_name["Records"],
)
SERVICE_NAMES = tuple(service.full_name for service in SERVICES)
# What the web door forwards: the station's services and the health checks.
WEB_SERVICES = (*SERVICES, health_pb2.DESCRIPTOR.services_by_name["Health"])
# The web door's own way in: a loopback port in the clear (the door itself is loopback only).
WEB_DOOR_TARGET = "127.0.0.1:0"


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


def build_uploader(
    outbox: Outbox,
    config: StationConfig,
    keys: StationSigner,
    on_purged: Callable[[list[str]], None] | None = None,
    *,
    simulated: bool = False,
) -> Uploader:
    """The uploader ``[uploader]`` describes (caps, retention), delivering through the sink it
    names, built from that sink's ``[sinks.<name>]`` table."""
    settings = config.uploader
    try:
        make_sink = sink_factory(settings.sink, config.sinks.get(settings.sink, {}))
    except (UnknownSink, SinkUnavailable, InvalidSinkSettings) as exc:
        raise ConfigurationError(
            f"Cannot deliver through [uploader] sink {settings.sink!r}: {exc}. "
            f"Check [uploader] sink and [sinks.{settings.sink}]."
        ) from exc
    return Uploader(
        outbox,
        config.centre.url,
        trust=centre_trust(config, simulated),
        station_id=config.station_id,
        idle_interval=settings.delivery_interval_s,
        poll_interval=settings.poll_interval_s,
        backoff_cap=settings.max_backoff_s,
        max_concurrent_uploads=settings.max_concurrent_uploads,
        max_bytes_per_second=settings.max_bytes_per_second or None,
        transfer_timeout=settings.transfer_timeout_s,
        package_retention=settings.package_retention_s,
        purge_interval=settings.purge_interval_s,
        make_sink=lambda centre: make_sink(SinkContext(centre, config.station_id, keys)),
        on_purged=on_purged,
    )


def _loopback_with_port(address: str) -> bool:
    host, _, port = address.rpartition(":")
    return is_loopback(host.strip("[]")) and port.isdigit()


def check_exposure(config: StationConfig) -> None:
    """Refuse a configuration that would expose the kit: a non-loopback gRPC address without
    TLS, or a metrics endpoint or web door beyond loopback."""
    if not is_loopback(config.host) and not config.tls.enabled:
        raise ConfigurationError(
            f"Refusing to listen on {config.listen} without TLS: only loopback addresses "
            "(127.0.0.1, ::1, localhost) are served in the clear. Set [station.tls] cert and "
            "key (and client_ca for mutual TLS)."
        )
    if config.tls.enabled and not (config.tls.cert and config.tls.key):
        raise ConfigurationError("Set both [station.tls] cert and key.")
    if config.metrics_listen and not _loopback_with_port(config.metrics_listen):
        raise ConfigurationError(
            f"[station] metrics_listen {config.metrics_listen!r} must be a loopback "
            "address with a port, e.g. 127.0.0.1:9464."
        )
    if config.web.enabled and not _loopback_with_port(config.web.listen):
        raise ConfigurationError(
            f"[station.web] listen {config.web.listen!r} must be a loopback address with a "
            "port, e.g. 127.0.0.1:50080."
        )


def check_identity(config: StationConfig, *, simulated: bool) -> None:
    """Refuse file keys outside a simulated kit: a kit's keys live in its TPM."""
    if config.identity.backend != "tpm" and not simulated:
        raise ConfigurationError(
            f'Refusing to serve with [identity] backend = "{config.identity.backend}": a kit\'s '
            'signing and journal keys live in its TPM. Set [identity] backend = "tpm" (and tcti '
            "if the TPM is not /dev/tpmrm0); file keys are for `rekam serve --simulate` only."
        )


class StationDaemon:
    """Everything the daemon runs. ``start()`` binds and serves; ``stop()`` ends it cleanly."""

    def __init__(self, config: StationConfig, *, simulated: bool = False) -> None:
        """``simulated``: a simulated kit (``rekam serve --simulate``), which alone may reach
        its centre over plain http://."""
        check_exposure(config)
        if not config.centre.url or not config.centre.public_key:
            raise ConfigurationError(
                "Set [centre] url and public_key: records are sealed for the centre's key."
            )
        self.config = config
        self.stopping = threading.Event()
        data_dir = private_dir(config.data_dir)
        try:
            self.identity = open_identity(config.identity, private_dir(data_dir / "keys"))
        except IdentityUnavailable as exc:
            raise ConfigurationError(
                f"Cannot open the station's keys ([identity] backend = "
                f'"{config.identity.backend}"): {exc}'
            ) from exc
        self.keys: StationSigner = self.identity.signer
        self.clock = KitClock(data_dir / CLOCK_STATE_FILE)
        self.tokens = TokenStore(data_dir / "operators.db", clock=self.clock.now_datetime)
        self.health = health.HealthServicer()
        self.storage = StorageHealth(on_change=self._storage_changed)
        self.audit = AuditLog(data_dir / "audit.db", on_storage=self.storage.listener("audit"))
        self.clock.add_listener(self._audit_clock_step)
        self.devices = DeviceManager(config.devices)
        self.outbox = Outbox(
            data_dir / "outbox",
            min_free_bytes=config.uploader.min_free_bytes,
            clock=self.clock,
            on_storage=self.storage.listener("outbox"),
        )
        self.uploader = build_uploader(
            self.outbox, config, self.keys, on_purged=self._audit_purged, simulated=simulated
        )
        self.audit_anchor = AuditAnchor(self.audit, self.keys, config.audit.sign_interval_s)
        journal = EnrollmentJournal(data_dir / "enrollments", self.identity.journal_key)
        sealer = RecordSealer(
            config.station_id,
            self.keys,
            Path(config.centre.public_key),
            self.outbox,
            self.devices,
            on_sealed=self.uploader.kick,
            audit_head=self.audit_anchor.sign_now,
            clock=self.clock,
        )
        self.workflow = EnrollmentWorkflow(
            EnrollmentStore(),
            self.devices.for_modality,
            assessor_lookup(config.quality),
            config.thresholds,
            config.capture,
            journal=journal,
            finalisers=finaliser_lookup(config.quality),
            sealed=sealer.sealed,
            on_storage=self.storage.listener("journal"),
            clock=self.clock,
        )
        self.metrics = StationMetrics(
            self.outbox,
            self.devices.devices,
            self.uploader.counters,
            storage=self.storage,
            audit_held=lambda: self.audit.held,
        )
        approvals = ApprovalBook(config.limits.approval_ttl_s)
        limits = config.limits
        self.trail = trail = AuditTrail(
            self.audit, self.tokens, approvals, refusal_window_s=limits.failed_login_window_s
        )
        self.stream_guard = StreamGuard(
            self.tokens,
            per_token=limits.streams_per_token,
            total=RPC_WORKERS - WORKERS_KEPT_FOR_UNARY,
            language=config.language,
        )
        self.observing = ObservingInterceptor(
            self.tokens, (trail, self.metrics), AUDITED_METHODS | METRICS_METHODS
        )
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=RPC_WORKERS, thread_name_prefix="rpc"),
            interceptors=[
                AuthInterceptor(
                    self.tokens,
                    listeners=(trail, self.metrics),
                    language=config.language,
                    throttle=LoginThrottle(
                        limits.failed_logins_per_peer, limits.failed_login_window_s
                    ),
                ),
                self.stream_guard,
                MalformedRequestInterceptor(config.language),
                self.observing,
            ],
            options=[
                ("grpc.max_receive_message_length", limits.max_request_kb * 1024),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ],
        )
        devices_pb2_grpc.add_DevicesServicer_to_server(
            DevicesService(
                self.devices, self.tokens, self.stopping, language=config.language
            ),
            self.server,
        )
        enrollment_pb2_grpc.add_EnrollmentServicer_to_server(
            EnrollmentService(
                self.workflow,
                self.tokens,
                sealer,
                face_camera_lookup(self.devices.for_modality),
                space_guard=sealer.check_space,
                stopping=self.stopping,
                language=config.language,
                approvals=approvals,
                proof_photo_max_bytes=config.limits.proof_photo_max_kb * 1024,
            ),
            self.server,
        )
        records_pb2_grpc.add_RecordsServicer_to_server(
            RecordsService(
                self.outbox,
                self.tokens,
                self.uploader.kick,
                self.stopping,
                exporter=BundleExporter(
                    self.outbox,
                    config.station_id,
                    self.keys,
                    receipt_key=self.uploader.client.trust.receipt_key,
                ),
                language=config.language,
                export_roots=config.export.roots,
            ),
            self.server,
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), self.server
        )
        self.port = 0
        self.metrics_endpoint: MetricsEndpoint | None = None
        self.web: WebDoor | None = None
        self._join_status: Callable[[], None] | None = None

    def _audit_clock_step(self, step: ClockStep) -> None:
        self.audit.append(
            "station",
            "clock_step",
            f"{step.seconds:+.0f}s",
            {"wall_after": step.at, "while_stopped": step.while_stopped},
        )

    def _storage_changed(self, ok: bool) -> None:
        """``rekam.storage`` health: NOT_SERVING while a store cannot write."""
        status = health_pb2.HealthCheckResponse
        self.health.set(HEALTH_SERVICE, status.SERVING if ok else status.NOT_SERVING)

    def _audit_purged(self, record_ids: list[str]) -> None:
        for record_id in record_ids:
            self.audit.append("station", "package_purged", record_id)

    def start(self) -> int:
        """Open devices, bind, start serving and delivering; returns the bound port."""
        self.devices.open_all()
        self._join_status = self.devices.watch_status(self.stopping)
        address = self.config.listen
        if self.config.tls.enabled:
            self.port = self.server.add_secure_port(address, server_credentials(self.config.tls))
        else:
            self.port = self.server.add_insecure_port(address)
        if self.port == 0:
            raise ConfigurationError(f"Could not listen on {address}: is the port in use?")
        web_target_port = (
            self.server.add_insecure_port(WEB_DOOR_TARGET) if self.config.web.enabled else 0
        )
        self.server.start()
        if web_target_port:
            self.web = self._open_web_door(f"127.0.0.1:{web_target_port}")
        self.uploader.start()
        for name in ("", *SERVICE_NAMES):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self._storage_changed(not self.storage.failing())
        if self.config.metrics_listen:
            host, _, port = self.config.metrics_listen.rpartition(":")
            self.metrics_endpoint = serve_metrics(
                host.strip("[]"), int(port), self.metrics.registry
            )
        self.audit.append("station", "daemon_started", self.config.station_id)
        self.audit_anchor.start()
        log.info(
            "station %s serving on %s port %d%s",
            self.config.station_id,
            self.config.host,
            self.port,
            " (TLS)" if self.config.tls.enabled else "",
        )
        return self.port

    def _open_web_door(self, target: str) -> WebDoor:
        """gRPC-Web and MJPEG previews on ``[station.web] listen``, calling this daemon's gRPC
        server at ``target``."""
        web = self.config.web
        settings = WebDoorSettings(
            host=web.host,
            port=web.port,
            allowed_origins=web.allowed_origins,
            preview_url_ttl_s=web.preview_url_ttl_s,
            max_connections=web.max_connections,
            capture=self.config.capture,
        )
        forwarder = Forwarder(target, method_table(WEB_SERVICES), MAX_MESSAGE_BYTES)
        door = WebDoor(settings, forwarder, self.tokens, self.devices.get, self.audit.append)
        door.start()
        log.info("web door (gRPC-Web, MJPEG previews) at %s", door.url)
        return door

    def serving(self) -> bool:
        """True from ``start()`` until ``stop()`` begins."""
        return self.port != 0 and not self.stopping.is_set()

    def stop(self, grace: float = 3.0) -> None:
        """Stop accepting calls, let running ones end, flush the outbox, release devices."""
        self.health.enter_graceful_shutdown()
        self.stopping.set()
        if self.web is not None:
            self.web.stop()
        self.server.stop(grace).wait(grace + 1)
        if not self.observing.drain(timeout=grace + 5):
            log.warning("calls still running after the grace period; their audit may be missing")
        self.stream_guard.close()
        self.trail.flush_refusals()
        self.uploader.stop()
        if self._join_status is not None:
            self._join_status()
        self.devices.close()
        if self.metrics_endpoint is not None:
            self.metrics_endpoint.stop()
        self.metrics.close()
        self.outbox.close()
        self.audit.append("station", "daemon_stopped", self.config.station_id)
        self.audit_anchor.stop()
        self.audit.close()
        self.tokens.close()
        self.identity.close()
        log.info("station stopped")
