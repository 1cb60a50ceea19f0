"""The guided enrollment workflow over gRPC, driven with simulated personas."""

from __future__ import annotations

import threading
import time
from datetime import date

import grpc
import pytest

from quality.config import FingerprintConfig
from simulator.demo import subject_for
from simulator.personas import make_nik, make_persona
from station.client import position
from station.convert import CATEGORY_TO_PB, SEX_TO_PB
from station.errors import error_reason
from station.v1 import common_pb2, enrollment_pb2


def start(station, kind: str, seed: int, category: int | None = None, on: date | None = None):
    """Present the persona at the kit and start its enrollment; returns (client, record)."""
    persona = make_persona(kind, seed, on=on) if on else make_persona(kind, seed)
    station.setup.kit.present(persona)
    client = station.client()
    subject = subject_for(persona, category=category)
    record = client.enrollment.StartEnrollment(
        enrollment_pb2.StartEnrollmentRequest(subject=subject), metadata=client.metadata
    )
    return client, record


def cancel(client, eid: str) -> None:
    """End the enrollment: the resident's NIK may be enrolled again (one open per NIK)."""
    client.enrollment.CancelEnrollment(
        enrollment_pb2.CancelEnrollmentRequest(enrollment_id=eid), metadata=client.metadata
    )


def approve_face(client, eid: str) -> None:
    result = client.capture(eid, position("face")).result
    assert result is not None and result.accepted
    client.enrollment.ApproveSample(
        enrollment_pb2.ApproveSampleRequest(
            enrollment_id=eid, position=position("face"), approved=True
        ),
        metadata=client.metadata,
    )


def test_worn_prints_are_forced_after_three_attempts_with_a_reason(station):
    # An elderly resident recorded under the regular plan: no relaxed threshold applies.
    client, record = start(station, "elderly", 21, category=common_pb2.RESIDENT_CATEGORY_REGULAR)
    eid = record.enrollment_id
    approve_face(client, eid)
    finger = position("right_thumb")
    supervisor = station.client(station.supervisor_token)

    def approval() -> str:
        force = enrollment_pb2.OVERRIDE_ACTION_FORCE_CAPTURE
        return supervisor.approve_override(eid, finger, force)

    with pytest.raises(grpc.RpcError) as caught:
        client.capture(eid, finger, force=True, force_reason="worn ridges", approval_id=approval())
    assert error_reason(caught.value) == "FORCE_TOO_EARLY"
    scores = []
    for attempt in range(3):
        # A worn print never passes: each attempt keeps the best frame of its 2 s window.
        result = client.capture(eid, finger, timeout_seconds=2).result
        assert result is not None and not result.accepted, "worn print passed the threshold"
        assert result.reason == "BELOW_THRESHOLD"
        assert result.attempts_left == 2 - attempt
        scores.append(result.sample.quality.score)
    with pytest.raises(grpc.RpcError) as caught:
        client.capture(eid, finger, force=True, approval_id=approval())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # The operator alone may not keep a capture below the threshold.
    with pytest.raises(grpc.RpcError) as caught:
        client.capture(eid, finger, force=True, force_reason="worn ridges")
    assert error_reason(caught.value) == "SUPERVISOR_APPROVAL_REQUIRED"
    forced = client.capture(
        eid, finger, force=True, force_reason="worn ridges", approval_id=approval()
    ).result
    supervisor.close()
    assert forced.accepted and forced.sample.forced
    assert forced.sample.forced_reason == "worn ridges"
    assert forced.sample.quality.score == max(scores)
    assert forced.sample.attempts == 3
    cancel(client, eid)


def test_elderly_plan_allows_the_relaxed_threshold_and_records_it(station):
    client, record = start(station, "elderly", 21)
    eid = record.enrollment_id
    approve_face(client, eid)
    result = client.capture(eid, position("right_thumb")).result
    assert result.accepted
    assert result.sample.relaxed_threshold
    assert result.sample.quality.score < 40 <= 40 + result.sample.quality.threshold


def test_the_kept_print_is_judged_by_nfiq2(station):
    client, record = start(station, "adult", 27)
    eid = record.enrollment_id
    approve_face(client, eid)
    result = client.capture(eid, position("right_index")).result
    assert result.accepted
    measures = result.sample.quality.measures
    # The decision's score is NFIQ 2's; the per-frame score that triggered the capture is kept.
    assert result.sample.quality.score == measures["nfiq2"] >= 35
    assert result.sample.quality.threshold == 35
    assert measures["live_score"] >= FingerprintConfig().min_score
    assert "orientation_certainty" in measures
    cancel(client, eid)


