"""Enrollment end to end over a real gRPC port, to the simulated centre and back."""

from __future__ import annotations

import time

import grpc
import pytest

from simulator.demo import Operator, Visit
from station.errors import error_reason
from station.v1 import common_pb2, enrollment_pb2, records_pb2

PRINT_READY = records_pb2.RECORD_STATUS_PRINT_READY_RECORD
DUPLICATE = records_pb2.RECORD_STATUS_DUPLICATE_RECORD
FINAL = {PRINT_READY, DUPLICATE, records_pb2.RECORD_STATUS_DEAD_LETTER}


def wait_for_final(client, record_id: str, limit_s: float = 60.0) -> records_pb2.Record:
    """Follow WatchRecords until the record reaches a final status (bounded in time)."""
    stream = client.records.WatchRecords(
        records_pb2.WatchRecordsRequest(record_ids=[record_id], include_current=True),
        metadata=client.metadata,
        timeout=limit_s,
    )
    seen = []
    for event in stream:
        seen.append(event.record.status)
        if event.record.status in FINAL:
            stream.cancel()
            return event.record
    raise AssertionError(f"record {record_id} never reached a final status: {seen}")


def enroll(station, kind: str, seed: int, identities: dict, label: str, impostor_of: str = ""):
    station.present(kind, seed)
    client = station.client()
    visit = Visit(label, kind, seed, PRINT_READY, impostor_of=impostor_of)
    Operator(client, station.client(station.supervisor_token)).enroll(visit, identities)
    return client, visit


def test_enrolled_resident_reaches_print_ready(station):
    client, visit = enroll(station, "adult", 101, {}, "adult")
    record = wait_for_final(client, visit.record_id)
    assert record.status == PRINT_READY
    history = [
        h.status
        for h in client.records.GetRecord(
            records_pb2.GetRecordRequest(record_id=visit.record_id), metadata=client.metadata
        ).history
    ]
    assert history[0] == records_pb2.RECORD_STATUS_SEALED
    assert records_pb2.RECORD_STATUS_SENT_FOR_ENROLLMENT in history
    assert records_pb2.RECORD_STATUS_RECEIVED_AT_CENTRAL in history
    assert history[-1] == PRINT_READY
    assert record.delivery_attempts >= 1
    assert set(record.quality) >= {"face", "right_index", "left_index", "signature"}


def test_planted_duplicate_is_caught_by_the_centre(station):
    identities: dict = {}
    client, original = enroll(station, "adult", 202, identities, "original")
    assert wait_for_final(client, original.record_id).status == PRINT_READY
    _, impostor = enroll(station, "adult", 202, identities, "impostor", impostor_of="original")
    assert identities["impostor"].nik != identities["original"].nik
    assert wait_for_final(client, impostor.record_id).status == DUPLICATE


