"""What Capture shows the operator: thumbnails of every modality, the signature previewed live
while the resident signs, and an exception's proof photo taken through Capture with preview
and sealed into the record. A real gRPC server on 127.0.0.1 and the simulated kit's devices."""

from __future__ import annotations

import itertools

import cv2
import grpc
import numpy as np
import pytest

from simulator.demo import Operator, Visit, subject_for
from simulator.personas import make_persona
from station.audit import AuditLog
from station.client import CaptureSummary, position
from station.errors import error_reason
from station.v1 import common_pb2, enrollment_pb2, records_pb2
from uploader.package import open_package

THUMBNAIL_MAX_SIDE = 240
PROOF = enrollment_pb2.CAPTURE_PURPOSE_PROOF_PHOTO
MARK = enrollment_pb2.OVERRIDE_ACTION_MARK_EXCEPTION
AMPUTATED = enrollment_pb2.EXCEPTION_KIND_AMPUTATED
INK_LEVEL = 128  # a pixel darker than this is ink on the white paper


def start(station, kind: str, seed: int):
    persona = make_persona(kind, seed)
    station.setup.kit.present(persona)
    client = station.client()
    record = client.enrollment.StartEnrollment(
        enrollment_pb2.StartEnrollmentRequest(subject=subject_for(persona)),
        metadata=client.metadata,
    )
    return client, record.enrollment_id


def cancel(client, eid: str) -> None:
    client.enrollment.CancelEnrollment(
        enrollment_pb2.CancelEnrollmentRequest(enrollment_id=eid), metadata=client.metadata
    )


