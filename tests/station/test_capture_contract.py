"""What an operator app relies on over gRPC: capture outcomes end in results, the device is the
one named, retries are idempotent, and concurrent calls cannot double a capture or an
enrollment. Against the simulated kit (two fingerprint scanners: fingerprint-0 over a UART,
fingerprint-usb-0 over USB)."""

from __future__ import annotations

import threading

import grpc
import pytest
from google.rpc import error_details_pb2

from simulator.demo import Operator, Visit, subject_for
from simulator.personas import make_persona
from station.auth import Role
from station.client import StationClient, position
from station.errors import error_detail, error_reason
from station.v1 import enrollment_pb2, records_pb2

PRINT_READY = records_pb2.RECORD_STATUS_PRINT_READY_RECORD


def error_metadata(error: grpc.RpcError) -> dict[str, str]:
    """The ErrorInfo metadata of a refusal."""
    info = error_detail(error, error_details_pb2.ErrorInfo)
    return dict(info.metadata) if info is not None else {}


def start(client, persona, request_id: str = "") -> enrollment_pb2.EnrollmentRecord:
    request = enrollment_pb2.StartEnrollmentRequest(
        subject=subject_for(persona), request_id=request_id
    )
    return client.enrollment.StartEnrollment(request, metadata=client.metadata)


def with_approved_face(station, seed: int):
    """A resident at the kit with the face approved; returns (client, enrollment id)."""
    persona = make_persona("adult", seed)
    station.setup.kit.present(persona)
    client = station.client()
    eid = start(client, persona).enrollment_id
    assert client.capture(eid, position("face")).result.accepted
    client.enrollment.ApproveSample(
        enrollment_pb2.ApproveSampleRequest(
            enrollment_id=eid, position=position("face"), approved=True
        ),
        metadata=client.metadata,
    )
    return client, eid


