"""``make demo``: a simulated centre and kit, residents enrolled end to end over gRPC.

The demo plays the operator app: it starts `rekam sim center` and `rekam serve --simulate` as
separate processes, puts simulated residents in front of the kit, enrolls each one through the
station.v1 API (telling the resident, through the kit's control surface, what to present before
each capture), and follows every record until the centre's final status.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from domain.vocabulary import EYES, FINGERS
from simulator.control import KitControl
from simulator.personas import Persona, make_persona
from station.client import CaptureSummary, StationClient, position
from station.config import StationConfig
from station.convert import CATEGORY_TO_PB, SEX_TO_PB
from station.errors import error_reason
from station.processes import (
    operator_token,
    spawn_rekam,
    spawn_simulated_kit,
    stop_process,
    wait_for_json,
)
from station.v1 import common_pb2, devices_pb2, enrollment_pb2, records_pb2

DEMO_STATION = StationConfig().station_id  # the kit runs with the default configuration
FINAL = {
    records_pb2.RECORD_STATUS_PRINT_READY_RECORD,
    records_pb2.RECORD_STATUS_DUPLICATE_RECORD,
    records_pb2.RECORD_STATUS_ADJUDICATE_RECORD,
    records_pb2.RECORD_STATUS_SEARCH_FAILURE_AT_CENTRAL,
    records_pb2.RECORD_STATUS_DEAD_LETTER,
}


@dataclass
class Visit:
    """One resident at the kit: who they are, and who the operator is told they are."""

    label: str
    kind: str
    seed: int
    expect: int
    impostor_of: str = ""  # planted duplicate: same biometrics, another identity
    enrollment_id: str = ""
    record_id: str = ""
    category: str = ""
    quality: dict[str, str] = field(default_factory=dict)
    forced: int = 0
    exceptions: int = 0


VISITS = [
    Visit("Adult", "adult", 11, records_pb2.RECORD_STATUS_PRINT_READY_RECORD),
    Visit("Elderly", "elderly", 12, records_pb2.RECORD_STATUS_PRINT_READY_RECORD),
    Visit("Student (16)", "student", 13, records_pb2.RECORD_STATUS_PRINT_READY_RECORD),
    Visit("Amputee", "amputee", 14, records_pb2.RECORD_STATUS_PRINT_READY_RECORD),
    Visit("Blind", "blind", 15, records_pb2.RECORD_STATUS_PRINT_READY_RECORD),
    Visit("Mental disorder", "mental_disorder", 16, records_pb2.RECORD_STATUS_PRINT_READY_RECORD),
    Visit(
        "Planted duplicate",
        "adult",
        11,
        records_pb2.RECORD_STATUS_DUPLICATE_RECORD,
        impostor_of="Adult",
    ),
]


def subject_for(
    persona: Persona, category: int | None = None, demographics_ref: str = ""
) -> enrollment_pb2.Subject:
    """What the operator types in for a simulated resident (category: the persona's own)."""
    return enrollment_pb2.Subject(
        nik=persona.nik,
        name=persona.name,
        birth_date=persona.birth_date.isoformat(),
        sex=SEX_TO_PB[persona.sex],
        category=category or CATEGORY_TO_PB[persona.category],
        demographics_ref=demographics_ref,
    )


class OperatorClient(StationClient):
    """A station client whose operator, like a real one, tells the resident at the simulated
    kit what to present (through the kit's control surface at ``control_url``) before each
    capture."""

    def __init__(self, control_url: str, address: str, token: str = "", language: str = "en"):
        super().__init__(address, token, language)
        self.kit = KitControl(control_url)

    def capture(
        self,
        enrollment_id: str,
        position: int,
        timeout: float = 60.0,
        *,
        presents: str = "",
        **options: object,
    ) -> CaptureSummary:
        """Ask the resident for ``position`` (or for ``presents``: what they offer instead),
        then run the Capture call to its end."""
        self.kit.ask_for(presents or common_pb2.Position.Name(position).lower()[9:])
        return super().capture(enrollment_id, position, timeout, **options)


def say(message: str) -> None:
    print(message, flush=True)


def enrollment_code(centre_dir: Path, station_id: str) -> str:
    """A one-time enrollment code from the centre's administrator command."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulator.centre.cli",
            "enroll-code",
            station_id,
            "--data-dir",
            str(centre_dir),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out.stdout.strip()


class Operator:
    """The operator app's side of one enrollment."""

    def __init__(
        self,
        client: OperatorClient,
        supervisor: StationClient,
        report: Callable[[str], None] = say,
    ) -> None:
        """``supervisor``: the supervisor's own app (their own login), which approves each
        override the operator asks for; no token changes hands."""
        self.client = client
        self.supervisor = supervisor
        self.report = report

    def enroll(self, visit: Visit, identities: dict[str, enrollment_pb2.Subject]) -> None:
        persona = make_persona(visit.kind, visit.seed)
        subject = subject_for(persona, demographics_ref=f"KK-{persona.nik[:6]}-{visit.seed:04d}")
        if visit.impostor_of:
            original = identities[visit.impostor_of]
            subject.nik = original.nik[:12] + f"{(int(original.nik[12:]) + 4321) % 10000:04d}"
            subject.name = "Budi Santoso"
        identities[visit.label] = subject
        visit.category = persona.category
        enrollment = self.client.enrollment.StartEnrollment(
            enrollment_pb2.StartEnrollmentRequest(subject=subject), metadata=self.client.metadata
        )
        eid = visit.enrollment_id = enrollment.enrollment_id
        plan = list(enrollment.plan)
        self.report(
            f"  {visit.label}: {subject.name}, NIK {subject.nik}, {persona.category}, "
            f"{len(plan)} positions planned"
            + (f", flags {list(enrollment.flags)}" if enrollment.flags else "")
        )
        face = self._capture(visit, eid, "face")
        self.client.enrollment.ApproveSample(
            enrollment_pb2.ApproveSampleRequest(
                enrollment_id=eid, position=position("face"), approved=True
            ),
            metadata=self.client.metadata,
        )
        visit.quality["face"] = str(face)
        finger_scores = []
        for finger in FINGERS:
            if persona.fingerprint(FINGERS.index(finger) + 1, 0) is None:
                self._exception(
                    visit,
                    eid,
                    finger,
                    enrollment_pb2.EXCEPTION_KIND_AMPUTATED,
                    "finger missing (amputation)",
                )
                continue
            finger_scores.append(self._capture(visit, eid, finger))
        visit.quality["fingers"] = (
            f"{min(finger_scores)}-{max(finger_scores)}" if finger_scores else "-"
        )
        iris_scores = []
        if position("right_eye") in plan:
            for eye in EYES:
                if visit.kind == "blind":
                    self._exception(
                        visit, eid, eye, enrollment_pb2.EXCEPTION_KIND_BLIND, "resident is blind"
                    )
                    continue
                iris_scores.append(self._capture(visit, eid, eye))
        visit.quality["iris"] = "/".join(map(str, iris_scores)) if iris_scores else "-"
        visit.quality["signature"] = str(self._signature(visit, eid))
        done = self.client.enrollment.CompleteEnrollment(
            enrollment_pb2.CompleteEnrollmentRequest(enrollment_id=eid),
            metadata=self.client.metadata,
        )
        visit.record_id = done.record_id
        self.report(
            f"    sealed record {done.record_id} ({done.package_size / 1024:.0f} KiB) "
            "and committed to the outbox"
        )

    def _capture(self, visit: Visit, eid: str, name: str) -> int:
        best = 0
        for _call in range(6):  # bounded: a call that got nothing to judge uses no attempt
            summary = self.client.capture(eid, position(name), preview_fps=15)
            assert summary.result is not None
            best = max(best, summary.result.sample.quality.score)
            if summary.result.accepted:
                return summary.result.sample.quality.score
            if summary.result.attempts_left == 0:
                break
        approval = self.supervisor.approve_override(
            eid, position(name), enrollment_pb2.OVERRIDE_ACTION_FORCE_CAPTURE
        )
        result = self.client.capture(
            eid,
            position(name),
            force=True,
            force_reason="best of 3 attempts kept (worn ridges)",
            approval_id=approval,
        ).result
        assert result is not None and result.accepted
        visit.forced += 1
        self.report(
            f"    {name}: kept the best of 3 attempts (quality {best}) as a forced capture, "
            "approved by the supervisor"
        )
        return result.sample.quality.score

    def _signature(self, visit: Visit, eid: str) -> int:
        """Sign; a resident who can only draw a line gets that line accepted (supervisor)."""
        summary = self.client.capture(eid, position("signature"))
        assert summary.result is not None
        if summary.result.accepted:
            return summary.result.sample.quality.score
        codes = {r.code for r in summary.result.sample.quality.reasons}
        if codes & {"SIGNATURE_SINGLE_STROKE", "SIGNATURE_TOO_SMALL", "SIGNATURE_TOO_SHORT"}:
            self._exception(
                visit,
                eid,
                "signature",
                enrollment_pb2.EXCEPTION_KIND_SIGNATURE_LINE,
                "resident signs with a line",
            )
            return summary.result.sample.quality.score
        return self._capture(visit, eid, "signature")

    def _proof_photo(self, eid: str, name: str) -> CaptureSummary:
        """The resident shows what ``name`` lacks to the face camera; the photo it keeps."""
        photo = self.client.capture(
            eid,
            position(name),
            presents="face",
            purpose=enrollment_pb2.CAPTURE_PURPOSE_PROOF_PHOTO,
            timeout_seconds=1.0,
        )
        assert photo.result is not None and photo.result.accepted, photo.result
        return photo

    def _exception(self, visit: Visit, eid: str, name: str, kind: int, note: str) -> None:
        """Record an exception the supervisor approves, with a proof photo the operator takes
        through Capture (with preview) first."""
        self._proof_photo(eid, name)
        approval = self.supervisor.approve_override(
            eid, position(name), enrollment_pb2.OVERRIDE_ACTION_MARK_EXCEPTION, kind
        )
        self.client.enrollment.MarkException(
            enrollment_pb2.MarkExceptionRequest(
                enrollment_id=eid,
                position=position(name),
                kind=kind,
                note=note,
                approval_id=approval,
                proof_from_capture=True,
            ),
            metadata=self.client.metadata,
        )
        visit.exceptions += 1
        self.report(f"    {name}: exception recorded ({note}), approved by the supervisor")


def _follow_records(
    client: StationClient,
    stop: threading.Event,
    statuses: dict[str, int],
    changed: threading.Condition,
) -> None:
    request = records_pb2.WatchRecordsRequest(include_current=True)
    stream = client.records.WatchRecords(request, metadata=client.metadata)
    stop_watch = threading.Thread(target=lambda: (stop.wait(), stream.cancel()), daemon=True)
    stop_watch.start()
    try:
        for event in stream:
            record = event.record
            with changed:
                if statuses.get(record.record_id) != record.status:
                    statuses[record.record_id] = record.status
                    say(
                        f"    [record] {record.record_id}: "
                        f"{records_pb2.RecordStatus.Name(record.status)[14:]}"
                    )
                changed.notify_all()
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.CANCELLED:
            say(f"    record watch ended: {exc.details()}")


def _table(visits: list[Visit], client: StationClient) -> list[str]:
    rows = [
        (
            "record id",
            "resident",
            "category",
            "face",
            "fingers",
            "iris",
            "sign",
            "forced/exc",
            "attempts",
            "centre status",
        )
    ]
    for visit in visits:
        record = client.records.GetRecord(
            records_pb2.GetRecordRequest(record_id=visit.record_id), metadata=client.metadata
        )
        rows.append(
            (
                visit.record_id,
                visit.label,
                visit.category,
                visit.quality["face"],
                visit.quality["fingers"],
                visit.quality["iris"],
                visit.quality["signature"],
                f"{visit.forced}/{visit.exceptions}",
                str(record.delivery_attempts),
                records_pb2.RecordStatus.Name(record.status)[14:],
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def run_demo(keep: bool = False, timeout_s: float = 110.0) -> int:
    """Run the whole demo; 0 when every record reached the status it should."""
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="rekam-demo-"))
    processes: list[subprocess.Popen] = []
    stop = threading.Event()
    try:
        say("Rekam demo: a simulated central registry and a simulated recording kit")
        centre = spawn_rekam(
            [
                "sim",
                "center",
                "--port",
                "0",
                "--data-dir",
                str(workdir / "centre"),
                "--ready-file",
                str(workdir / "centre.json"),
                "--decision-delay",
                "0.5",
            ],
            workdir / "centre.log",
        )
        processes.append(centre)
        centre_info = wait_for_json(workdir / "centre.json", centre, 30)
        say(f"  centre up at {centre_info['url']}")
        station_dir = workdir / "station"
        code = enrollment_code(workdir / "centre", DEMO_STATION)
        say(f"  the centre's administrator issued enrollment code {code} for {DEMO_STATION}")
        token = operator_token(station_dir, "demo-operator", "operator")
        supervisor = operator_token(station_dir, "demo-supervisor", "supervisor")
        station = spawn_simulated_kit(
            station_dir,
            workdir / "station.json",
            workdir / "station.log",
            "--centre-url",
            centre_info["url"],
            "--centre-key",
            centre_info["public_key_path"],
            "--centre-receipt-key",
            centre_info["receipt_key_path"],
            "--centre-tls-pin",
            centre_info["tls_pin"],
            "--enrollment-code",
            code,
        )
        processes.append(station)
        station_info = wait_for_json(workdir / "station.json", station, 60)
        client = OperatorClient(station_info["control"], station_info["grpc"], token)
        client.wait_until_serving()
        devices = client.devices.ListDevices(
            devices_pb2.ListDevicesRequest(),
            metadata=client.metadata,
        ).devices
        say(
            f"  station {station_info['station_id']} serving on {station_info['grpc']} with "
            f"{len(devices)} devices:"
        )
        for device in devices:
            say(
                f"    {device.id}: {device.identity.vendor} {device.identity.model} "
                f"over {device.identity.transport} ({device.identity.port})"
            )
        statuses: dict[str, int] = {}
        changed = threading.Condition()
        watcher = threading.Thread(
            target=_follow_records, args=(client, stop, statuses, changed), daemon=True
        )
        watcher.start()
        supervisor_app = StationClient(station_info["grpc"], supervisor)
        operator = Operator(client, supervisor_app)
        identities: dict[str, enrollment_pb2.Subject] = {}
        for visit in VISITS:
            client.kit.present(visit.kind, visit.seed)
            operator.enroll(visit, identities)
        client.kit.present(None)
        say("  waiting for the centre's final status of every record ...")
        deadline = started + timeout_s
        with changed:
            while not all(statuses.get(v.record_id) in FINAL for v in VISITS):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                changed.wait(min(remaining, 1.0))
        stop.set()
        lines = _table(VISITS, client)
        supervisor_app.close()
        client.close()
        say("")
        for line in lines:
            say(line)
        failed = [v for v in VISITS if statuses.get(v.record_id) != v.expect]
        say("")
        if failed:
            for visit in failed:
                got = statuses.get(visit.record_id)
                say(
                    f"  UNEXPECTED: {visit.label} ended as "
                    f"{records_pb2.RecordStatus.Name(got) if got else 'nothing'}, expected "
                    f"{records_pb2.RecordStatus.Name(visit.expect)}"
                )
            say(f"  logs kept in {workdir}")
            keep = True
            return 1
        say(
            f"Demo finished in {time.monotonic() - started:.1f} s: {len(VISITS)} residents "
            "enrolled, sealed, delivered and tracked; the planted duplicate was caught."
        )
        return 0
    except (grpc.RpcError, RuntimeError, OSError) as exc:
        detail = exc.details() if isinstance(exc, grpc.RpcError) else str(exc)
        reason = error_reason(exc) if isinstance(exc, grpc.RpcError) else ""
        say(f"demo failed: {detail} {reason}".strip())
        say(f"  logs kept in {workdir}")
        keep = True
        return 1
    finally:
        stop.set()
        for process in reversed(processes):
            stop_process(process)
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
