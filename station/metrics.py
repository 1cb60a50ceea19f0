"""Prometheus metrics: captures by modality and outcome, quality histograms, outbox depth and
age, delivery attempts and latency, device status, refused calls. Served over HTTP on a
loopback address (``[station] metrics_listen``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from drivers.base import Device, DeviceStatus
from station.audit import capture_modality, capture_outcome
from station.auth import AuthListener, Operator, TokenCheck
from station.observing import FinishedCall
from station.storage_health import STORES, StorageHealth
from uploader.outbox import DELIVERABLE_STATES, Outbox, RecordState, StatusChange

CAPTURE_METHOD = "/station.v1.Enrollment/Capture"
METRICS_METHODS = frozenset({CAPTURE_METHOD})
QUALITY_BUCKETS = (10, 20, 30, 40, 50, 60, 70, 80, 90, 100)
LATENCY_BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400)
# Uploader counters -> the ``result`` label of rekam_delivery_attempts_total.
DELIVERY_RESULTS = {
    "delivery_uploads_accepted": "accepted",
    "delivery_already_at_centre": "already_at_centre",
    "delivery_retryable_failures": "retryable_failure",
    "delivery_network_errors": "network_error",
    "delivery_dead_letters": "dead_letter",
}


class StationMetrics(AuthListener):
    """The daemon's metrics. Call and auth events are pushed in (it is a call observer and an
    auth listener); outbox, delivery and device figures are read when scraped."""

    def __init__(
        self,
        outbox: Outbox,
        devices: Callable[[], list[Device]],
        delivery_counters: Callable[[], dict[str, int]],
        registry: CollectorRegistry | None = None,
        storage: StorageHealth | None = None,
        audit_held: Callable[[], int] = lambda: 0,
    ) -> None:
        self.registry = registry or CollectorRegistry()
        self.outbox = outbox
        self.captures = Counter(
            "rekam_captures",
            "Capture calls by modality and outcome",
            ["modality", "outcome"],
            registry=self.registry,
        )
        self.quality = Histogram(
            "rekam_capture_quality_score",
            "Quality score (0..100) of each capture's result",
            ["modality"],
            buckets=QUALITY_BUCKETS,
            registry=self.registry,
        )
        self.refusals = Counter(
            "rekam_auth_refusals",
            "Calls refused for a missing, unknown, expired or revoked token, or the wrong role",
            ["reason"],
            registry=self.registry,
        )
        self.delivery_latency = Histogram(
            "rekam_delivery_latency_seconds",
            "Time from sealing a record to the centre accepting it",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_ScrapeTimeCollector(outbox, devices, delivery_counters))
        self.registry.register(_StorageCollector(storage or StorageHealth(), audit_held))
        outbox.add_listener(self._on_outbox_change)

    def call_finished(self, call: FinishedCall) -> None:
        if call.method != CAPTURE_METHOD:
            return
        modality = capture_modality(call)
        self.captures.labels(modality, capture_outcome(call)).inc()
        if call.response is not None and call.response.HasField("result"):
            self.quality.labels(modality).observe(call.response.result.sample.quality.score)

    def authenticated(self, method: str, operator: Operator) -> None:
        return None

    def refused(self, method: str, check: TokenCheck, reason: str, peer: str = "") -> None:
        self.refusals.labels(reason).inc()

    def _on_outbox_change(self, change: StatusChange) -> None:
        if change.state is not RecordState.SENT_FOR_ENROLLMENT:
            return
        record = self.outbox.get(change.record_id)
        if record is not None:
            self.delivery_latency.observe(max(0.0, change.at - record.created_at))

    def close(self) -> None:
        self.outbox.remove_listener(self._on_outbox_change)


class _ScrapeTimeCollector(Collector):
    """Figures read from the outbox, the uploader and the devices at each scrape."""

    def __init__(
        self,
        outbox: Outbox,
        devices: Callable[[], list[Device]],
        delivery_counters: Callable[[], dict[str, int]],
    ) -> None:
        self.outbox = outbox
        self.devices = devices
        self.delivery_counters = delivery_counters

    def collect(self) -> Iterable[Metric]:
        counts = self.outbox.counts()
        by_state = GaugeMetricFamily(
            "rekam_outbox_records", "Records in the outbox by state", labels=["state"]
        )
        for state in RecordState:
            by_state.add_metric([state.value], counts.get(state, 0))
        yield by_state
        waiting = self.outbox.list(DELIVERABLE_STATES, limit=1)
        yield GaugeMetricFamily(
            "rekam_outbox_depth",
            "Records not yet accepted by the centre (sealed, or carried on a drive)",
            value=sum(counts.get(state, 0) for state in DELIVERABLE_STATES),
        )
        age = self.outbox.clock.now() - waiting[0].created_at if waiting else 0.0
        yield GaugeMetricFamily(
            "rekam_outbox_oldest_age_seconds",
            "Age of the oldest record not yet accepted by the centre (0 when none waits)",
            value=max(0.0, age),
        )
        counters = self.delivery_counters()
        attempts = CounterMetricFamily(
            "rekam_delivery_attempts", "Delivery attempts by result", labels=["result"]
        )
        for key, result in DELIVERY_RESULTS.items():
            attempts.add_metric([result], counters.get(key, 0))
        yield attempts
        yield CounterMetricFamily(
            "rekam_delivery_bytes",
            "Package bytes sent to the centre",
            value=counters.get("delivery_bytes_sent", 0),
        )
        status = GaugeMetricFamily(
            "rekam_device_status",
            "1 for each device's current status",
            labels=["device", "modality", "status"],
        )
        for device in self.devices():
            modality = device.capabilities.modality.value
            for value in DeviceStatus:
                status.add_metric(
                    [device.device_id, modality, value.value], int(device.status is value)
                )
        yield status


class _StorageCollector(Collector):
    """The storage alarm: which stores cannot write, how often they failed, what waits."""

    def __init__(self, storage: StorageHealth, audit_held: Callable[[], int]) -> None:
        self.storage = storage
        self.audit_held = audit_held

    def collect(self) -> Iterable[Metric]:
        failing = self.storage.failing()
        alarm = GaugeMetricFamily(
            "rekam_storage_failing",
            "1 while the store cannot write (the disk is full, failing or read-only)",
            labels=["store"],
        )
        failures = CounterMetricFamily(
            "rekam_storage_failures",
            "Writes the disk refused, by store",
            labels=["store"],
        )
        for store in STORES:
            alarm.add_metric([store], int(store in failing))
            failures.add_metric([store], self.storage.failures[store])
        yield alarm
        yield failures
        yield GaugeMetricFamily(
            "rekam_audit_entries_held",
            "Audit entries held in memory until the disk takes writes again",
            value=self.audit_held(),
        )


@dataclass
class MetricsEndpoint:
    """The HTTP server exposing ``/metrics``; ``stop()`` closes it."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_metrics(host: str, port: int, registry: CollectorRegistry) -> MetricsEndpoint:
    """Serve ``registry`` on http://host:port/metrics (port 0: any free port)."""
    server, thread = start_http_server(port, addr=host, registry=registry)
    return MetricsEndpoint(server, thread)
