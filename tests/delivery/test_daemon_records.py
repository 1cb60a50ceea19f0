"""The daemon's records side over gRPC: USB export bundles imported idempotently at the centre,
the disk-space guard, WatchRecords following delivery, purging after the retention window, and
which records RetryDelivery sends again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from delivery_helpers import STATION, wait_until

from capture.errors import ErrorKind, WorkflowError
from simulator.centre import CentreServer
from simulator.centre.samples import small_record
from station.auth import Role
from station.client import StationClient
from station.config import CentreConfig, ExportConfig, StationConfig, UploaderConfig
from station.errors import error_reason
from station.sealing import RecordSealer
from station.server import StationDaemon
from station.v1 import common_pb2, enrollment_pb2, records_pb2
from uploader.bundle import BundleError, open_bundle
from uploader.keys import load_centre_public_key
from uploader.outbox import RecordState
from uploader.package import seal


@dataclass
class Daemon:
    daemon: StationDaemon
    centre: CentreServer
    client: StationClient

    def enqueue(self, record_id: str, index: int) -> None:
        """Seal and queue a record the way CompleteEnrollment's sealer does."""
        public = load_centre_public_key(self.centre.public_key_path)
        sealed = seal(small_record(record_id, index, STATION), self.daemon.keys, public)
        self.daemon.outbox.enqueue(sealed, category="regular", meta={"enrollment_id": record_id})


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> Iterator[Daemon]:
    root = tmp_path_factory.mktemp("daemon")
    centre = CentreServer(root / "centre", decision_delay=0.05).start()
    config = StationConfig(
        station_id=STATION,
        data_dir=root / "station",
        listen="127.0.0.1:0",
        centre=CentreConfig(
            url=centre.url,
            public_key=centre.public_key_path,
            receipt_key=centre.identity.receipt_public_path,
            tls_pin=centre.identity.pin_text,
        ),
        uploader=UploaderConfig(
            delivery_interval_s=0.05,
            poll_interval_s=0.05,
            max_backoff_s=0.5,
            package_retention_days=0.0,
            purge_interval_s=0.1,
        ),
        # The tests' folders stand for the USB drive's mount point.
        export=ExportConfig(roots=[tmp_path_factory.getbasetemp()]),
    )
    daemon = StationDaemon(config)
    centre.provision(STATION, daemon.keys.public_pem())
    port = daemon.start()
    daemon.uploader.stop()  # delivery stays off until a test wants the network "back"
    token = daemon.tokens.add("op-ani", Role.OPERATOR)
    client = StationClient(f"127.0.0.1:{port}", token)
    try:
        yield Daemon(daemon, centre, client)
    finally:
        client.close()
        daemon.stop()
        centre.stop()


def export(kit: Daemon, destination: Path, *ids: str) -> records_pb2.ExportBundleResponse:
    """The last message of ExportBundle's progress stream: the finished bundle."""
    *_progress, done = kit.client.records.ExportBundle(
        records_pb2.ExportBundleRequest(destination=str(destination), record_ids=list(ids)),
        metadata=kit.client.metadata,
    )
    return done


def test_export_bundle_then_import_at_the_centre_exactly_once(kit, tmp_path):
    for index in range(3):
        kit.enqueue(f"USB-{index}", 100 + index)
    usb = tmp_path / "usb"
    usb.mkdir()
    response = export(kit, usb)
    assert response.record_count == 3
    bundle_path = Path(response.bundle_path)
    assert bundle_path.parent == usb and (bundle_path / "manifest.json").exists()
    assert not [p for p in usb.iterdir() if p.name.startswith(".")]  # no staging left behind

    first = kit.centre.import_bundle(bundle_path)
    again = kit.centre.import_bundle(bundle_path)
    assert first == {"RECEIVED": 3} and again == {"ALREADY_RECEIVED": 3}
    record = kit.client.records.GetRecord(
        records_pb2.GetRecordRequest(record_id="USB-0"), metadata=kit.client.metadata
    )
    assert record.status == records_pb2.RECORD_STATUS_CARRIED
    assert "USB bundle" in record.history[-1].detail

    # The network comes back: the kit's deliveries of the same bytes count as delivered.
    kit.daemon.uploader.start()
    try:
        outbox = kit.daemon.outbox
        assert wait_until(
            lambda: all(
                outbox.get(f"USB-{i}").state == RecordState.PRINT_READY_RECORD for i in range(3)
            )
        )
        assert kit.daemon.uploader.counters()["delivery_already_at_centre"] == 3
    finally:
        kit.daemon.uploader.stop()
    outcomes = kit.centre.store.ingest_outcomes()
    assert all(outcomes[f"USB-{i}"].get("RECEIVED") == 1 for i in range(3))


