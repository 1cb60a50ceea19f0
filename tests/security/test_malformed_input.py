"""Malformed input against a whole running kit: oversized messages, invalid enums, wrong
positions, unicode in the NIK, bad and expired tokens. Every request gets a proper status with
a reason, and the daemon keeps serving throughout."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from grpc_health.v1 import health_pb2

from simulator.demo import subject_for
from simulator.personas import make_persona
from station.client import StationClient, position
from station.errors import error_reason
from station.v1 import common_pb2, devices_pb2, enrollment_pb2, records_pb2

BIG = 17 * 1024 * 1024  # over the daemon's 16 MiB message limit


def _subject(**changes: object) -> enrollment_pb2.Subject:
    persona = make_persona("mental_disorder", 33)
    subject = subject_for(persona)
    for name, value in changes.items():
        setattr(subject, name, value)
    return subject


@pytest.fixture(scope="module")
def enrollment_id(kit) -> str:
    """A mental-disorder enrollment (no iris in its plan), face not yet taken."""
    client = kit.client()
    record = client.enrollment.StartEnrollment(
        enrollment_pb2.StartEnrollmentRequest(subject=_subject()), metadata=client.metadata
    )
    client.close()
    return record.enrollment_id


def _start(client: StationClient, **changes: object) -> None:
    client.enrollment.StartEnrollment(
        enrollment_pb2.StartEnrollmentRequest(subject=_subject(**changes)),
        metadata=client.metadata,
        timeout=30,
    )


def _capture(client: StationClient, eid: str, **fields: object) -> None:
    request = enrollment_pb2.CaptureRequest(enrollment_id=eid, **fields)
    list(client.enrollment.Capture(request, metadata=client.metadata, timeout=30))


def _exception(client: StationClient, eid: str, where: str, kind: int, proof: bytes = b"") -> None:
    client.enrollment.MarkException(
        enrollment_pb2.MarkExceptionRequest(
            enrollment_id=eid, position=position(where), kind=kind, proof_photo=proof or b"\xff"
        ),
        metadata=client.metadata,
        timeout=30,
    )


Case = Callable[[StationClient, str], object]
NIK_CASES = {
    "fullwidth digits": "３１７４０１０１０１９００００１",
    "arabic-indic digits": "٣١٧٤٠١٠١٠١٩٠٠٠٠١",
    "right-to-left override": "\u202e317401010190000",
    "zero-width space": "3174010101\u200b900001",
    "emoji": "317401010190000\U0001f600",
    "combining mark": "317401010190000" + "1\u0301",
    "seventeen digits": "31740101019000011",
}
CASES: dict[str, tuple[Case, grpc.StatusCode, str]] = {
    **{
        f"NIK with {label}": (
            lambda c, _e, nik=nik: _start(c, nik=nik),
            grpc.StatusCode.INVALID_ARGUMENT,
            "NIK_INVALID",
        )
        for label, nik in NIK_CASES.items()
    },
    "oversized name": (
        lambda c, _e: _start(c, name="A" * BIG),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "",
    ),
    "oversized proof photo": (
        lambda c, e: _exception(c, e, "left_little", 1, b"\xff" * BIG),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "",
    ),
    "name over the text limit": (
        lambda c, _e: _start(c, name="B" * 5000),
        grpc.StatusCode.INVALID_ARGUMENT,
        "FIELD_TOO_LONG",
    ),
    "category out of range": (
        lambda c, _e: _start(c, category=999),
        grpc.StatusCode.INVALID_ARGUMENT,
        "SUBJECT_INVALID",
    ),
    "sex out of range": (
        lambda c, _e: _start(c, sex=-4),
        grpc.StatusCode.INVALID_ARGUMENT,
        "SEX_MISSING",
    ),
    "position out of range": (
        lambda c, e: _capture(c, e, position=4242),
        grpc.StatusCode.INVALID_ARGUMENT,
        "POSITION_INVALID",
    ),
    "exception kind out of range": (
        lambda c, e: _exception(c, e, "left_little", 77),
        grpc.StatusCode.INVALID_ARGUMENT,
        "EXCEPTION_KIND_INVALID",
    ),
    "iris for a plan without iris": (
        lambda c, e: _capture(c, e, position=position("left_eye")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "POSITION_NOT_IN_PLAN",
    ),
    "finger before the face photo": (
        lambda c, e: _capture(c, e, position=position("right_index")),
        grpc.StatusCode.FAILED_PRECONDITION,
        "FACE_NOT_APPROVED",
    ),
    "approving a sample never taken": (
        lambda c, e: c.enrollment.ApproveSample(
            enrollment_pb2.ApproveSampleRequest(
                enrollment_id=e, position=position("right_thumb"), approved=True
            ),
            metadata=c.metadata,
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "NO_SAMPLE",
    ),
    "negative preview rate": (
        lambda c, e: _capture(c, e, position=position("face"), preview_fps=-30),
        grpc.StatusCode.INVALID_ARGUMENT,
        "PREVIEW_FPS_INVALID",
    ),
    "infinite timeout": (
        lambda c, e: _capture(c, e, position=position("face"), timeout_seconds=float("inf")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "TIMEOUT_INVALID",
    ),
    "completing an incomplete record": (
        lambda c, e: c.enrollment.CompleteEnrollment(
            enrollment_pb2.CompleteEnrollmentRequest(enrollment_id=e), metadata=c.metadata
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "MODALITY_MISSING",
    ),
}


def _serving(kit) -> None:
    client = kit.client(kit.technician_token)
    try:
        health = client.health.Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        devices = client.devices.ListDevices(
            devices_pb2.ListDevicesRequest(), metadata=client.metadata, timeout=10
        ).devices
        assert len(devices) > 0
    finally:
        client.close()


@pytest.mark.parametrize("name", list(CASES))
def test_malformed_requests_get_a_proper_status(kit, enrollment_id, name):
    call, code, reason = CASES[name]
    client = kit.client()
    try:
        with pytest.raises(grpc.RpcError) as caught:
            call(client, enrollment_id)
    finally:
        client.close()
    assert caught.value.code() == code, caught.value.details()
    assert error_reason(caught.value) == reason
    _serving(kit)


@pytest.mark.parametrize(
    ("label", "metadata", "reason"),
    [
        ("no authorization", [], "UNAUTHENTICATED"),
        ("another scheme", [("authorization", "Basic b3A6cGFzcw==")], "UNAUTHENTICATED"),
        ("empty bearer", [("authorization", "Bearer ")], "UNAUTHENTICATED"),
        ("unknown token", [("authorization", "Bearer " + "A" * 43)], "UNAUTHENTICATED"),
        ("oversized token", [("authorization", "Bearer " + "A" * 6000)], "UNAUTHENTICATED"),
        ("expired token", "expired", "TOKEN_EXPIRED"),
    ],
)
def test_bad_credentials_are_refused_and_the_daemon_keeps_serving(kit, label, metadata, reason):
    if metadata == "expired":
        metadata = [("authorization", f"Bearer {kit.extra_tokens['expired']}")]
    client = kit.client("")
    try:
        for call in (
            lambda: client.records.ListRecords(
                records_pb2.ListRecordsRequest(), metadata=metadata, timeout=10
            ),
            lambda: list(
                client.enrollment.Capture(
                    enrollment_pb2.CaptureRequest(position=common_pb2.POSITION_FACE),
                    metadata=metadata,
                    timeout=10,
                )
            ),
        ):
            with pytest.raises(grpc.RpcError) as caught:
                call()
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert error_reason(caught.value) == reason
    finally:
        client.close()
    _serving(kit)


def test_invalid_enum_filters_are_ignored_not_fatal(kit):
    client = kit.client()
    try:
        listed = client.enrollment.ListEnrollments(
            enrollment_pb2.ListEnrollmentsRequest(states=[999, -1]), metadata=client.metadata
        )
        assert all(
            e.state == enrollment_pb2.ENROLLMENT_STATE_IN_PROGRESS for e in listed.enrollments
        )
        records = client.records.ListRecords(
            records_pb2.ListRecordsRequest(statuses=[-7]), metadata=client.metadata
        )
        assert records is not None
        # A negative page size is refused, not taken for a default, and the daemon serves on.
        with pytest.raises(grpc.RpcError) as refused:
            client.records.ListRecords(
                records_pb2.ListRecordsRequest(statuses=[-7], page_size=-3),
                metadata=client.metadata,
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_reason(refused.value) == "PAGE_SIZE_INVALID"
    finally:
        client.close()
    _serving(kit)
