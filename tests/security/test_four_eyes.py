"""The rogue operator and the rogue supervisor on a real kit: approvals reused, moved to another
finger or enrollment, or given by the supervisor to themselves; other operators' enrollments
read, listed or cancelled; proof photos that are no pictures; a sealed record's subject left in
memory. And what the sealed manifest's audit head lets the centre check."""

from __future__ import annotations

import io
import os

import grpc
import numpy as np
import pytest
from PIL import Image

from simulator.demo import Operator, Visit, subject_for
from simulator.personas import make_persona
from station.approvals import FORCE_CAPTURE, ApprovalBook, ApprovalRefused
from station.audit import AuditLog, verify_export
from station.auth import Role
from station.client import position
from station.errors import error_reason
from station.v1 import enrollment_pb2, records_pb2
from uploader.package import open_package

FORCE = enrollment_pb2.OVERRIDE_ACTION_FORCE_CAPTURE
MARK = enrollment_pb2.OVERRIDE_ACTION_MARK_EXCEPTION
AMPUTATED = enrollment_pb2.EXCEPTION_KIND_AMPUTATED


@pytest.fixture(scope="module")
def people(kit):
    """Clients of two operators and two supervisors, each with their own login."""
    tokens = kit.daemon.tokens
    clients = {
        "ani": kit.client(),
        "dewi": kit.client(tokens.add("op-dewi", Role.OPERATOR)),
        "budi": kit.client(kit.supervisor_token),
        "citra": kit.client(tokens.add("sup-citra", Role.SUPERVISOR)),
    }
    yield clients
    for client in clients.values():
        client.close()


def _start(client, kind: str = "adult", seed: int = 7, category: int = 0) -> str:
    subject = subject_for(make_persona(kind, seed), category=category)
    return client.enrollment.StartEnrollment(
        enrollment_pb2.StartEnrollmentRequest(subject=subject), metadata=client.metadata
    ).enrollment_id