def test_tampered_or_foreign_bundles_are_refused(kit, tmp_path):
    kit.enqueue("USB-T", 200)
    usb = tmp_path / "usb"
    usb.mkdir()
    bundle_path = Path(export(kit, usb, "USB-T").bundle_path)
    manifest_path = bundle_path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["records"][0]["size"] += 1
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="signature"):
        kit.centre.import_bundle(bundle_path)
    with pytest.raises(BundleError, match="unknown station"):
        open_bundle(bundle_path, {})
    assert kit.centre.store.get("USB-T") is None


def test_damaged_package_in_a_bundle_is_not_imported(kit, tmp_path):
    kit.enqueue("USB-D", 201)
    usb = tmp_path / "usb"
    usb.mkdir()
    bundle_path = Path(export(kit, usb, "USB-D").bundle_path)
    package = bundle_path / "packages" / "USB-D.pkg"
    data = bytearray(package.read_bytes())
    data[50] ^= 0x55
    package.write_bytes(bytes(data))
    assert kit.centre.import_bundle(bundle_path) == {"DAMAGED_IN_BUNDLE": 1}
    assert kit.centre.store.get("USB-D") is None


def test_export_errors_speak_to_the_operator(kit, tmp_path):
    with pytest.raises(grpc.RpcError) as missing:
        export(kit, tmp_path / "not-plugged-in")
    assert missing.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(missing.value) == "EXPORT_DESTINATION_INVALID"
    with pytest.raises(grpc.RpcError) as unknown:
        export(kit, tmp_path, "NO-SUCH-RECORD")
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


def test_disk_space_guard_refuses_new_enrollments(kit):
    outbox = kit.daemon.outbox
    floor = outbox.min_free_bytes
    outbox.min_free_bytes = outbox.free_bytes() + 2**40  # a floor above what this disk has free
    try:
        subject = enrollment_pb2.Subject(
            nik="3171010101900001",
            name="Siti Aminah",
            birth_date="1990-01-01",
            sex=common_pb2.SEX_FEMALE,
            category=common_pb2.RESIDENT_CATEGORY_REGULAR,
            demographics_ref="KK-317101-0001",
        )
        with pytest.raises(grpc.RpcError) as refused:
            kit.client.enrollment.StartEnrollment(
                enrollment_pb2.StartEnrollmentRequest(subject=subject),
                metadata=[*kit.client.metadata[1:], ("accept-language", "id")],
            )
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert error_reason(refused.value) == "DISK_SPACE_LOW"
        assert "Penyimpanan perangkat hampir penuh" in refused.value.details()

        # CompleteEnrollment's sealer refuses the same way before sealing anything.
        sealer = RecordSealer(
            STATION,
            kit.daemon.keys,
            kit.centre.public_key_path,
            outbox,
            kit.daemon.devices,
        )
        with pytest.raises(WorkflowError) as sealing:
            sealer.check_space()
        assert sealing.value.kind is ErrorKind.RESOURCE_EXHAUSTED
        assert sealing.value.reason == "DISK_SPACE_LOW"
    finally:
        outbox.min_free_bytes = floor