def refused(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


# -- outcomes --------------------------------------------------------------------------------
def test_nothing_presented_ends_in_a_result_not_an_error(station):
    client, eid = with_approved_face(station, 501)
    station.setup.kit.place_finger(None)  # nobody puts a finger on the glass ...
    # ... though the app asks (the base client does not tell the simulated resident)
    summary = StationClient.capture(client, eid, position("right_thumb"), timeout_seconds=1)
    result = summary.result
    assert result is not None and not result.accepted
    assert result.reason == "NOTHING_PRESENTED" and result.attempts_left == 3
    assert result.message and result.sample.device_id == "fingerprint-0"
    assert client.capture(eid, position("right_thumb")).result.accepted  # no attempt used


def test_a_second_capture_while_one_runs_is_refused_and_one_sample_kept(station):
    client, eid = with_approved_face(station, 502)
    station.setup.kit.place_finger(None)
    request = enrollment_pb2.CaptureRequest(
        enrollment_id=eid, position=position("right_thumb"), timeout_seconds=30
    )
    first = client.enrollment.Capture(request, metadata=client.metadata, timeout=60)
    assert next(first).prompt.instruction == "PLACE_FINGER"  # it holds the enrollment now
    second = refused(lambda: client.capture(eid, position("right_thumb"), timeout=10))
    assert second.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(second) == "CAPTURE_IN_PROGRESS"
    assert error_metadata(second) == {"position": "POSITION_RIGHT_THUMB"}
    client.kit.ask_for("right_thumb")
    events = [event for _, event in zip(range(1000), first, strict=False)]
    assert events[-1].result.accepted
    record = client.enrollment.GetEnrollment(
        enrollment_pb2.GetEnrollmentRequest(enrollment_id=eid), metadata=client.metadata
    )
    thumbs = [s for s in record.samples if s.position == position("right_thumb")]
    assert len(thumbs) == 1 and thumbs[0].attempts == 1


def test_an_ordinary_capture_after_the_attempts_is_refused_naming_the_override(station):
    client, eid = with_approved_face(station, 503)
    finger = position("left_little")
    for _ in range(3):
        assert client.capture(eid, finger).result.attempts_left >= 0
    error = refused(lambda: client.capture(eid, finger))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(error) == "ATTEMPTS_EXHAUSTED"
    assert "supervisor" in error.details()


# -- device choice ---------------------------------------------------------------------------
def test_the_named_scanner_is_used_and_the_prompt_says_which(station):
    client, eid = with_approved_face(station, 504)
    summary = client.capture(eid, position("right_index"), device_id="fingerprint-usb-0")
    assert {p.device_id for p in summary.prompts} == {"fingerprint-usb-0"}
    assert "fingerprint-usb-0" in summary.prompts[0].message
    assert summary.result.sample.device_id == "fingerprint-usb-0"
    default = client.capture(eid, position("right_middle"))
    assert default.result.sample.device_id == "fingerprint-0"  # the kit's first, by default


@pytest.mark.parametrize("device_id", ["fingerprint-9", "face-camera-0"])
def test_a_device_the_kit_lacks_for_the_position_is_invalid(station, device_id):
    client, eid = with_approved_face(station, 505 if device_id == "fingerprint-9" else 506)
    error = refused(lambda: client.capture(eid, position("right_ring"), device_id=device_id))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(error) == "DEVICE_UNKNOWN"
    assert error_metadata(error)["known"].split(",") == ["fingerprint-0", "fingerprint-usb-0"]


# -- idempotency -----------------------------------------------------------------------------
def test_one_open_enrollment_per_nik_and_a_retried_start_gets_the_same(station):
    persona = make_persona("adult", 507)
    client = station.client()
    first = start(client, persona, request_id="start-507")
    retried = start(client, persona, request_id="start-507")
    assert retried.enrollment_id == first.enrollment_id
    error = refused(lambda: start(client, persona, request_id="start-507-again"))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert error_reason(error) == "ENROLLMENT_OPEN"
    assert error_metadata(error) == {"enrollment_id": first.enrollment_id}
    other = StationClient(station.address, station.daemon.tokens.add("op-dewi", Role.OPERATOR))
    try:
        foreign = refused(lambda: start(other, persona))
        assert error_reason(foreign) == "ENROLLMENT_OPEN"
        assert error_metadata(foreign) == {}  # not someone else's enrollment id
    finally:
        other.close()
    listed = client.enrollment.ListEnrollments(
        enrollment_pb2.ListEnrollmentsRequest(), metadata=client.metadata
    )
    assert [e.enrollment_id for e in listed.enrollments].count(first.enrollment_id) == 1
    client.enrollment.CancelEnrollment(
        enrollment_pb2.CancelEnrollmentRequest(enrollment_id=first.enrollment_id),
        metadata=client.metadata,
    )
    assert start(client, persona).enrollment_id != first.enrollment_id  # closed: a new one


def test_concurrent_starts_for_one_nik_open_one_enrollment(station):
    persona = make_persona("adult", 508)
    client = station.client()
    barrier = threading.Barrier(4, timeout=10)
    opened: list[str] = []
    codes: list[grpc.StatusCode] = []

    def race() -> None:
        barrier.wait()
        try:
            opened.append(start(client, persona).enrollment_id)
        except grpc.RpcError as exc:
            codes.append(exc.code())

    threads = [threading.Thread(target=race) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(opened) == 1 and codes == [grpc.StatusCode.ALREADY_EXISTS] * 3


def test_a_retried_completion_answers_the_original_record(station):
    station.present("adult", 509)
    client = station.client()
    visit = Visit("adult", "adult", 509, PRINT_READY)
    Operator(client, station.client(station.supervisor_token), report=lambda _: None).enroll(
        visit, {}
    )
    record = client.records.GetRecord(
        records_pb2.GetRecordRequest(record_id=visit.record_id), metadata=client.metadata
    )
    again = client.enrollment.CompleteEnrollment(
        enrollment_pb2.CompleteEnrollmentRequest(enrollment_id=record.enrollment_id),
        metadata=client.metadata,
    )
    assert again.record_id == visit.record_id
    assert (again.package_sha256, again.package_size) == (
        record.package_sha256,
        record.package_size,
    )
    assert again.enrollment.state == enrollment_pb2.ENROLLMENT_STATE_COMPLETED
    listed = client.records.ListRecords(
        records_pb2.ListRecordsRequest(page_size=100), metadata=client.metadata
    )
    sealed = [r for r in listed.records if r.enrollment_id == record.enrollment_id]
    assert len(sealed) == 1  # sealed once