def test_mental_disorder_plan_skips_iris(station):
    client, record = start(station, "mental_disorder", 22)
    assert position("right_eye") not in record.plan
    approve_face(client, record.enrollment_id)
    with pytest.raises(grpc.RpcError) as caught:
        client.capture(record.enrollment_id, position("left_eye"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(caught.value) == "POSITION_NOT_IN_PLAN"


def test_student_from_16_is_recorded_but_not_print_eligible(station):
    _, record = start(station, "student", 23)
    assert "NOT_PRINT_ELIGIBLE_UNTIL_17" in record.flags
    young = make_persona("student", 24, on=date(date.today().year + 1, 6, 1))
    client = station.client()
    subject = enrollment_pb2.Subject(
        nik=young.nik,
        name=young.name,
        birth_date=young.birth_date.isoformat(),
        sex=SEX_TO_PB[young.sex],
        category=common_pb2.RESIDENT_CATEGORY_STUDENT,
    )
    with pytest.raises(grpc.RpcError) as caught:
        client.enrollment.StartEnrollment(
            enrollment_pb2.StartEnrollmentRequest(subject=subject), metadata=client.metadata
        )
    assert error_reason(caught.value) == "TOO_YOUNG"


def test_same_finger_twice_is_refused_and_named(station):
    client, record = start(station, "adult", 25)
    eid = record.enrollment_id
    approve_face(client, eid)
    assert client.capture(eid, position("right_index")).result.accepted
    # Asked for the right middle finger, the resident is one finger behind: the right index again.
    result = client.capture(eid, position("right_middle"), presents="right_index").result
    assert not result.accepted
    assert result.reason == "SAME_FINGER"
    assert result.conflicting_position == position("right_index")
    assert "right index finger" in result.message and "one finger behind" in result.message
    assert client.capture(eid, position("right_middle")).result.accepted


def test_cancelling_the_call_cancels_the_capture(station):
    client, record = start(station, "adult", 26)
    eid = record.enrollment_id
    approve_face(client, eid)
    station.setup.kit.present(None)  # nobody at the scanner: the capture waits for a finger
    stream = client.enrollment.Capture(
        enrollment_pb2.CaptureRequest(
            enrollment_id=eid, position=position("left_thumb"), timeout_seconds=30
        ),
        metadata=client.metadata,
    )
    first = next(stream)
    assert first.prompt.instruction == "PLACE_FINGER"
    threading.Timer(0.2, stream.cancel).start()
    with pytest.raises(grpc.RpcError) as caught:
        for _ in stream:
            pass
    assert caught.value.code() == grpc.StatusCode.CANCELLED
    station.setup.kit.present(make_persona("adult", 26))
    # The device and the enrollment are free again; the cancelled call used no attempt.
    result = client.capture(eid, position("left_thumb")).result
    assert result.accepted and result.sample.attempts == 1


def test_retake_on_request_discards_the_photo(station):
    client, record = start(station, "adult", 27)
    eid = record.enrollment_id
    assert client.capture(eid, position("face")).result.accepted
    after = client.enrollment.ApproveSample(
        enrollment_pb2.ApproveSampleRequest(
            enrollment_id=eid, position=position("face"), approved=False
        ),
        metadata=client.metadata,
    )
    assert position("face") in after.missing
    assert not [s for s in after.samples if s.position == position("face")]


def test_preview_frames_carry_live_quality_and_prompts(station):
    client, record = start(station, "adult", 28)
    summary = client.capture(record.enrollment_id, position("face"), preview_fps=30)
    instructions = [p.instruction for p in summary.prompts]
    assert instructions[0] == "LOOK_AT_CAMERA"
    assert "HOLD_STILL" in instructions
    assert summary.previews >= 2
    approve_face(client, record.enrollment_id)
    finger = client.capture(record.enrollment_id, position("left_index"))
    assert [p.instruction for p in finger.prompts] == ["PLACE_FINGER", "LIFT_FINGER"]


def test_slow_client_gets_frames_dropped_not_queued(station):
    # The resident claims a birth year of the other parity: the backdrop is now the wrong
    # colour, so the face never passes and the preview runs its whole window.
    persona = make_persona("adult", 29)
    claimed = persona.birth_date.replace(year=persona.birth_date.year - 1)
    station.setup.kit.present(persona)
    client = station.client()
    subject = enrollment_pb2.Subject(
        nik=make_nik(persona.nik[:6], claimed, persona.sex, int(persona.nik[12:])),
        name=persona.name,
        birth_date=claimed.isoformat(),
        sex=SEX_TO_PB[persona.sex],
        category=CATEGORY_TO_PB[persona.category],
    )
    eid = client.enrollment.StartEnrollment(
        enrollment_pb2.StartEnrollmentRequest(subject=subject), metadata=client.metadata
    ).enrollment_id
    stream = client.enrollment.Capture(
        enrollment_pb2.CaptureRequest(
            enrollment_id=eid, position=position("face"), preview_fps=30, timeout_seconds=3
        ),
        metadata=client.metadata,
    )
    previews = dropped = 0
    result = None
    for event in stream:
        kind = event.WhichOneof("event")
        if kind == "preview":
            previews += 1
            dropped += event.preview.dropped
            time.sleep(0.5)  # a slow operator app
        elif kind == "result":
            result = event.result
    assert result is not None and not result.accepted
    codes = {r.code for r in result.sample.quality.reasons}
    assert "WRONG_BACKGROUND_COLOUR" in codes
    expected = "blue" if claimed.year % 2 == 0 else "red"
    assert any(expected in r.message for r in result.sample.quality.reasons)
    # A reader taking 0.5 s per frame of a 30 fps preview: frames are dropped, not queued.
    assert dropped > 0
