"""The seal window: a daemon killed (SIGKILL) after the record is committed to the outbox but
before the enrollment's journal is removed. After restart the enrollment reads as completed
with its record, and a capture or a cancel is refused: the record already holds the resident.
"""

from __future__ import annotations

import threading
from pathlib import Path

import grpc
import pytest
from test_crash_resume import start_daemon

from simulator.control import post
from simulator.demo import OperatorClient, subject_for
from simulator.personas import make_persona
from station.client import position
from station.errors import error_reason
from station.pause_points import AFTER_OUTBOX_COMMIT, ENVIRONMENT
from station.processes import kill_process, operator_token, stop_process
from station.v1 import enrollment_pb2, records_pb2


def enroll_everything(client: OperatorClient, seed: int) -> str:
    """Start an enrollment of the adult of ``seed`` (at the kit) and capture every planned
    position; returns its id."""
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
    for missing in started.missing:
        if missing != position("face"):
            assert client.capture(eid, missing).result.accepted
    return eid


def refusal(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as refused:
        call()
    return refused.value


@pytest.mark.slow
def test_a_crash_in_the_seal_window_leaves_a_completed_enrollment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    data_dir = tmp_path / "station"
    token = operator_token(data_dir, "op-dewi", "operator")
    marker = tmp_path / "paused"
    monkeypatch.setenv(ENVIRONMENT, f"{AFTER_OUTBOX_COMMIT}:{marker}")
    process, info = start_daemon(data_dir, "first")
    monkeypatch.delenv(ENVIRONMENT)
    try:
        post(info["control"], "/v1/resident", {"kind": "adult", "seed": 606})
        client = OperatorClient(info["control"], info["grpc"], token)
        client.wait_until_serving()
        eid = enroll_everything(client, 606)
        completing = threading.Thread(
            target=lambda: refusal(
                lambda: client.enrollment.CompleteEnrollment(
                    enrollment_pb2.CompleteEnrollmentRequest(enrollment_id=eid),
                    metadata=client.metadata,
                )
            ),
            daemon=True,
        )
        completing.start()
        for _ in range(600):  # the daemon reaches the pause point (bounded: 60 s)
            if marker.exists():
                break
            completing.join(0.1)
        assert marker.exists(), "the daemon never reached the seal window"
    finally:
        kill_process(process)  # the crash: record committed, journal still there
    completing.join(10)
    client.close()
    assert (data_dir / "enrollments" / eid).exists()

    process, info = start_daemon(data_dir, "second")
    try:
        post(info["control"], "/v1/resident", {"kind": "adult", "seed": 606})
        client = OperatorClient(info["control"], info["grpc"], token)
        client.wait_until_serving()
        shown = client.enrollment.GetEnrollment(
            enrollment_pb2.GetEnrollmentRequest(enrollment_id=eid), metadata=client.metadata
        )
        assert shown.state == enrollment_pb2.ENROLLMENT_STATE_COMPLETED
        assert shown.record_id
        record = client.records.GetRecord(
            records_pb2.GetRecordRequest(record_id=shown.record_id), metadata=client.metadata
        )
        assert record.enrollment_id == eid
        listed = client.enrollment.ListEnrollments(
            enrollment_pb2.ListEnrollmentsRequest(), metadata=client.metadata
        ).enrollments
        assert eid not in {e.enrollment_id for e in listed}  # not "in progress"
        for call in (
            lambda: client.capture(eid, position("right_thumb")),
            lambda: client.enrollment.CancelEnrollment(
                enrollment_pb2.CancelEnrollmentRequest(enrollment_id=eid, reason="left"),
                metadata=client.metadata,
            ),
        ):
            error = refusal(call)
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert error_reason(error) == "ENROLLMENT_CLOSED"
            assert error.details()  # an operator sentence
        assert not (data_dir / "enrollments" / eid).exists()  # the leftover journal is gone
        client.close()
    finally:
        assert stop_process(process) == 0
