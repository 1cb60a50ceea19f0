"""An enrollment in progress survives SIGKILL of the daemon, encrypted at rest, and resumes."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.control import post
from simulator.demo import OperatorClient, subject_for
from simulator.personas import make_persona
from station.client import position
from station.processes import (
    kill_process,
    operator_token,
    spawn_simulated_kit,
    stop_process,
    wait_for_json,
)
from station.v1 import enrollment_pb2

IMAGE_SIGNATURES = (b"\x89PNG", b"\xff\xd8\xff", b"\xff\xa0\xff\xa8", b"\x00\x00\x00\x0cjP  ")


def start_daemon(data_dir: Path, name: str):
    ready = data_dir.parent / f"{name}.json"
    process = spawn_simulated_kit(data_dir, ready, data_dir.parent / f"{name}.log")
    return process, wait_for_json(ready, process, 60)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "station"


def test_enrollment_survives_sigkill_and_resumes(data_dir: Path):
    token = operator_token(data_dir, "op-dewi", "operator")
    persona = make_persona("adult", 707)
    process, info = start_daemon(data_dir, "first")
    try:
        post(info["control"], "/v1/resident", {"kind": "adult", "seed": 707})
        client = OperatorClient(info["control"], info["grpc"], token)
        client.wait_until_serving()
        started = client.enrollment.StartEnrollment(
            enrollment_pb2.StartEnrollmentRequest(subject=subject_for(persona)),
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
        client.close()
    finally:
        kill_process(process)  # a crash: no shutdown, no flush

    journal = data_dir / "enrollments" / eid
    files = [p for p in journal.iterdir() if p.is_file()]
    assert len(files) >= 5  # state + face + three fingers
    for path in data_dir.rglob("*"):
        if path.is_file() and "centre" not in path.parts:
            content = path.read_bytes()
            assert not any(sig in content for sig in IMAGE_SIGNATURES), path

    process, info = start_daemon(data_dir, "second")
    try:
        post(info["control"], "/v1/resident", {"kind": "adult", "seed": 707})
        client = OperatorClient(info["control"], info["grpc"], token)
        client.wait_until_serving()
        listed = client.enrollment.ListEnrollments(
            enrollment_pb2.ListEnrollmentsRequest(), metadata=client.metadata
        ).enrollments
        resumed = next(e for e in listed if e.enrollment_id == eid)
        kept = {s.position for s in resumed.samples}
        assert kept == {position(p) for p in ("face", "right_thumb", "right_index", "right_middle")}
        assert position("right_thumb") not in resumed.missing
        for missing in resumed.missing:
            result = client.capture(eid, missing).result
            assert result.accepted, (
                enrollment_pb2.Position.Name(missing)
                if hasattr(enrollment_pb2, "Position")
                else missing
            )
        done = client.enrollment.CompleteEnrollment(
            enrollment_pb2.CompleteEnrollmentRequest(enrollment_id=eid), metadata=client.metadata
        )
        assert done.record_id
        assert not journal.exists()  # sealed: the working copy is gone
        client.close()
    finally:
        assert stop_process(process) == 0  # graceful SIGTERM


def test_cancelled_enrollment_leaves_nothing_behind(station):
    client = station.client()
    persona = make_persona("adult", 808)
    station.setup.kit.present(persona)
    started = client.enrollment.StartEnrollment(
        enrollment_pb2.StartEnrollmentRequest(subject=subject_for(persona)),
        metadata=client.metadata,
    )
    eid = started.enrollment_id
    assert client.capture(eid, position("face")).result.accepted
    journal = station.daemon.config.data_dir / "enrollments" / eid
    assert journal.exists()
    cancelled = client.enrollment.CancelEnrollment(
        enrollment_pb2.CancelEnrollmentRequest(enrollment_id=eid, reason="resident left"),
        metadata=client.metadata,
    )
    assert cancelled.state == enrollment_pb2.ENROLLMENT_STATE_CANCELLED
    assert not journal.exists()
