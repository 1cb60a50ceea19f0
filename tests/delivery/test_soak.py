"""Soak: a real kit (``rekam serve --simulate``, its own process) enrolls residents one after
another through the API while its link to the centre goes down and comes back, the kit is
SIGKILLed in the middle of an enrollment and restarted, and the records sealed during the
outage travel to the centre on a flash disk and their receipt comes back. At the end every
sealed record is print ready at the centre, none was lost or stored twice, the outbox and the
journal agree with what the operator was told, no enrollment is left in progress, and neither
daemon run logged a traceback.

The centre runs in this process (its fault controls at hand) behind a TCP proxy; the link is cut
for real: the proxy stops listening and drops every connection, then a new one takes its port.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from delivery_helpers import STATION, run_import, wait_until

from simulator.centre import CentreServer
from simulator.control import post
from simulator.demo import Operator, OperatorClient, Visit, subject_for
from simulator.faultproxy import FaultPlan, FaultProxy
from simulator.personas import make_persona
from station.client import StationClient, position
from station.processes import kill_process, operator_token, spawn_rekam, stop_process, wait_for_json
from station.v1 import enrollment_pb2, records_pb2
from uploader.bundle_receipt import RECEIPT
from uploader.outbox import Outbox, RecordState

pytestmark = pytest.mark.slow

SETTLE_S = 120.0  # bound on waiting for the centre's decisions once the link is back
SEED = 6000


@dataclass
class KitRun:
    """One run of the kit daemon: its process, log and clients."""

    process: subprocess.Popen
    log: Path
    operator: OperatorClient
    supervisor: StationClient
    control: str

    def close(self) -> None:
        self.operator.close()
        self.supervisor.close()


@dataclass
class Soak:
    """The kit's files, the centre, the link between them, and what the operator was told."""

    root: Path
    centre: CentreServer
    proxy: FaultProxy
    operator_token: str
    supervisor_token: str
    logs: list[Path] = field(default_factory=list)
    sealed: dict[str, str] = field(default_factory=dict)  # record id -> enrollment id

    @property
    def data_dir(self) -> Path:
        return self.root / "station"

    @property
    def usb(self) -> Path:
        return self.root / "media" / "usb0"

    def start_kit(self, enrollment_code: str = "") -> KitRun:
        """``rekam serve --simulate`` against the centre behind the proxy."""
        run = len(self.logs)
        ready = self.root / f"ready-{run}.json"
        log = self.root / f"kit-{run}.log"
        self.logs.append(log)
        centre = self.centre
        args = [
            "serve",
            "--simulate",
            "--config",
            str(self.root / "rekam.toml"),
            "--listen",
            "127.0.0.1:0",
            "--ready-file",
            str(ready),
            *centre.serve_options(f"https://127.0.0.1:{self.proxy.port}"),
        ]
        if enrollment_code:
            args += ["--enrollment-code", enrollment_code]
        process = spawn_rekam(args, log)
        info = wait_for_json(ready, process, 90)
        operator = OperatorClient(info["control"], info["grpc"], self.operator_token)
        supervisor = StationClient(info["grpc"], self.supervisor_token)
        operator.wait_until_serving(60)
        return KitRun(process, log, operator, supervisor, info["control"])

    def enroll(self, kit: KitRun, index: int) -> str:
        """One whole enrollment (face, ten fingers, irises, signature, sealed)."""
        seed = SEED + index
        post(kit.control, "/v1/resident", {"kind": "adult", "seed": seed})
        visit = Visit(f"soak-{index}", "adult", seed, records_pb2.RECORD_STATUS_PRINT_READY_RECORD)
        Operator(kit.operator, kit.supervisor, report=lambda _line: None).enroll(visit, {})
        self.sealed[visit.record_id] = visit.enrollment_id
        return visit.record_id

    def cut_link(self) -> None:
        """Nothing answers at the centre's address any more; open connections die."""
        self.proxy.stop()

    def restore_link(self, plan: FaultPlan) -> None:
        host, port = self.proxy.target
        self.proxy = FaultProxy(host, port, plan, seed=17, port=self.proxy.port).start()