def _refused(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def _jpeg(width: int, height: int) -> bytes:
    picture = Image.fromarray(np.full((height, width, 3), 128, np.uint8))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG")
    return buffer.getvalue()


def test_an_approval_works_once_and_only_for_what_it_names(kit, people):
    ani, budi = people["ani"], people["budi"]
    kit.present("elderly", 21)  # worn prints: never above the regular threshold
    eid = _start(ani, "elderly", 21, category=1)
    other_eid = _start(ani, "adult", 22)
    assert ani.capture(eid, position("face")).result.accepted
    ani.enrollment.ApproveSample(
        enrollment_pb2.ApproveSampleRequest(
            enrollment_id=eid, position=position("face"), approved=True
        ),
        metadata=ani.metadata,
    )
    thumb = position("right_thumb")
    for _ in range(3):
        assert not ani.capture(eid, thumb, timeout_seconds=1).result.accepted
    misused = [
        budi.approve_override(eid, position("left_thumb"), FORCE),  # another finger
        budi.approve_override(eid, thumb, MARK, AMPUTATED),  # another action
        budi.approve_override(other_eid, thumb, FORCE),  # another enrollment
    ]
    for approval in misused:
        error = _refused(
            lambda a=approval: ani.capture(
                eid, thumb, force=True, force_reason="worn", approval_id=a
            )
        )
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        assert error_reason(error) == "APPROVAL_INVALID"
    approval = budi.approve_override(eid, thumb, FORCE)
    forced = ani.capture(eid, thumb, force=True, force_reason="worn", approval_id=approval)
    assert forced.result.accepted and forced.result.sample.forced
    error = _refused(
        lambda: ani.capture(eid, thumb, force=True, force_reason="worn", approval_id=approval)
    )
    assert error_reason(error) == "APPROVAL_INVALID"  # used up
    log = AuditLog(kit.data_dir / "audit.db", readonly=True)
    forced_entries = [e for e in log.entries("capture_forced") if e.target == eid]
    approvals = [e for e in log.entries("override_approved") if e.target == eid]
    log.close()
    assert [e.detail_map["approved_by"] for e in forced_entries if e.detail_map["status"] == "OK"]
    assert {e.actor for e in approvals} == {"sup-budi"}
    for enrollment_id in (eid, other_eid):
        ani.enrollment.CancelEnrollment(
            enrollment_pb2.CancelEnrollmentRequest(enrollment_id=enrollment_id),
            metadata=ani.metadata,
        )


def test_a_supervisor_cannot_approve_an_enrollment_they_record(people):
    budi, citra = people["budi"], people["citra"]
    eid = _start(budi, "adult", 31)
    error = _refused(lambda: budi.approve_override(eid, position("right_thumb"), FORCE))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_reason(error) == "APPROVAL_FOUR_EYES"
    assert citra.approve_override(eid, position("right_thumb"), FORCE).startswith("ap_")
    error = _refused(lambda: people["ani"].approve_override(eid, position("right_thumb"), FORCE))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED  # operators approve nothing
    budi.enrollment.CancelEnrollment(
        enrollment_pb2.CancelEnrollmentRequest(enrollment_id=eid), metadata=budi.metadata
    )


def test_an_approval_expires_and_no_request_carries_a_token():
    now = [1000.0]
    book = ApprovalBook(ttl_s=120, clock=lambda: now[0])
    approval = book.issue("e1", "op-ani", "right_thumb", FORCE_CAPTURE, "sup-budi")
    now[0] += 121
    with pytest.raises(ApprovalRefused):
        book.consume(approval.approval_id, "e1", "right_thumb", FORCE_CAPTURE)
    for request in (enrollment_pb2.CaptureRequest, enrollment_pb2.MarkExceptionRequest):
        assert not [f for f in request.DESCRIPTOR.fields_by_name if "token" in f]


def test_operators_see_and_cancel_only_their_own_enrollments(kit, people):
    ani, dewi, budi = people["ani"], people["dewi"], people["budi"]
    persona = make_persona("adult", 41)
    eid = _start(ani, "adult", 41)
    attempts = {
        "get": lambda: dewi.enrollment.GetEnrollment(
            enrollment_pb2.GetEnrollmentRequest(enrollment_id=eid), metadata=dewi.metadata
        ),
        "cancel": lambda: dewi.enrollment.CancelEnrollment(
            enrollment_pb2.CancelEnrollmentRequest(enrollment_id=eid), metadata=dewi.metadata
        ),
        "approve": lambda: dewi.enrollment.ApproveSample(
            enrollment_pb2.ApproveSampleRequest(
                enrollment_id=eid, position=position("face"), approved=True
            ),
            metadata=dewi.metadata,
        ),
        "capture": lambda: dewi.capture(eid, position("face")),
        "complete": lambda: dewi.enrollment.CompleteEnrollment(
            enrollment_pb2.CompleteEnrollmentRequest(enrollment_id=eid), metadata=dewi.metadata
        ),
    }
    for name, attempt in attempts.items():
        error = _refused(attempt)
        assert error.code() == grpc.StatusCode.NOT_FOUND, name
    listed = dewi.enrollment.ListEnrollments(
        enrollment_pb2.ListEnrollmentsRequest(), metadata=dewi.metadata
    )
    assert eid not in [e.enrollment_id for e in listed.enrollments]
    assert persona.nik.encode() not in listed.SerializeToString()
    seen_by_supervisor = budi.enrollment.ListEnrollments(
        enrollment_pb2.ListEnrollmentsRequest(page_size=100), metadata=budi.metadata
    )
    assert eid in [e.enrollment_id for e in seen_by_supervisor.enrollments]
    still = ani.enrollment.GetEnrollment(
        enrollment_pb2.GetEnrollmentRequest(enrollment_id=eid), metadata=ani.metadata
    )
    assert still.state == enrollment_pb2.ENROLLMENT_STATE_IN_PROGRESS
    ani.enrollment.CancelEnrollment(
        enrollment_pb2.CancelEnrollmentRequest(enrollment_id=eid), metadata=ani.metadata
    )


def test_list_enrollments_pages_with_a_token_only_its_caller_can_use(people):
    dewi, ani = people["dewi"], people["ani"]
    mine = [_start(dewi, "adult", 50 + n) for n in range(3)]

    def page(client, **fields):
        return client.enrollment.ListEnrollments(
            enrollment_pb2.ListEnrollmentsRequest(**fields), metadata=client.metadata
        )

    first = page(dewi, page_size=2)
    second = page(dewi, page_size=2, page_token=first.next_page_token)
    assert len(first.enrollments) == 2 and first.next_page_token
    assert second.next_page_token == ""
    assert [e.enrollment_id for e in (*first.enrollments, *second.enrollments)] == mine
    forged = first.next_page_token[:-4] + "AAAA"
    for client, fields in (
        (dewi, {"page_token": forged}),
        (ani, {"page_token": first.next_page_token}),  # someone else's token
        (dewi, {"page_size": 1000}),
    ):
        error = _refused(lambda c=client, f=fields: page(c, **f))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    for eid in mine:
        dewi.enrollment.CancelEnrollment(
            enrollment_pb2.CancelEnrollmentRequest(enrollment_id=eid), metadata=dewi.metadata
        )


def test_proof_photos_must_be_pictures_within_the_cap(kit, people):
    ani, budi = people["ani"], people["budi"]
    eid = _start(ani, "amputee", 61)
    finger = position("left_little")

    def mark(photo: bytes):
        return ani.enrollment.MarkException(
            enrollment_pb2.MarkExceptionRequest(
                enrollment_id=eid,
                position=finger,
                kind=AMPUTATED,
                proof_photo=photo,
                approval_id=budi.approve_override(eid, finger, MARK, AMPUTATED),
            ),
            metadata=ani.metadata,
        )

    bomb = io.BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, "PNG")  # a small file, a huge picture
    for photo, reason in (
        (os.urandom(3 * 2**20), "PROOF_PHOTO_TOO_LARGE"),
        (os.urandom(100_000), "PROOF_PHOTO_INVALID"),
        (b"\xff\xd8proof", "PROOF_PHOTO_INVALID"),
        (bomb.getvalue(), "PROOF_PHOTO_INVALID"),
        (_jpeg(16, 16), "PROOF_PHOTO_INVALID"),
    ):
        error = _refused(lambda p=photo: mark(p))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, reason
        assert error_reason(error) == reason
        assert error.details()  # a sentence for the operator
    error = _refused(lambda: mark(os.urandom(15 * 2**20)))  # beyond the message cap
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    marked = mark(_jpeg(640, 480))
    assert marked.exceptions[0].has_proof_photo
    held = kit.daemon.workflow.store.get(eid).exceptions
    assert max(len(m.proof_photo) for m in held.values()) < 2**20
    ani.enrollment.CancelEnrollment(
        enrollment_pb2.CancelEnrollmentRequest(enrollment_id=eid), metadata=ani.metadata
    )