def test_unknown_enrollment_is_not_found(station):
    client = station.client()
    with pytest.raises(grpc.RpcError) as caught:
        client.enrollment.GetEnrollment(
            enrollment_pb2.GetEnrollmentRequest(enrollment_id="no-such-enrollment"),
            metadata=client.metadata,
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_reason(caught.value) == "ENROLLMENT_NOT_FOUND"
    assert "no-such-enrollment" in caught.value.details()


def subject(**overrides) -> enrollment_pb2.Subject:
    fields = dict(
        nik="3174051203900001",
        name="Siti Rahma",
        birth_date="1990-03-12",
        sex=common_pb2.SEX_MALE,
        category=common_pb2.RESIDENT_CATEGORY_REGULAR,
    )
    fields.update(overrides)
    return enrollment_pb2.Subject(**fields)


@pytest.mark.parametrize("nik", ["317405120390001", "31740512039000011", "31740512039O0001", ""])
def test_nik_not_16_digits_is_invalid_argument(station, nik):
    client = station.client()
    with pytest.raises(grpc.RpcError) as caught:
        client.enrollment.StartEnrollment(
            enrollment_pb2.StartEnrollmentRequest(subject=subject(nik=nik)),
            metadata=client.metadata,
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(caught.value) == "NIK_INVALID"
    assert "16 digits" in caught.value.details()


def test_operator_text_in_bahasa_indonesia(station):
    client = station.client(language="id")
    with pytest.raises(grpc.RpcError) as caught:
        client.enrollment.StartEnrollment(
            enrollment_pb2.StartEnrollmentRequest(subject=subject(nik="123")),
            metadata=client.metadata,
        )
    assert "NIK harus tepat 16 angka" in caught.value.details()


def test_complete_with_modality_missing_names_it(station):
    station.present("adult", 303)
    client = station.client()
    started = client.enrollment.StartEnrollment(
        enrollment_pb2.StartEnrollmentRequest(subject=subject()), metadata=client.metadata
    )
    with pytest.raises(grpc.RpcError) as caught:
        client.enrollment.CompleteEnrollment(
            enrollment_pb2.CompleteEnrollmentRequest(enrollment_id=started.enrollment_id),
            metadata=client.metadata,
        )
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(caught.value) == "MODALITY_MISSING"
    details = caught.value.details()
    for name in ("face photo", "right index finger", "left eye", "signature"):
        assert name in details


def test_call_without_token_is_unauthenticated(station):
    client = station.client(token="")
    with pytest.raises(grpc.RpcError) as caught:
        client.records.ListRecords(records_pb2.ListRecordsRequest(), metadata=client.metadata)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    bad = station.client(token="not-a-token")
    with pytest.raises(grpc.RpcError) as caught:
        bad.enrollment.StartEnrollment(
            enrollment_pb2.StartEnrollmentRequest(subject=subject()), metadata=bad.metadata
        )
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_health_needs_no_token(station):
    from grpc_health.v1 import health_pb2

    client = station.client(token="")
    answer = client.health.Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_technician_cannot_enroll(station):
    client = station.client(token=station.technician_token)
    with pytest.raises(grpc.RpcError) as caught:
        client.enrollment.StartEnrollment(
            enrollment_pb2.StartEnrollmentRequest(subject=subject()), metadata=client.metadata
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_capture_streams_prompt_previews_and_result(station):
    station.present("adult", 404)
    client = station.client()
    started = client.enrollment.StartEnrollment(
        enrollment_pb2.StartEnrollmentRequest(subject=subject(nik="3174051203900404")),
        metadata=client.metadata,
    )
    summary = client.capture(started.enrollment_id, common_pb2.POSITION_FACE, preview_fps=30)
    assert summary.prompts and summary.prompts[0].instruction == "LOOK_AT_CAMERA"
    assert summary.previews >= 1
    assert summary.result is not None
    assert summary.result.sample.position == common_pb2.POSITION_FACE
    assert summary.result.sample.thumbnail.data[:2] == b"\xff\xd8"
    # Fingers wait for the resident's approval of the photo.
    with pytest.raises(grpc.RpcError) as caught:
        client.capture(started.enrollment_id, common_pb2.POSITION_RIGHT_INDEX)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(caught.value) == "FACE_NOT_APPROVED"


def test_devices_are_listed_with_identity(station):
    from station.v1 import devices_pb2

    client = station.client()
    devices = client.devices.ListDevices(
        devices_pb2.ListDevicesRequest(), metadata=client.metadata
    ).devices
    modalities = {d.capabilities.modality for d in devices}
    assert modalities == {
        common_pb2.MODALITY_FINGERPRINT,
        common_pb2.MODALITY_FACE,
        common_pb2.MODALITY_IRIS,
        common_pb2.MODALITY_SIGNATURE,
    }
    transports = {d.identity.transport for d in devices}
    assert "uart" in transports
    assert all(d.status == 1 for d in devices), [(d.id, d.status) for d in devices]
    time.sleep(0)  # keep the module's devices idle for the next test


def test_blind_resident_with_eye_exceptions_and_a_line_as_signature(station):
    client, visit = enroll(station, "blind", 505, {}, "blind")
    assert visit.exceptions == 3  # both eyes, and the line accepted as signature
    record = wait_for_final(client, visit.record_id)
    assert record.status == PRINT_READY
    assert "right_eye" not in record.quality and "signature" in record.quality


def test_exception_needs_a_supervisor(station):
    station.present("amputee", 606)
    client = station.client()
    persona_subject = subject(nik="3174051203900606")
    started = client.enrollment.StartEnrollment(
        enrollment_pb2.StartEnrollmentRequest(subject=persona_subject), metadata=client.metadata
    )
    request = enrollment_pb2.MarkExceptionRequest(
        enrollment_id=started.enrollment_id,
        position=common_pb2.POSITION_RIGHT_INDEX,
        kind=enrollment_pb2.EXCEPTION_KIND_AMPUTATED,
        note="amputated",
    )
    with pytest.raises(grpc.RpcError) as caught:
        client.enrollment.MarkException(request, metadata=client.metadata)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_reason(caught.value) == "SUPERVISOR_APPROVAL_REQUIRED"
    mark = enrollment_pb2.OVERRIDE_ACTION_MARK_EXCEPTION
    with pytest.raises(grpc.RpcError) as caught:  # an operator cannot approve
        client.approve_override(started.enrollment_id, request.position, mark, request.kind)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    supervisor = station.client(station.supervisor_token)
    request.approval_id = supervisor.approve_override(
        started.enrollment_id, request.position, mark, request.kind
    )
    marked = client.enrollment.MarkException(request, metadata=client.metadata)
    assert [e.approved_by for e in marked.exceptions] == ["sup-budi"]
    assert marked.exceptions[0].has_proof_photo
    assert common_pb2.POSITION_RIGHT_INDEX not in marked.missing
    request.kind = enrollment_pb2.EXCEPTION_KIND_BLIND  # not a finger exception
    request.approval_id = supervisor.approve_override(
        started.enrollment_id, request.position, mark, request.kind
    )
    supervisor.close()
    with pytest.raises(grpc.RpcError) as caught:
        client.enrollment.MarkException(request, metadata=client.metadata)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_amputee_is_enrolled_with_supervised_exceptions(station):
    client, visit = enroll(station, "amputee", 909, {}, "amputee")
    assert visit.exceptions == 2
    record = wait_for_final(client, visit.record_id)
    assert record.status == PRINT_READY
    assert "right_index" not in record.quality and "left_index" in record.quality