@pytest.fixture
def soak(tmp_path) -> Iterator[Soak]:
    (tmp_path / "media" / "usb0").mkdir(parents=True)
    (tmp_path / "rekam.toml").write_text(
        f"""
[station]
id = "{STATION}"
data_dir = "{tmp_path / "station"}"

[uploader]
delivery_interval_s = 0.2
poll_interval_s = 0.2
max_backoff_s = 2.0
purge_interval_s = 0.5

[export]
roots = ["{tmp_path / "media"}"]
"""
    )
    data_dir = tmp_path / "station"
    operator = operator_token(data_dir, "op-soak", "operator")
    supervisor = operator_token(data_dir, "sup-soak", "supervisor")
    centre = CentreServer(tmp_path / "centre", decision_delay=0.2).start()
    proxy = FaultProxy("127.0.0.1", centre.port, seed=17).start()
    soak = Soak(tmp_path, centre, proxy, operator, supervisor)
    try:
        yield soak
    finally:
        soak.proxy.stop()  # the one serving now (the link may have been restored)
        centre.stop()


def record_state(kit: KitRun, record_id: str) -> int:
    return kit.operator.records.GetRecord(
        records_pb2.GetRecordRequest(record_id=record_id), metadata=kit.operator.metadata
    ).status


def in_progress(kit: KitRun) -> list[enrollment_pb2.Enrollment]:
    listed = kit.operator.enrollment.ListEnrollments(
        enrollment_pb2.ListEnrollmentsRequest(), metadata=kit.operator.metadata
    ).enrollments
    return [e for e in listed if e.state == enrollment_pb2.ENROLLMENT_STATE_IN_PROGRESS]


def start_and_capture_some(kit: KitRun, index: int) -> str:
    """An enrollment the kit loses power in: face and three fingers kept, then nothing."""
    seed = SEED + index
    post(kit.control, "/v1/resident", {"kind": "adult", "seed": seed})
    client = kit.operator
    started = client.enrollment.StartEnrollment(
        enrollment_pb2.StartEnrollmentRequest(subject=subject_for(make_persona("adult", seed))),
        metadata=client.metadata,
    )
    eid = started.enrollment_id
    assert client.capture(eid, position("face")).result.accepted
    client.enrollment.ApproveSample(
        enrollment_pb2.ApproveSampleRequest(
            enrollment_id=eid, position=position("face"), approved=True
        ),
        metadata=client.metadata,
    )
    for finger in ("right_thumb", "right_index", "right_middle"):
        assert client.capture(eid, position(finger)).result.accepted
    return eid


def finish_resumed(soak: Soak, kit: KitRun, eid: str, index: int) -> str:
    """After the restart: capture what the journal does not hold, then complete."""
    post(kit.control, "/v1/resident", {"kind": "adult", "seed": SEED + index})
    (resumed,) = [e for e in in_progress(kit) if e.enrollment_id == eid]
    assert position("right_index") in {s.position for s in resumed.samples}
    for missing in resumed.missing:
        assert kit.operator.capture(eid, missing).result.accepted
    done = kit.operator.enrollment.CompleteEnrollment(
        enrollment_pb2.CompleteEnrollmentRequest(enrollment_id=eid), metadata=kit.operator.metadata
    )
    soak.sealed[done.record_id] = eid
    return done.record_id


def carry_to_centre(soak: Soak, kit: KitRun) -> tuple[Path, records_pb2.ImportReceiptResponse]:
    """Export what waits onto the drive, import it at the centre with ``rekam sim center
    import``, bring the receipt back."""
    client = kit.operator
    *_progress, done = client.records.ExportBundle(
        records_pb2.ExportBundleRequest(destination=str(soak.usb)), metadata=client.metadata
    )
    bundle = Path(done.bundle_path)
    code, output = run_import(bundle, soak.centre.data_dir)
    assert code == 0, output
    assert (bundle / RECEIPT).is_file()
    receipt = client.records.ImportReceipt(
        records_pb2.ImportReceiptRequest(bundle_path=str(bundle)), metadata=client.metadata
    )
    return bundle, receipt


