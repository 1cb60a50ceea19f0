"""The daemon on a disk that fills up for real (a 48 MiB tmpfs): new enrollments are refused
with RESOURCE_EXHAUSTED and a sentence, the storage alarm shows in the metrics and the
``rekam.storage`` health status, audit entries are held rather than dropped, and when room
comes back every held entry is written, in order, into an intact chain."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from delivery_helpers import STATION
from grpc_health.v1 import health_pb2
from storage.disks import empty, fill, small_disk

from simulator.centre import CentreServer
from station.audit import AuditLog
from station.auth import Role
from station.client import StationClient
from station.config import CentreConfig, StationConfig
from station.errors import error_reason
from station.server import StationDaemon
from station.storage_health import HEALTH_SERVICE
from station.v1 import common_pb2, enrollment_pb2, records_pb2

SUBJECT = enrollment_pb2.Subject(
    nik="3171014101900001",
    name="Siti Aminah",
    birth_date="1990-01-01",
    sex=common_pb2.SEX_FEMALE,
    category=common_pb2.RESIDENT_CATEGORY_REGULAR,
    demographics_ref="KK-317101-0001",
)


def storage_health(client: StationClient) -> int:
    return client.health.Check(health_pb2.HealthCheckRequest(service=HEALTH_SERVICE)).status


def failing(daemon: StationDaemon, store: str) -> float | None:
    return daemon.metrics.registry.get_sample_value("rekam_storage_failing", {"store": store})


def test_a_full_disk_raises_the_alarm_and_holds_audit_entries(tmp_path: Path):
    centre = CentreServer(tmp_path / "centre").start()
    try:
        run_on_a_full_disk(tmp_path, centre)
    finally:
        centre.stop()


def run_on_a_full_disk(tmp_path: Path, centre: CentreServer) -> None:
    with small_disk(tmp_path / "disk", size_mb=48) as disk:
        config = StationConfig(
            station_id=STATION,
            data_dir=disk / "station",
            listen="127.0.0.1:0",
            centre=CentreConfig(
                url=centre.url,
                public_key=str(centre.public_key_path),
                receipt_key=centre.identity.receipt_public_path,
                tls_pin=centre.identity.pin_text,
            ),
        )
        daemon = StationDaemon(config)
        port = daemon.start()
        client = StationClient(f"127.0.0.1:{port}", daemon.tokens.add("op-ani", Role.OPERATOR))
        try:
            client.records.ListRecords(records_pb2.ListRecordsRequest(), metadata=client.metadata)
            serving = health_pb2.HealthCheckResponse.SERVING
            assert storage_health(client) == serving
            before = daemon.audit.head()[0]

            fill(disk)
            # The free-space floor refuses first; without a floor, the journal's write does.
            for reason, floor in (("DISK_SPACE_LOW", None), ("STORAGE_FULL", 0)):
                if floor is not None:
                    daemon.outbox.min_free_bytes = floor
                with pytest.raises(grpc.RpcError) as refused:
                    client.enrollment.StartEnrollment(
                        enrollment_pb2.StartEnrollmentRequest(subject=SUBJECT),
                        metadata=client.metadata,
                    )
                assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert error_reason(refused.value) == reason
                assert refused.value.details()  # the operator's sentence
            assert daemon.workflow.store.list() == []  # nothing half-started in memory

            assert storage_health(client) == health_pb2.HealthCheckResponse.NOT_SERVING
            assert failing(daemon, "journal") == 1.0
            assert failing(daemon, "audit") == 1.0
            assert daemon.audit.held >= 1  # the refused StartEnrollment's entry waits
            assert daemon.audit.head()[0] == before

            empty(disk)
            client.records.ListRecords(records_pb2.ListRecordsRequest(), metadata=client.metadata)
            assert daemon.audit.write_held() == 0
            assert daemon.audit.held == 0
            assert failing(daemon, "audit") == 0.0
        finally:
            client.close()
            daemon.stop()
        log = AuditLog(config.data_dir / "audit.db", readonly=True)
        try:
            actions = [(e.action, e.detail_map.get("status")) for e in log.entries()]
            assert ("enrollment_started", "RESOURCE_EXHAUSTED") in actions
            assert log.verify().ok
        finally:
            log.close()
