"""A real daemon whose disk starts failing: fsync and fdatasync answer EIO (an LD_PRELOAD
fault hook at the OS boundary, tests/storage/shims/fsync_fault.c), the way a dying disk does.

A capture answers UNAVAILABLE with a sentence and the retake is not kept; CompleteEnrollment
answers UNAVAILABLE (never UNKNOWN) and the enrollment stays open; the storage health goes
NOT_SERVING. When the disk answers again, the same enrollment completes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2
from test_crash_resume import start_daemon
from test_seal_window import enroll_everything

from simulator.control import post
from simulator.demo import OperatorClient
from station.client import position
from station.errors import error_reason
from station.processes import operator_token, stop_process
from station.storage_health import HEALTH_SERVICE
from station.v1 import enrollment_pb2

SHIM_SOURCE = Path(__file__).parents[1] / "storage" / "shims" / "fsync_fault.c"


@pytest.fixture(scope="module")
def fsync_fault(tmp_path_factory) -> str:
    compiler = shutil.which("gcc")
    if not compiler:
        raise RuntimeError("gcc is needed to build the fault hook: make system")
    library = tmp_path_factory.mktemp("fsync-fault") / "fsync_fault.so"
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-o", str(library), str(SHIM_SOURCE), "-ldl"], check=True
    )
    return str(library)


def refused(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def storage_status(client: OperatorClient) -> int:
    request = health_pb2.HealthCheckRequest(service=HEALTH_SERVICE)
    return client.health.Check(request).status


@pytest.mark.slow
def test_a_failing_disk_refuses_cleanly_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fsync_fault: str
):
    data_dir = tmp_path / "station"
    token = operator_token(data_dir, "op-dewi", "operator")
    flag = tmp_path / "disk-fails"
    monkeypatch.setenv("LD_PRELOAD", fsync_fault)
    monkeypatch.setenv("REKAM_FSYNC_FAULT_FLAG", str(flag))
    process, info = start_daemon(data_dir, "failing")
    monkeypatch.delenv("LD_PRELOAD")
    try:
        post(info["control"], "/v1/resident", {"kind": "adult", "seed": 707})
        client = OperatorClient(info["control"], info["grpc"], token)
        client.wait_until_serving()
        eid = enroll_everything(client, 707)

        def shown() -> enrollment_pb2.EnrollmentRecord:
            return client.enrollment.GetEnrollment(
                enrollment_pb2.GetEnrollmentRequest(enrollment_id=eid), metadata=client.metadata
            )

        thumb = position("right_thumb")
        kept = next(s for s in shown().samples if s.position == thumb)
        flag.write_text("EIO")

        retake = refused(lambda: client.capture(eid, thumb))
        assert retake.code() == grpc.StatusCode.UNAVAILABLE
        assert error_reason(retake) == "STORAGE_FAILED" and retake.details()
        now = next(s for s in shown().samples if s.position == thumb)
        assert now.captured_at == kept.captured_at  # the retake that was not saved is not kept

        complete = enrollment_pb2.CompleteEnrollmentRequest(enrollment_id=eid)
        sealing = refused(
            lambda: client.enrollment.CompleteEnrollment(complete, metadata=client.metadata)
        )
        assert sealing.code() == grpc.StatusCode.UNAVAILABLE
        assert error_reason(sealing) == "STORAGE_FAILED" and sealing.details()
        assert shown().state == enrollment_pb2.ENROLLMENT_STATE_IN_PROGRESS
        assert storage_status(client) == health_pb2.HealthCheckResponse.NOT_SERVING

        flag.unlink()
        done = client.enrollment.CompleteEnrollment(complete, metadata=client.metadata)
        assert done.record_id
        assert not (data_dir / "enrollments" / eid).exists()
        client.close()
    finally:
        os.environ.pop("LD_PRELOAD", None)
        assert stop_process(process) == 0
