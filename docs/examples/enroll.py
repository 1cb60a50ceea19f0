"""One complete enrollment through station.v1 with grpcio, as an operator app makes it.

Against a simulated kit (`rekam serve --simulate --ready-file ready.json`; the `grpc` and
`control` fields of ready.json, and tokens from `rekam operator add NAME --role operator` and
`--role supervisor`):

    python docs/examples/enroll.py --grpc 127.0.0.1:PORT --control http://127.0.0.1:PORT \
        --token OPERATOR_TOKEN --supervisor-token SUPERVISOR_TOKEN

It puts a simulated resident who lost two fingers at the kit, shows one deliberate error
decoded in English and Bahasa Indonesia, starts the enrollment (and retries the start, as an
app does after a lost answer), captures every planned position (the resident first offers a
wrong finger once: the app retries), records the two missing fingers as exceptions a
supervisor approves, completes, and watches the record until the centre's decision. It prints
its progress, then one JSON line with what happened.

Needs grpcio, grpcio-status and googleapis-common-protos, and the station.v1 modules generated
from proto/ (`python -m grpc_tools.protoc -I proto --python_out=. --grpc_python_out=.
proto/station/v1/*.proto`; the repository ships the same modules in station/v1/).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
import uuid

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from station.v1 import (
    common_pb2,
    enrollment_pb2,
    enrollment_pb2_grpc,
    records_pb2,
    records_pb2_grpc,
)

STALE_MS = 200  # a preview older than this shows the operator the past: skip it
CALLS_PER_POSITION = 6  # bounded: results that used no attempt are retried too
# What the operator sees at the counter: this resident has lost these fingers.
MISSING_FINGERS = {common_pb2.POSITION_RIGHT_INDEX, common_pb2.POSITION_RIGHT_MIDDLE}
# Asked for the left index, the resident first offers the left thumb again (one finger behind).
OFFERED_FIRST = {common_pb2.POSITION_LEFT_INDEX: "left_thumb"}
FINAL = {
    records_pb2.RECORD_STATUS_PRINT_READY_RECORD,
    records_pb2.RECORD_STATUS_DUPLICATE_RECORD,
    records_pb2.RECORD_STATUS_ADJUDICATE_RECORD,
    records_pb2.RECORD_STATUS_SEARCH_FAILURE_AT_CENTRAL,
    records_pb2.RECORD_STATUS_DEAD_LETTER,
}


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def auth(token: str, language: str = "en") -> list[tuple[str, str]]:
    """Call metadata: the caller's token, and the language of its sentences ("en", "id")."""
    return [("authorization", f"Bearer {token}"), ("accept-language", language)]