def decoded(image: common_pb2.EncodedImage) -> np.ndarray:
    """The thumbnail's pixels; checks it is the bounded JPEG its fields describe."""
    assert image.media_type == "image/jpeg"
    assert image.data[:3] == b"\xff\xd8\xff"
    pixels = cv2.imdecode(np.frombuffer(image.data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert pixels is not None
    assert pixels.shape == (image.height, image.width)
    assert 0 < max(pixels.shape) <= THUMBNAIL_MAX_SIDE
    return pixels


def captured(client, eid: str, name: str, **options) -> enrollment_pb2.CaptureResult:
    """An accepted capture at ``name`` (a few calls at most: a call may see nothing)."""
    for _call in range(4):
        result = client.capture(eid, position(name), preview_fps=10, **options).result
        assert result is not None
        if result.accepted:
            return result
    raise AssertionError(f"{name}: no accepted capture in 4 calls ({result.reason})")


def events_of(client, request: enrollment_pb2.CaptureRequest) -> list:
    return list(client.enrollment.Capture(request, metadata=client.metadata, timeout=60))


def test_every_modality_has_a_bounded_jpeg_thumbnail_in_its_result_and_the_record(station):
    client, eid = start(station, "adult", 4101)
    face = captured(client, eid, "face")
    client.enrollment.ApproveSample(
        enrollment_pb2.ApproveSampleRequest(
            enrollment_id=eid, position=position("face"), approved=True
        ),
        metadata=client.metadata,
    )
    results = {"face": face}
    for name in ("right_index", "right_eye", "signature"):
        results[name] = captured(client, eid, name)
    for name, result in results.items():
        pixels = decoded(result.sample.thumbnail)
        assert pixels.std() > 5, f"{name}: the thumbnail shows nothing"
    # A print keeps its proportions (the scanner's 256 x 288 image).
    finger = results["right_index"].sample.thumbnail
    assert finger.height == THUMBNAIL_MAX_SIDE and finger.width < finger.height
    record = client.enrollment.GetEnrollment(
        enrollment_pb2.GetEnrollmentRequest(enrollment_id=eid, include_thumbnails=True),
        metadata=client.metadata,
    )
    by_position = {s.position: s for s in record.samples}
    assert set(by_position) == {position(n) for n in results}
    for sample in by_position.values():
        decoded(sample.thumbnail)
    plain = client.enrollment.GetEnrollment(
        enrollment_pb2.GetEnrollmentRequest(enrollment_id=eid), metadata=client.metadata
    )
    assert not any(s.HasField("thumbnail") for s in plain.samples)
    cancel(client, eid)


def _face_approved(client, eid: str) -> None:
    captured(client, eid, "face")
    client.enrollment.ApproveSample(
        enrollment_pb2.ApproveSampleRequest(
            enrollment_id=eid, position=position("face"), approved=True
        ),
        metadata=client.metadata,
    )


def test_signing_streams_previews_of_growing_ink_and_the_thumbnail_has_it_where_signed(station):
    client, eid = start(station, "adult", 4102)
    _face_approved(client, eid)
    client.kit.ask_for("signature")
    events = events_of(
        client,
        enrollment_pb2.CaptureRequest(
            enrollment_id=eid, position=position("signature"), preview_fps=10
        ),
    )
    assert events[0].prompt.instruction == "SIGN"
    previews = [e.preview for e in events if e.WhichOneof("event") == "preview"]
    result = events[-1].result
    assert result.accepted, result.message
    assert len(previews) >= 2
    assert [p.sequence for p in previews] == sorted({p.sequence for p in previews})
    ink = [int(np.count_nonzero(decoded_preview(p.image) < INK_LEVEL)) for p in previews]
    assert ink[-1] > ink[0], ink
    for before, after in itertools.pairwise(ink):
        assert after >= before * 0.98, ink  # strokes only ever add ink
    assert all(p.quality.score >= 0 and p.HasField("captured_at") for p in previews)

    # The thumbnail's ink lies where the pen touched, on the pad's area scaled into the box.
    pad = station.setup.kit.signature_pad
    touched = [(s.x, s.y) for s in pad.last_replay if s.tip and s.in_proximity]
    assert touched
    scale = THUMBNAIL_MAX_SIDE / max(pad.model.max_x, pad.model.max_y)
    xs, ys = (np.array(axis) * scale for axis in zip(*touched, strict=True))
    thumbnail = decoded(result.sample.thumbnail)
    assert thumbnail.shape == (
        round(pad.model.max_y * scale),
        round(pad.model.max_x * scale),
    )
    rows, cols = np.nonzero(thumbnail < INK_LEVEL)
    margin = 3  # the widest line's half width and the JPEG's blur
    assert cols.min() >= xs.min() - margin and cols.max() <= xs.max() + margin
    assert rows.min() >= ys.min() - margin and rows.max() <= ys.max() + margin
    # ... and spans the strokes' bounding box, not just a corner of it.
    assert cols.max() - cols.min() >= 0.9 * (xs.max() - xs.min())
    assert rows.max() - rows.min() >= 0.9 * (ys.max() - ys.min())
    outside = thumbnail.copy()
    outside[
        max(0, int(ys.min()) - margin) : int(ys.max()) + margin + 1,
        max(0, int(xs.min()) - margin) : int(xs.max()) + margin + 1,
    ] = 255
    assert outside.min() > 200  # paper everywhere else
    cancel(client, eid)


def decoded_preview(image: common_pb2.EncodedImage) -> np.ndarray:
    pixels = cv2.imdecode(np.frombuffer(image.data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert pixels is not None and pixels.shape == (image.height, image.width)
    return pixels


def proof_request(eid: str, name: str, **options) -> enrollment_pb2.CaptureRequest:
    return enrollment_pb2.CaptureRequest(
        enrollment_id=eid,
        position=position(name),
        purpose=PROOF,
        preview_fps=10,
        timeout_seconds=1.0,
        **options,
    )


def mark_request(eid: str, name: str, **options) -> enrollment_pb2.MarkExceptionRequest:
    return enrollment_pb2.MarkExceptionRequest(
        enrollment_id=eid, position=position(name), kind=AMPUTATED, note="amputated", **options
    )


def test_a_proof_photo_needs_a_picture_and_a_capture_before_mark_exception_uses_it(station):
    client, eid = start(station, "amputee", 4103)
    supervisor = station.client(station.supervisor_token)
    kit = station.setup.kit
    # A covered lens: black frames only. The capture ends in a result, and keeps nothing.
    kit.set_fault("face-camera-0", "dark", gain=0.02)
    try:
        client.kit.ask_for("face")
        events = events_of(client, proof_request(eid, "right_index"))
    finally:
        kit.clear_faults("face-camera-0")
    assert events[0].prompt.instruction == "SHOW_FOR_PROOF_PHOTO"
    assert any(e.WhichOneof("event") == "preview" for e in events)
    dark = events[-1].result
    assert not dark.accepted and dark.reason == "PROOF_PHOTO_BLANK"
    assert "proof photo" in dark.message
    approval = supervisor.approve_override(eid, position("right_index"), MARK, AMPUTATED)
    with pytest.raises(grpc.RpcError) as caught:
        client.enrollment.MarkException(
            mark_request(eid, "right_index", proof_from_capture=True, approval_id=approval),
            metadata=client.metadata,
        )
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(caught.value) == "PROOF_PHOTO_NOT_CAPTURED"
    # Refused before the approval was used: it still works, here for a photo sent as bytes.
    sent = cv2.imencode(".jpg", np.full((120, 160, 3), 90, np.uint8))[1].tobytes()
    with pytest.raises(grpc.RpcError) as caught:
        client.enrollment.MarkException(
            mark_request(
                eid, "right_index", proof_from_capture=True, proof_photo=sent, approval_id=approval
            ),
            metadata=client.metadata,
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(caught.value) == "PROOF_PHOTO_TWO_SOURCES"
    marked = client.enrollment.MarkException(
        mark_request(eid, "right_index", proof_photo=sent, approval_id=approval),
        metadata=client.metadata,
    )
    assert [e.has_proof_photo for e in marked.exceptions] == [True]

    # A lit camera: the photo is taken, with preview, and uses no attempt.
    client.kit.ask_for("face")
    events = events_of(client, proof_request(eid, "left_index"))
    taken = events[-1].result
    assert taken.accepted, taken.message
    assert taken.sample.position == position("left_index")
    decoded(taken.sample.thumbnail)
    assert taken.attempts_left == 3
    still = client.enrollment.GetEnrollment(
        enrollment_pb2.GetEnrollmentRequest(enrollment_id=eid), metadata=client.metadata
    )
    assert position("left_index") in still.missing  # a proof photo is no exception yet
    with pytest.raises(grpc.RpcError) as caught:  # still a supervisor's decision
        client.enrollment.MarkException(
            mark_request(eid, "left_index", proof_from_capture=True), metadata=client.metadata
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_reason(caught.value) == "SUPERVISOR_APPROVAL_REQUIRED"
    with pytest.raises(grpc.RpcError) as caught:  # a proof photo is never forced
        events_of(client, proof_request(eid, "left_index", force=True, force_reason="x"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    supervisor.close()
    cancel(client, eid)


class ProofPhotoOperator(Operator):
    """The demo's operator (who takes each exception's proof photo through Capture, with
    preview), keeping the thumbnail the app showed."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, report=lambda line: None, **kwargs)
        self.shown: dict[str, common_pb2.EncodedImage] = {}
        self.enrollment_id = ""

    def _proof_photo(self, eid: str, name: str) -> CaptureSummary:
        summary = super()._proof_photo(eid, name)
        assert summary.previews >= 1 and summary.result is not None
        self.shown[name] = summary.result.sample.thumbnail
        self.enrollment_id = eid
        return summary


@pytest.mark.slow
def test_a_proof_photo_taken_through_capture_is_sealed_into_the_record(station):
    station.present("amputee", 4104)
    client = station.client()
    supervisor = station.client(station.supervisor_token)
    operator = ProofPhotoOperator(client, supervisor)
    visit = Visit("amputee", "amputee", 4104, records_pb2.RECORD_STATUS_PRINT_READY_RECORD)
    operator.enroll(visit, {})
    supervisor.close()
    assert visit.record_id and len(operator.shown) == visit.exceptions >= 1

    sealed = open_package(
        station.daemon.outbox.read_package(visit.record_id),
        station.setup.centre_server.keys.private_key,
        {"KIT-TEST-01": station.daemon.keys.public_key},
    )
    photos = sealed.transaction.proof_photos
    assert set(photos) == set(operator.shown)
    for name, thumbnail in operator.shown.items():
        assert sealed.transaction.finger_exceptions[name] == "amputated"
        photo = cv2.imdecode(np.frombuffer(photos[name], np.uint8), cv2.IMREAD_GRAYSCALE)
        assert photo is not None and max(photo.shape) > THUMBNAIL_MAX_SIDE
        shown = decoded(thumbnail)
        small = cv2.resize(photo, (shown.shape[1], shown.shape[0]), interpolation=cv2.INTER_AREA)
        # The sealed photo is the one the operator was shown.
        assert float(np.abs(small.astype(np.float32) - shown).mean()) < 8.0
    # Sealed: the kit keeps no image of it; GetEnrollment answers the record, no samples.
    done = client.enrollment.GetEnrollment(
        enrollment_pb2.GetEnrollmentRequest(
            enrollment_id=operator.enrollment_id, include_thumbnails=True
        ),
        metadata=client.metadata,
    )
    assert done.state == enrollment_pb2.ENROLLMENT_STATE_COMPLETED and not done.samples
    # The audit log tells a photo taken through Capture from one sent or taken unseen.
    log = AuditLog(station.data_dir / "audit.db", readonly=True)
    taken = [e for e in log.entries("proof_photo_captured") if e.target == operator.enrollment_id]
    marked = [e for e in log.entries("exception_marked") if e.target == operator.enrollment_id]
    log.close()
    assert {e.detail_map["position"] for e in taken} == set(operator.shown)
    assert all(e.detail_map["proof_from_capture"] for e in marked)
