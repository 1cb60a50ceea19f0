"""The flash-disk loop, end to end on real files and processes: ExportBundle streams progress
and marks records CARRIED (exported again only on request); ``rekam sim center import`` (a real
process) reports each record by id, survives a SIGKILL and writes the centre's signed receipt
onto the drive; ImportReceipt settles the records from it, after which the kit never uploads
their bodies; and a carried record the centre already holds is settled by asking, not by
sending it again."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
import test_daemon_records
from delivery_helpers import STATION, centre_import, run_import, wait_until
from test_daemon_records import Daemon

from simulator.centre import CentreServer
from simulator.centre.samples import small_record
from station.errors import error_reason
from station.v1 import records_pb2
from uploader.bundle import write_bundle
from uploader.bundle_receipt import RECEIPT
from uploader.keys import StationKeys, load_centre_public_key
from uploader.outbox import RecordState
from uploader.package import seal

pytestmark = pytest.mark.slow
kit = test_daemon_records.kit  # a daemon, a centre and a client, for this module


def export_stream(
    kit: Daemon, destination: Path, *ids: str, include_carried: bool = False
) -> list[records_pb2.ExportBundleResponse]:
    return list(
        kit.client.records.ExportBundle(
            records_pb2.ExportBundleRequest(
                destination=str(destination), record_ids=list(ids), include_carried=include_carried
            ),
            metadata=kit.client.metadata,
        )
    )


def import_receipt(kit: Daemon, bundle: Path) -> records_pb2.ImportReceiptResponse:
    return kit.client.records.ImportReceipt(
        records_pb2.ImportReceiptRequest(bundle_path=str(bundle)), metadata=kit.client.metadata
    )


def drain(kit: Daemon) -> None:
    """Let the network deliver whatever earlier tests left waiting, so counters and wire bytes
    measure only the records of the test at hand."""
    outbox = kit.daemon.outbox
    kit.daemon.uploader.start()
    try:
        assert wait_until(lambda: not outbox.list([RecordState.SEALED, RecordState.CARRIED]))
    finally:
        kit.daemon.uploader.stop()


def progress_lines(output: str) -> dict[str, str]:
    """record id -> the rest of its ``[i/n] ID OUTCOME ...`` progress line."""
    lines = [line.split(maxsplit=2) for line in output.splitlines() if line.startswith("[")]
    return {parts[1]: parts[2] for parts in lines}


def test_export_streams_progress_marks_records_carried_and_exports_them_once(kit, tmp_path):
    ids = [f"CAR-{i}" for i in range(3)]
    for index, record_id in enumerate(ids):
        kit.enqueue(record_id, 300 + index)
    usb = tmp_path / "usb"
    usb.mkdir()
    messages = export_stream(kit, usb)
    *progress, done = messages
    outbox = kit.daemon.outbox
    sizes = [outbox.get(r).size for r in ids]
    assert [m.record_count for m in progress] == [1, 2, 3]
    assert [m.bytes_written for m in progress] == [sizes[0], sum(sizes[:2]), sum(sizes)]
    assert all(m.records_total == 3 and m.bytes_total == sum(sizes) for m in messages)
    assert not any(m.bundle_path for m in progress) and done.record_count == 3
    bundle = Path(done.bundle_path)
    assert (bundle / "manifest.json").exists()
    for record_id in ids:
        record = outbox.get(record_id)
        assert record.state is RecordState.CARRIED
        assert outbox.history(record_id)[-1].detail == f"carried in USB bundle {bundle.name}"

    # Nothing is waiting any more: a second export by default has nothing to write ...
    with pytest.raises(grpc.RpcError) as nothing:
        export_stream(kit, usb)
    assert error_reason(nothing.value) == "NOTHING_TO_EXPORT"
    # ... naming a carried record needs the explicit request ...
    with pytest.raises(grpc.RpcError) as carried:
        export_stream(kit, usb, "CAR-0")
    assert carried.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(carried.value) == "EXPORT_ALREADY_CARRIED"
    assert len(list(usb.iterdir())) == 1
    # ... and with it the records go into a new bundle, and their history names both.
    again = Path(export_stream(kit, usb, include_carried=True)[-1].bundle_path)
    assert again != bundle
    details = [change.detail for change in outbox.history("CAR-1")]
    assert details[-2:] == [f"carried in USB bundle {b.name}" for b in (bundle, again)]


def test_centre_import_cli_receipt_settles_records_and_no_body_is_uploaded(kit, tmp_path):
    drain(kit)
    ids = [f"LOOP-{i}" for i in range(4)]
    for index, record_id in enumerate(ids):
        kit.enqueue(record_id, 400 + index)
    usb = tmp_path / "usb"
    usb.mkdir()
    bundle = Path(export_stream(kit, usb, *ids)[-1].bundle_path)
    damaged = bundle / "packages" / "LOOP-3.pkg"
    data = bytearray(damaged.read_bytes())
    data[40] ^= 0x5A
    damaged.write_bytes(bytes(data))

    code, output = run_import(bundle, kit.centre.data_dir)
    assert code == 0, output
    lines = progress_lines(output)
    assert set(lines) == set(ids)
    assert all(lines[r].startswith("ACCEPTED") for r in ids[:3])
    assert lines["LOOP-3"].startswith("DAMAGED DAMAGED_IN_BUNDLE")
    assert (bundle / RECEIPT).is_file()

    response = import_receipt(kit, bundle)
    assert (response.bundle_name, response.settled, response.returned) == (bundle.name, 3, 1)
    outcomes = {o.record_id: o for o in response.outcomes}
    assert outcomes["LOOP-3"].outcome == "DAMAGED"
    assert outcomes["LOOP-3"].reason.startswith("DAMAGED_IN_BUNDLE")
    outbox = kit.daemon.outbox
    for record_id in ids[:3]:  # the centre's status when it wrote the receipt
        assert outbox.get(record_id).state in (
            RecordState.RECEIVED_AT_CENTRAL,
            RecordState.PRINT_READY_RECORD,
        )
        assert f"receipt of bundle {bundle.name}: accepted" in outbox.get(record_id).detail
    assert outbox.get("LOOP-3").state is RecordState.SEALED  # sent again, by network or disk
    # The same receipt brought back twice changes nothing.
    assert import_receipt(kit, bundle).settled == 0
    audited = list(kit.daemon.audit.entries("bundle_receipt_imported"))
    assert audited[-2].detail_map == {
        "bundle": bundle.name,
        "settled": 3,
        "returned": 1,
        "status": "OK",
    }
    assert audited[-2].actor == "op-ani" and audited[-2].target == str(bundle)

    wire_before = kit.daemon.uploader.client.wire_bytes
    kit.daemon.uploader.start()
    try:
        assert wait_until(
            lambda: all(outbox.get(r).state is RecordState.PRINT_READY_RECORD for r in ids)
        )
        # Settled records reach their decision and are purged like delivered ones.
        assert wait_until(lambda: all(outbox.get(r).package_path is None for r in ids))
    finally:
        kit.daemon.uploader.stop()
    # Only the damaged record's body crossed the network, once; the others were never sent.
    # Besides it, only the small signed status questions (batch requests) have bodies.
    sent = kit.daemon.uploader.client.wire_bytes - wire_before
    damaged = outbox.get("LOOP-3").size
    assert damaged <= sent < damaged + 4096, (sent, damaged)
    log = kit.centre.store.ingest_outcomes()
    assert all(log[r] == {"RECEIVED": 1} for r in ids)


def test_a_carried_record_the_centre_holds_is_settled_without_its_body(kit, tmp_path):
    drain(kit)
    ids = [f"ASK-{i}" for i in range(3)]
    for index, record_id in enumerate(ids):
        kit.enqueue(record_id, 500 + index)
    usb = tmp_path / "usb"
    usb.mkdir()
    bundle = Path(export_stream(kit, usb, *ids)[-1].bundle_path)
    assert kit.centre.import_bundle(bundle) == {"RECEIVED": 3}
    # The receipt stays on the drive (not brought back): the link returns first.
    counters = kit.daemon.uploader.counters()
    kit.daemon.uploader.start()
    try:
        outbox = kit.daemon.outbox
        assert wait_until(
            lambda: all(outbox.get(r).state is RecordState.PRINT_READY_RECORD for r in ids)
        )
    finally:
        kit.daemon.uploader.stop()
    after = kit.daemon.uploader.counters()
    assert after["delivery_already_at_centre"] - counters["delivery_already_at_centre"] == 3
    assert after["delivery_uploads_accepted"] == counters["delivery_uploads_accepted"]
    assert after["delivery_wire_bytes"] == counters["delivery_wire_bytes"]
    log = kit.centre.store.ingest_outcomes()
    assert all(log[r] == {"RECEIVED": 1} for r in ids)


def test_a_forged_or_missing_receipt_settles_nothing(kit, tmp_path):
    kit.enqueue("FORGE-0", 600)
    usb = tmp_path / "usb"
    usb.mkdir()
    bundle = Path(export_stream(kit, usb, "FORGE-0")[-1].bundle_path)
    with pytest.raises(grpc.RpcError) as missing:
        import_receipt(kit, bundle)
    assert error_reason(missing.value) == "CARRY_RECEIPT_INVALID"
    kit.centre.import_bundle(bundle)
    envelope = json.loads((bundle / RECEIPT).read_text())
    payload = json.loads(base64.b64decode(envelope["payload"]))
    payload["records"][0]["outcome"] = "ACCEPTED"
    payload["records"][0]["record_id"] = "FORGE-0"
    payload["station_id"] = STATION
    payload["bundle"] = "someone-else"
    envelope["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    (bundle / RECEIPT).write_text(json.dumps(envelope))
    with pytest.raises(grpc.RpcError) as forged:
        import_receipt(kit, bundle)
    assert forged.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "signed" in forged.value.details()
    assert kit.daemon.outbox.get("FORGE-0").state is RecordState.CARRIED


def signed_bundle(tmp_path: Path, usb: Path, count: int) -> tuple[Path, Path, list[str]]:
    """A centre data directory (not serving) with the station enrolled, and a signed bundle of
    ``count`` records in ``usb``: (bundle, centre data directory, record ids)."""
    centre_dir = tmp_path / "centre"
    keys = StationKeys.load_or_create(tmp_path / "station")
    with CentreServer(centre_dir, tls=False) as centre:
        centre.provision(STATION, keys.public_pem())
        public = load_centre_public_key(centre.public_key_path)
    ids = [f"KILL-{i:02d}" for i in range(count)]
    packages = [
        (r, seal(small_record(r, 700 + i, STATION), keys, public).data) for i, r in enumerate(ids)
    ]
    return write_bundle(usb, f"rekam-{STATION}-big", STATION, keys, packages), centre_dir, ids


@pytest.fixture
def big_bundle(tmp_path) -> tuple[Path, Path, list[str]]:
    usb = tmp_path / "usb"
    usb.mkdir()
    return signed_bundle(tmp_path, usb, 40)


@contextmanager
def removable_drive(path: Path, size: str = "64m") -> Iterator[Path]:
    """A real file system of its own (tmpfs of ``size``) mounted at ``path``, unmounted after."""
    if os.geteuid() != 0:
        pytest.skip("mounting a drive needs root (CI runs the suite as root)")
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def test_a_drive_that_fills_up_mid_export_leaves_no_bundle_and_no_record_carried(kit, tmp_path):
    ids = [f"FULL-{i}" for i in range(6)]
    for index, record_id in enumerate(ids):
        kit.enqueue(record_id, 800 + index)
    assert sum(kit.daemon.outbox.get(r).size for r in ids) > 200 * 1024
    with removable_drive(tmp_path / "usb", size="200k") as usb:
        with pytest.raises(grpc.RpcError) as full:
            export_stream(kit, usb, *ids)
        assert error_reason(full.value) == "EXPORT_FAILED"
        assert list(usb.iterdir()) == []  # the partial bundle is gone
    assert all(kit.daemon.outbox.get(r).state is RecordState.SEALED for r in ids)


def test_a_read_only_drive_keeps_the_import_open_until_the_receipt_is_written(tmp_path):
    with removable_drive(tmp_path / "usb") as usb:
        bundle, centre_dir, ids = signed_bundle(tmp_path, usb, 5)
        subprocess.run(["mount", "-o", "remount,ro", str(usb)], check=True)
        code, output = run_import(bundle, centre_dir)
        assert code == 1 and "receipt NOT written" in output, output
        assert set(progress_lines(output)) == set(ids)
        assert not (bundle / RECEIPT).exists()

        subprocess.run(["mount", "-o", "remount,rw", str(usb)], check=True)
        code, output = run_import(bundle, centre_dir)
        assert code == 0, output
        lines = progress_lines(output)
        assert all(t.startswith("ACCEPTED") and "(earlier run)" in t for t in lines.values())
        assert (bundle / RECEIPT).is_file()


def test_centre_import_resumes_after_sigkill_without_importing_twice(big_bundle):
    bundle, centre_dir, ids = big_bundle
    process = centre_import(bundle, centre_dir)
    assert process.stdout is not None
    seen = []
    for _ in range(len(ids)):
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if len(seen) == 3:
            process.send_signal(signal.SIGKILL)
            break
    process.wait(30)
    assert process.returncode == -signal.SIGKILL
    assert not (bundle / RECEIPT).exists(), "the import finished before it was killed"

    code, output = run_import(bundle, centre_dir)
    assert code == 0, output
    lines = progress_lines(output)
    assert sorted(lines) == ids  # every record reported once
    assert all(text.startswith("ACCEPTED") for text in lines.values()), output
    assert sum("(earlier run)" in text for text in lines.values()) >= 3
    assert (bundle / RECEIPT).is_file()
    with CentreServer(centre_dir, tls=False) as centre:
        assert centre.store.count() == len(ids)
        log = centre.store.ingest_outcomes()
        assert all(log[r].get("RECEIVED") == 1 for r in ids)  # none stored twice, none lost

    # Importing the finished bundle again is a new import: everything is a duplicate.
    code, output = run_import(bundle, centre_dir)
    assert code == 0 and all(t.startswith("DUPLICATE") for t in progress_lines(output).values())