def kit_control(control_url: str, path: str, body: dict) -> dict:
    """POST to the simulated kit's control surface (only a simulated kit has one)."""
    request = urllib.request.Request(
        control_url + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def position_name(position: int) -> str:
    """POSITION_LEFT_INDEX -> "left_index": how the kit's control surface names positions."""
    return common_pb2.Position.Name(position).removeprefix("POSITION_").lower()


def explain(error: grpc.RpcError) -> dict:
    """A failed call's code, ErrorInfo reason and metadata, and the operator's sentence,
    decoded from the google.rpc.Status in its grpc-status-details-bin trailer."""
    out = {"code": error.code().name, "reason": "", "metadata": {}, "message": error.details()}
    status = rpc_status.from_call(error)  # google.rpc.Status, or None
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            out["reason"], out["metadata"] = info.reason, dict(info.metadata)
        elif detail.Is(error_details_pb2.LocalizedMessage.DESCRIPTOR):
            sentence = error_details_pb2.LocalizedMessage()
            detail.Unpack(sentence)
            out["locale"], out["message"] = sentence.locale, sentence.message
    return out


class OperatorApp:
    """The operator's app; ``supervisor`` is the supervisor's own login, which approves the
    overrides (no token changes hands)."""

    def __init__(self, channel: grpc.Channel, args: argparse.Namespace) -> None:
        self.enrollment = enrollment_pb2_grpc.EnrollmentStub(channel)
        self.records = records_pb2_grpc.RecordsStub(channel)
        self.token = args.token
        self.operator = auth(args.token)
        self.supervisor = auth(args.supervisor_token)
        self.control = args.control
        self.report: dict = {"rejections": [], "exceptions": [], "previews": 0, "stale": 0}

    # -- an error, decoded ------------------------------------------------------------------
    def show_error(self, subject: enrollment_pb2.Subject) -> None:
        """The operator mistypes the NIK (a digit short): the same error in both languages."""
        mistyped = enrollment_pb2.Subject()
        mistyped.CopyFrom(subject)
        mistyped.nik = subject.nik[:-1]
        self.report["error"] = {}
        for language in ("en", "id"):
            try:
                self.enrollment.StartEnrollment(
                    enrollment_pb2.StartEnrollmentRequest(subject=mistyped),
                    metadata=auth(self.token, language),
                )
            except grpc.RpcError as error:
                explained = explain(error)  # INVALID_ARGUMENT NIK_INVALID
                say(f"{language}: {explained['reason']}: {explained['message']}")
                self.report["error"][language] = explained

    # -- the enrollment ---------------------------------------------------------------------
    def start(self, subject: enrollment_pb2.Subject) -> enrollment_pb2.EnrollmentRecord:
        """Open the enrollment; the retry of a start whose answer was lost names the same
        request_id and gets the same enrollment (not ALREADY_EXISTS)."""
        request = enrollment_pb2.StartEnrollmentRequest(
            subject=subject, request_id=str(uuid.uuid4())
        )
        record = self.enrollment.StartEnrollment(request, metadata=self.operator)
        retried = self.enrollment.StartEnrollment(request, metadata=self.operator)
        assert retried.enrollment_id == record.enrollment_id
        say(f"enrollment {record.enrollment_id}: {len(record.plan)} positions planned")
        return record

    def capture_stream(self, request: enrollment_pb2.CaptureRequest):
        """Run one Capture call: show prompts and fresh previews; return its result."""
        result = None
        for event in self.enrollment.Capture(request, metadata=self.operator, timeout=120):
            kind = event.WhichOneof("event")
            if kind == "prompt":
                say(f"  {event.prompt.instruction}: {event.prompt.message}")
            elif kind == "preview":
                frame = event.preview
                age_ms = time.time() * 1000 - frame.captured_at.ToMilliseconds()
                if age_ms > STALE_MS:  # it waited in this app's receive window: skip it
                    self.report["stale"] += 1
                    continue
                self.report["previews"] += 1  # show frame.image.data (JPEG), frame.quality
            elif kind == "result":
                result = event.result
        return result

    def capture(self, enrollment_id: str, position: int) -> enrollment_pb2.CaptureResult:
        """Capture ``position`` until it is kept: retry a rejection while attempts are left,
        then keep the best attempt with a supervisor's approval."""
        request = enrollment_pb2.CaptureRequest(enrollment_id=enrollment_id, position=position)
        for call in range(CALLS_PER_POSITION):
            offered = OFFERED_FIRST.get(position, "") if call == 0 else ""
            # Simulated kit only: what the operator asks the resident to present.
            kit_control(
                self.control,
                "/v1/resident/position",
                {"position": offered or position_name(position)},
            )
            result = self.capture_stream(request)
            if result.accepted:
                say(f"  kept {position_name(position)}: quality {result.sample.quality.score}")
                return result
            say(f"  not kept ({result.reason}, {result.attempts_left} left): {result.message}")
            self.report["rejections"].append(
                {"position": position_name(position), "reason": result.reason}
            )
            if result.attempts_left == 0:
                return self.force(enrollment_id, position)
        raise RuntimeError(f"{position_name(position)}: no capture kept")

    def force(self, enrollment_id: str, position: int) -> enrollment_pb2.CaptureResult:
        """Keep the best of the plan's attempts, approved by the supervisor."""
        approval = self.enrollment.ApproveOverride(
            enrollment_pb2.ApproveOverrideRequest(
                enrollment_id=enrollment_id,
                position=position,
                action=enrollment_pb2.OVERRIDE_ACTION_FORCE_CAPTURE,
            ),
            metadata=self.supervisor,
        )
        return self.capture_stream(
            enrollment_pb2.CaptureRequest(
                enrollment_id=enrollment_id,
                position=position,
                force=True,
                force_reason="best of the attempts kept",
                approval_id=approval.approval_id,
            )
        )

    def mark_missing(self, enrollment_id: str, position: int) -> None:
        """Record a missing finger: the operator photographs the hand through Capture (with
        preview), the supervisor approves, the operator marks it with that photo."""
        kind = enrollment_pb2.EXCEPTION_KIND_AMPUTATED
        # Simulated kit only: the resident shows the hand to the face camera.
        kit_control(self.control, "/v1/resident/position", {"position": "face"})
        photo = self.capture_stream(
            enrollment_pb2.CaptureRequest(
                enrollment_id=enrollment_id,
                position=position,
                purpose=enrollment_pb2.CAPTURE_PURPOSE_PROOF_PHOTO,
            )
        )
        if not photo.accepted:  # e.g. PROOF_PHOTO_BLANK: frame the hand and take it again
            raise RuntimeError(f"{position_name(position)}: no proof photo ({photo.reason})")
        approval = self.enrollment.ApproveOverride(
            enrollment_pb2.ApproveOverrideRequest(
                enrollment_id=enrollment_id,
                position=position,
                action=enrollment_pb2.OVERRIDE_ACTION_MARK_EXCEPTION,
                exception_kind=kind,
            ),
            metadata=self.supervisor,
        )
        self.enrollment.MarkException(
            enrollment_pb2.MarkExceptionRequest(
                enrollment_id=enrollment_id,
                position=position,
                kind=kind,
                note="finger missing (amputation)",
                approval_id=approval.approval_id,
                proof_from_capture=True,
            ),
            metadata=self.operator,
        )
        say(f"  {position_name(position)}: exception recorded, approved by {approval.approved_by}")
        self.report["exceptions"].append(position_name(position))

    def enroll(self, record: enrollment_pb2.EnrollmentRecord) -> str:
        """Every planned position in order, then CompleteEnrollment; returns the record id."""
        eid = record.enrollment_id
        for position in record.plan:
            say(position_name(position))
            if position in MISSING_FINGERS:
                self.mark_missing(eid, position)
                continue
            self.capture(eid, position)
            if position == common_pb2.POSITION_FACE:  # shown to the resident, who approves
                self.enrollment.ApproveSample(
                    enrollment_pb2.ApproveSampleRequest(
                        enrollment_id=eid, position=position, approved=True
                    ),
                    metadata=self.operator,
                )
        request = enrollment_pb2.CompleteEnrollmentRequest(enrollment_id=eid)
        done = self.enrollment.CompleteEnrollment(request, metadata=self.operator)
        again = self.enrollment.CompleteEnrollment(request, metadata=self.operator)  # a retry
        assert again.record_id == done.record_id and again.package_sha256 == done.package_sha256
        say(f"sealed as record {done.record_id} ({done.package_size} bytes)")
        return done.record_id

    def follow(self, record_id: str) -> str:
        """Watch the record until the centre's decision; returns the status's name."""
        request = records_pb2.WatchRecordsRequest(record_ids=[record_id], include_current=True)
        stream = self.records.WatchRecords(request, metadata=self.operator, timeout=120)
        for event in stream:
            status = event.record.status
            say(f"record {record_id}: {records_pb2.RecordStatus.Name(status)}")
            if status in FINAL:
                stream.cancel()
                return records_pb2.RecordStatus.Name(status)
        raise RuntimeError("the watch ended before a decision")


def subject_of(resident: dict) -> enrollment_pb2.Subject:
    """What the operator types in from the family card (here: from the simulated resident)."""
    return enrollment_pb2.Subject(
        nik=resident["nik"],
        name=resident["name"],
        birth_date=resident["birth_date"],
        sex=common_pb2.Sex.Value("SEX_" + resident["sex"].upper()),
        category=common_pb2.ResidentCategory.Value(
            "RESIDENT_CATEGORY_" + resident["category"].upper()
        ),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grpc", required=True, help="the station's gRPC address")
    parser.add_argument("--control", required=True, help="the simulated kit's control URL")
    parser.add_argument("--token", required=True, help="the operator's token")
    parser.add_argument("--supervisor-token", required=True, help="a supervisor's token")
    parser.add_argument("--seed", type=int, default=1, help="which simulated resident")
    args = parser.parse_args()
    # BDP probing off keeps what a stalled app has in flight to one HTTP/2 window.
    with grpc.insecure_channel(args.grpc, options=[("grpc.http2.bdp_probe", 0)]) as channel:
        app = OperatorApp(channel, args)
        resident = kit_control(args.control, "/v1/resident", {"kind": "amputee", "seed": args.seed})
        subject = subject_of(resident["resident"])
        app.show_error(subject)
        record_id = app.enroll(app.start(subject))
        app.report.update(record_id=record_id, status=app.follow(record_id))
    print(json.dumps(app.report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