def test_watch_follows_delivery_and_packages_are_purged_after_retention(kit):
    kit.enqueue("W-1", 300)
    stream = kit.client.records.WatchRecords(
        records_pb2.WatchRecordsRequest(record_ids=["W-1"], include_current=True),
        metadata=kit.client.metadata,
        timeout=30,
    )
    seen = []
    kit.daemon.uploader.start()
    try:
        for event in stream:
            seen.append(event.record.status)
            if event.record.status == records_pb2.RECORD_STATUS_PRINT_READY_RECORD:
                break
            assert len(seen) < 20
        stream.cancel()
        assert seen[0] == records_pb2.RECORD_STATUS_SEALED
        assert records_pb2.RECORD_STATUS_SENT_FOR_ENROLLMENT in seen
        assert records_pb2.RECORD_STATUS_RECEIVED_AT_CENTRAL in seen
        outbox = kit.daemon.outbox
        assert wait_until(lambda: outbox.get("W-1").package_path is None)
        assert not (outbox.packages_dir / "W-1.pkg").exists()
        assert outbox.get("W-1").state == RecordState.PRINT_READY_RECORD  # the row stays
        assert wait_until(
            lambda: any(
                e.action == "package_purged" and e.target == "W-1"
                for e in kit.daemon.audit.entries()
            )
        )
    finally:
        kit.daemon.uploader.stop()


def retry(kit: Daemon, record_id: str) -> records_pb2.Record:
    return kit.client.records.RetryDelivery(
        records_pb2.RetryDeliveryRequest(record_id=record_id), metadata=kit.client.metadata
    )


@pytest.mark.parametrize(
    "state", [RecordState.SEARCH_FAILURE_AT_CENTRAL, RecordState.ENROLL_FAILURE_AT_CENTRAL]
)
def test_retry_delivery_resends_a_record_that_failed_at_the_centre(kit, state):
    record_id = f"RETRY-{state.value}"
    kit.enqueue(record_id, 400 + len(state.value))
    kit.daemon.outbox.set_status(record_id, state, "the centre's search failed")
    try:
        record = retry(kit, record_id)
        assert record.status == records_pb2.RECORD_STATUS_SEALED
        assert kit.daemon.outbox.get(record_id).state == RecordState.SEALED
    finally:  # settle it, so no other test of this module's kit finds it waiting
        kit.daemon.outbox.set_status(record_id, RecordState.PRINT_READY_RECORD)


def test_retry_delivery_sends_a_carried_record_now_and_keeps_it_carried(kit):
    """A bundle lost on the way: the operator sends its record over the network at once; it
    stays CARRIED (the kit asks the centre before sending the body)."""
    outbox = kit.daemon.outbox
    kit.enqueue("RETRY-CARRIED", 460)
    outbox.mark_carried("RETRY-CARRIED", "LOST-BUNDLE")
    outbox.reschedule("RETRY-CARRIED", outbox.clock.wall() + 86400.0)
    try:
        record = retry(kit, "RETRY-CARRIED")
        assert record.status == records_pb2.RECORD_STATUS_CARRIED
        assert kit.daemon.outbox.history("RETRY-CARRIED")[-1].cause == "RETRY_REQUESTED"
        assert outbox.get("RETRY-CARRIED").next_attempt_at <= outbox.clock.now() + 1.0
    finally:
        outbox.set_status("RETRY-CARRIED", RecordState.PRINT_READY_RECORD)


def test_retry_delivery_refuses_a_record_the_centre_has_decided_on(kit):
    kit.enqueue("RETRY-DONE", 450)
    kit.daemon.outbox.set_status("RETRY-DONE", RecordState.PRINT_READY_RECORD)
    with pytest.raises(grpc.RpcError) as refused:
        retry(kit, "RETRY-DONE")
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(refused.value) == "RECORD_NOT_RETRYABLE"
    assert kit.daemon.outbox.get("RETRY-DONE").state == RecordState.PRINT_READY_RECORD