def test_a_kit_enrolling_through_outages_a_crash_and_a_flash_disk_loses_nothing(soak):
    code = soak.centre.issue_enrollment_code(STATION)
    kit = soak.start_kit(enrollment_code=code)
    index = 0
    try:
        # Online: records go straight to the centre.
        online = [soak.enroll(kit, index := index + 1) for _ in range(2)]
        assert wait_until(
            lambda: all(record_state(kit, r) != records_pb2.RECORD_STATUS_SEALED for r in online),
            timeout=60,
        )

        # The link goes down; the office keeps enrolling.
        soak.cut_link()
        offline = [soak.enroll(kit, index := index + 1) for _ in range(3)]
        assert {record_state(kit, r) for r in offline} == {records_pb2.RECORD_STATUS_SEALED}

        # The kit loses power in the middle of an enrollment.
        interrupted = start_and_capture_some(kit, index := index + 1)
        kit.close()
        kill_process(kit.process)
        kit = soak.start_kit()
        offline.append(finish_resumed(soak, kit, interrupted, index))
        assert in_progress(kit) == []

        # Still offline: the waiting records go to the centre on a flash disk.
        bundle, receipt = carry_to_centre(soak, kit)
        assert (receipt.settled, receipt.returned) == (len(offline), 0)
        for record_id in offline:
            assert record_state(kit, record_id) in (
                records_pb2.RECORD_STATUS_RECEIVED_AT_CENTRAL,
                records_pb2.RECORD_STATUS_PRINT_READY_RECORD,
            )
        after_carry = [soak.enroll(kit, index := index + 1) for _ in range(2)]

        # The link returns, first to a centre answering 503 for a while, over a link that
        # still drops some connections mid-way.
        soak.centre.faults.storm(3.0)
        soak.restore_link(FaultPlan(cut=0.2, cut_after_bytes=(2048, 64 * 1024)))
        online += [soak.enroll(kit, index := index + 1) for _ in range(2)]

        everything = online + offline + after_carry
        assert len(set(everything)) == index
        assert wait_until(
            lambda: all(
                record_state(kit, r) == records_pb2.RECORD_STATUS_PRINT_READY_RECORD
                for r in everything
            ),
            timeout=SETTLE_S,
            step=0.5,
        ), {r: records_pb2.RecordStatus.Name(record_state(kit, r)) for r in everything}
        assert in_progress(kit) == []
        kit.close()
    finally:
        assert stop_process(kit.process) == 0

    verify(soak, set(everything), bundle)


def verify(soak: Soak, record_ids: set[str], bundle: Path) -> None:
    """The kit's outbox and journal, the centre's store, and both daemon logs agree."""
    with Outbox(soak.data_dir / "outbox") as outbox:
        records = {r.record_id: r for r in outbox.list()}
        assert set(records) == record_ids  # none lost, none sealed twice
        for record_id, record in records.items():
            assert record.state is RecordState.PRINT_READY_RECORD
            assert record.meta["enrollment_id"] == soak.sealed[record_id]
            assert outbox.for_enrollment(soak.sealed[record_id]).record_id == record_id
        carried = {
            r for r in records if any(bundle.name in change.detail for change in outbox.history(r))
        }
    journal = soak.data_dir / "enrollments"
    assert not journal.exists() or not any(journal.iterdir())  # nothing left in progress
    assert len(carried) == 4

    held = {r.record_id: r for r in soak.centre.store.all_records()}
    assert set(held) == record_ids
    outcomes = soak.centre.store.ingest_outcomes()
    for record_id, record in records.items():
        assert held[record_id].sha256 == record.sha256
        assert outcomes[record_id].get("RECEIVED") == 1, outcomes[record_id]
        assert "RECORD_CONFLICT" not in outcomes[record_id]

    audit = subprocess.run(
        [sys.executable, "-m", "station.cli", "audit", "--data-dir", str(soak.data_dir), "verify"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    for log in soak.logs:
        assert "Traceback" not in log.read_text(), log