@pytest.fixture(scope="module")
def sealed(kit, people):
    """An amputee enrolled end to end, each exception approved from the supervisor's app."""
    kit.present("amputee", 71)
    visit = Visit("Amputee", "amputee", 71, records_pb2.RECORD_STATUS_PRINT_READY_RECORD)
    Operator(people["ani"], people["budi"], report=lambda _line: None).enroll(visit, {})
    return visit


def test_a_sealed_enrollment_keeps_no_subject_or_proof_photo_in_memory(kit, people, sealed):
    persona = make_persona("amputee", 71)
    record = kit.daemon.outbox.get(sealed.record_id)
    enrollment_id = record.meta["enrollment_id"]
    # Sealed: the enrollment (subject, samples, proof photos) has left memory altogether.
    assert kit.daemon.workflow.store.get(enrollment_id) is None
    shown = people["budi"].enrollment.GetEnrollment(
        enrollment_pb2.GetEnrollmentRequest(enrollment_id=enrollment_id),
        metadata=people["budi"].metadata,
    )
    assert shown.state == enrollment_pb2.ENROLLMENT_STATE_COMPLETED
    assert shown.record_id == sealed.record_id
    assert persona.nik.encode() not in shown.SerializeToString()
    assert persona.name.encode() not in shown.SerializeToString()


def test_the_manifest_carries_a_signed_audit_head_the_centre_checks(kit, sealed):
    centre_key = kit.setup.centre_server.keys.private_key
    station_key = kit.daemon.keys.public_key
    package = kit.daemon.outbox.read_package(sealed.record_id)
    manifest = open_package(package, centre_key, {kit.daemon.config.station_id: station_key})
    head = manifest.manifest["audit_head"]
    log = AuditLog(kit.data_dir / "audit.db", readonly=True)
    export = log.export()
    signed = {h.hash for h in log.signed_heads()}
    log.close()
    assert head in signed  # signed with the station key when the record was sealed
    assert verify_export(export, station_key, [head]).ok
    # The same manifest head against a log without the exceptions it approved: refused.
    cut = dict(export, entries=[e for e in export["entries"] if e["seq"] < 3])
    assert not verify_export(cut, station_key, [head]).ok
