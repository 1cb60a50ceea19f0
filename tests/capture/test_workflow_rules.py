"""Every rule of the enrollment workflow, in-process against fake devices.

Assertions name error kinds, reason codes, metadata, states and samples; never sentences.
"""

from __future__ import annotations

import os
import threading
from datetime import date

import numpy as np
import pytest
from fake_devices import (
    ATTEMPTS,
    NORMAL_THRESHOLD,
    RELAXED_THRESHOLD,
    FakeKit,
    capture,
    events_until_first,
    finger_print,
    make_workflow,
    photo,
    subject,
    with_approved_face,
)

from capture.enrollment import Enrollment, EnrollmentState
from capture.errors import ErrorKind, WorkflowError
from capture.journal import EnrollmentJournal
from capture.workflow import EnrollmentWorkflow, SealedEnrollment
from domain.vocabulary import ALL_POSITIONS, EYES, FINGERS, Category, Modality, Position, Sex
from drivers.errors import DeviceUnavailable

BELOW = NORMAL_THRESHOLD - 15  # under the normal threshold, over the relaxed one
assert RELAXED_THRESHOLD < BELOW < NORMAL_THRESHOLD
GOOD = NORMAL_THRESHOLD + 20
THUMB, INDEX = Position.RIGHT_THUMB, Position.RIGHT_INDEX
SUPERVISOR = "sup-budi"


@pytest.fixture
def kit() -> FakeKit:
    return FakeKit()


@pytest.fixture
def workflow(kit: FakeKit) -> EnrollmentWorkflow:
    return make_workflow(kit)


@pytest.fixture
def enrollment(workflow: EnrollmentWorkflow) -> Enrollment:
    return workflow.start(subject(), "op-ani")


@pytest.fixture
def ready(workflow: EnrollmentWorkflow, kit: FakeKit, enrollment: Enrollment) -> Enrollment:
    """An enrollment whose face is taken and approved: the other positions may be captured."""
    with_approved_face(workflow, kit, enrollment)
    return enrollment


def refused(call, *args, **kwargs) -> WorkflowError:
    """The WorkflowError ``call`` raises (a capture call is run to its end)."""
    with pytest.raises(WorkflowError) as caught:
        result = call(*args, **kwargs)
        if hasattr(result, "__next__"):
            list(result)
    return caught.value


def below_threshold_attempts(
    workflow: EnrollmentWorkflow, kit: FakeKit, enrollment: Enrollment, scores: list[int]
) -> None:
    for score in scores:
        kit.present(THUMB, score)
        assert not capture(workflow, enrollment.enrollment_id, THUMB).accepted


def complete_everything(workflow: EnrollmentWorkflow, kit: FakeKit, enrollment: Enrollment):
    """Capture every planned position still missing (the face is approved)."""
    for position in enrollment.missing():
        kit.present(Position(position), GOOD)
        assert capture(workflow, enrollment.enrollment_id, Position(position)).accepted
        if position == Position.FACE:
            workflow.approve(enrollment.enrollment_id, position, True)


# -- starting an enrollment ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"nik": "12345"}, "NIK_INVALID"),
        ({"nik": "317405520390000x"}, "NIK_INVALID"),
        ({"nik": "0000005203900001"}, "NIK_INVALID"),
        ({"name": "   "}, "NAME_MISSING"),
        ({"sex": "", "nik": "3174055203900001"}, "SEX_MISSING"),
        ({"birth_date": date(2027, 1, 1), "nik": "3174054101270001"}, "BIRTH_DATE_INVALID"),
        ({"nik": "3174051203900001"}, "NIK_BIRTH_DATE_MISMATCH"),  # a man's day for a woman
        ({"birth_date": date(2011, 1, 1), "nik": "3174054101110001"}, "TOO_YOUNG"),
    ],
)
def test_an_invalid_subject_is_refused_with_its_reason(workflow, overrides, reason):
    error = refused(workflow.start, subject(**overrides), "op-ani")
    assert (error.kind, error.reason) == (ErrorKind.INVALID_ARGUMENT, reason)
    assert workflow.store.list() == []


def test_a_student_under_17_is_flagged_not_print_eligible(workflow):
    sixteen = workflow.start(subject(Category.STUDENT, birth_date=date(2010, 1, 5)), "op-ani")
    seventeen = workflow.start(subject(Category.STUDENT, birth_date=date(2009, 1, 5)), "op-ani")
    assert sixteen.flags == ["NOT_PRINT_ELIGIBLE_UNTIL_17"]
    assert seventeen.flags == []


def test_the_plan_follows_the_category(workflow):
    regular = workflow.start(subject(), "op-ani")
    mental = workflow.start(subject(Category.MENTAL_DISORDER, sex=Sex.MALE), "op-ani")
    assert list(regular.plan.positions) == list(ALL_POSITIONS)
    assert list(mental.plan.positions) == [p for p in ALL_POSITIONS if p not in EYES]
    assert regular.state is EnrollmentState.IN_PROGRESS and regular.operator == "op-ani"


def test_one_open_enrollment_per_nik_and_a_retry_gets_it(workflow):
    first = workflow.start(subject(), "op-ani", request_id="r-1")
    assert workflow.start(subject(), "op-ani", request_id="r-1") is first
    for operator, request_id, metadata in (
        ("op-ani", "r-2", {"enrollment_id": first.enrollment_id}),
        ("op-ani", "", {"enrollment_id": first.enrollment_id}),
        ("op-budi", "r-1", {}),  # another operator's id is not theirs to learn
    ):
        error = refused(workflow.start, subject(), operator, request_id=request_id)
        assert (error.kind, error.reason) == (ErrorKind.ALREADY_EXISTS, "ENROLLMENT_OPEN")
        assert error.metadata == metadata
    workflow.cancel(first.enrollment_id)
    assert workflow.start(subject(), "op-ani", request_id="r-1") is not first


def test_an_unknown_enrollment_is_not_found(workflow, kit):
    kit.present(Position.FACE, GOOD)
    for error in (
        refused(workflow.get, "no-such-enrollment"),
        refused(workflow.capture, "no-such-enrollment", Position.FACE, threading.Event()),
        refused(workflow.approve, "no-such-enrollment", Position.FACE, True),
        refused(workflow.cancel, "no-such-enrollment"),
    ):
        assert (error.kind, error.reason) == (ErrorKind.NOT_FOUND, "ENROLLMENT_NOT_FOUND")


# -- positions -------------------------------------------------------------------------------
def test_an_unknown_position_is_invalid(workflow, ready):
    eid = ready.enrollment_id
    for error in (
        refused(workflow.capture, eid, "nose", threading.Event()),
        refused(workflow.approve, eid, "nose", True),
        refused(workflow.mark_exception, eid, "nose", "amputated", "", SUPERVISOR, b""),
    ):
        assert (error.kind, error.reason) == (ErrorKind.INVALID_ARGUMENT, "POSITION_INVALID")


def test_a_position_outside_the_plan_is_refused(workflow, kit):
    enrollment = workflow.start(subject(Category.MENTAL_DISORDER), "op-ani")
    with_approved_face(workflow, kit, enrollment)
    kit.present(Position.RIGHT_EYE, GOOD)
    eid = enrollment.enrollment_id
    for error in (
        refused(workflow.capture, eid, Position.RIGHT_EYE, threading.Event()),
        refused(workflow.mark_exception, eid, Position.RIGHT_EYE, "blind", "", SUPERVISOR, b""),
    ):
        assert (error.kind, error.reason) == (ErrorKind.INVALID_ARGUMENT, "POSITION_NOT_IN_PLAN")
    assert Position.RIGHT_EYE not in enrollment.attempts


# -- the face first --------------------------------------------------------------------------
@pytest.mark.parametrize("position", [THUMB, Position.LEFT_EYE, Position.SIGNATURE])
def test_nothing_else_is_captured_before_the_face_is_approved(workflow, kit, enrollment, position):
    kit.present(position, GOOD)
    error = refused(capture, workflow, enrollment.enrollment_id, position)
    assert (error.kind, error.reason) == (ErrorKind.FAILED_PRECONDITION, "FACE_NOT_APPROVED")

    kit.present(Position.FACE, GOOD)
    assert capture(workflow, enrollment.enrollment_id, Position.FACE).accepted
    error = refused(capture, workflow, enrollment.enrollment_id, position)
    assert error.reason == "FACE_NOT_APPROVED"  # taken, but not approved yet

    workflow.approve(enrollment.enrollment_id, Position.FACE, True)
    assert capture(workflow, enrollment.enrollment_id, position).accepted


def test_a_refused_face_is_dropped_and_retaken(workflow, kit, enrollment):
    eid = enrollment.enrollment_id
    error = refused(workflow.approve, eid, Position.FACE, True)
    assert (error.kind, error.reason) == (ErrorKind.FAILED_PRECONDITION, "NO_SAMPLE")

    kit.present(Position.FACE, GOOD)
    capture(workflow, eid, Position.FACE)
    workflow.approve(eid, Position.FACE, False)
    assert Position.FACE not in enrollment.samples
    assert enrollment.missing()[0] == Position.FACE

    kit.present(Position.FACE, GOOD + 5)
    assert capture(workflow, eid, Position.FACE).accepted
    workflow.approve(eid, Position.FACE, True)
    face = enrollment.samples[Position.FACE]
    assert face.approved and face.quality.score == GOOD + 5
    assert enrollment.is_done(Position.FACE)


# -- thresholds and best-of-N ----------------------------------------------------------------
@pytest.mark.parametrize("score", [NORMAL_THRESHOLD, NORMAL_THRESHOLD + 1, 100])
def test_a_capture_at_or_above_the_threshold_is_kept(workflow, kit, ready, score):
    kit.present(THUMB, score)
    result = capture(workflow, ready.enrollment_id, THUMB)
    assert result.accepted and result.reason == "" and result.attempts_left == ATTEMPTS - 1
    kept = ready.samples[THUMB]
    assert kept is result.sample
    assert kept.quality.score == score and kept.threshold == NORMAL_THRESHOLD
    assert kept.attempts == 1 and kept.device_id == "fingerprint-0"
    assert not kept.forced and not kept.relaxed_threshold
    assert np.array_equal(kept.image, finger_print(THUMB, score))
    assert THUMB not in ready.candidates


def test_below_the_threshold_the_best_candidate_is_kept_and_attempts_count_down(
    workflow, kit, ready
):
    eid = ready.enrollment_id
    results = []
    for score in (BELOW - 10, BELOW, BELOW - 5):
        kit.present(THUMB, score)
        results.append(capture(workflow, eid, THUMB))
    assert [r.accepted for r in results] == [False] * 3
    assert {r.reason for r in results} == {"BELOW_THRESHOLD"}
    assert [r.attempts_left for r in results] == [2, 1, 0]
    assert [r.sample.attempts for r in results] == [1, 2, 3]
    assert ready.attempts[THUMB] == 3
    assert THUMB not in ready.samples
    assert ready.candidates[THUMB].quality.score == BELOW


def test_a_good_capture_after_below_threshold_ones_is_kept(workflow, kit, ready):
    below_threshold_attempts(workflow, kit, ready, [BELOW] * (ATTEMPTS - 1))
    kit.present(THUMB, GOOD)
    result = capture(workflow, ready.enrollment_id, THUMB)
    assert result.accepted and ready.samples[THUMB].attempts == ATTEMPTS
    assert THUMB not in ready.candidates


def test_the_attempt_limit_is_hard(workflow, kit, ready):
    below_threshold_attempts(workflow, kit, ready, [BELOW] * ATTEMPTS)
    for score in (BELOW + 1, GOOD):  # a 4th and a 5th ordinary capture
        kit.present(THUMB, score)
        error = refused(capture, workflow, ready.enrollment_id, THUMB)
        assert (error.kind, error.reason) == (ErrorKind.FAILED_PRECONDITION, "ATTEMPTS_EXHAUSTED")
        assert error.metadata == {"attempts": str(ATTEMPTS), "position": THUMB}
    assert "supervisor" in error.message.render()  # the way on: an override
    assert ready.attempts[THUMB] == ATTEMPTS and THUMB not in ready.samples
    assert ready.candidates[THUMB].quality.score == BELOW
    result = capture(
        workflow,
        ready.enrollment_id,
        THUMB,
        force=True,
        force_reason="worn ridges",
        approved_by=SUPERVISOR,
    )
    assert result.accepted and ready.samples[THUMB].forced


def test_an_accepted_position_is_retaken_within_the_attempts_only(workflow, kit, ready):
    for _ in range(ATTEMPTS):
        kit.present(THUMB, GOOD)
        assert capture(workflow, ready.enrollment_id, THUMB).accepted
    kit.present(THUMB, GOOD)
    error = refused(capture, workflow, ready.enrollment_id, THUMB)
    assert error.reason == "ATTEMPTS_EXHAUSTED"
    assert ready.samples[THUMB].attempts == ATTEMPTS


def test_one_attempt_keeps_its_best_frame(workflow, kit, ready):
    kit.scanner.offer(
        finger_print(THUMB, BELOW - 20), finger_print(THUMB, BELOW), finger_print(THUMB, 5)
    )
    result = capture(workflow, ready.enrollment_id, THUMB)
    assert not result.accepted and result.sample.quality.score == BELOW
    assert ready.attempts[THUMB] == 1


# -- forced captures -------------------------------------------------------------------------
def test_forcing_needs_a_supervisor_and_a_reason(workflow, kit, ready):
    below_threshold_attempts(workflow, kit, ready, [BELOW] * ATTEMPTS)
    eid = ready.enrollment_id
    no_supervisor = refused(capture, workflow, eid, THUMB, force=True, force_reason="worn")
    assert no_supervisor.kind is ErrorKind.FAILED_PRECONDITION
    assert no_supervisor.reason == "SUPERVISOR_APPROVAL_REQUIRED"
    no_reason = refused(
        capture, workflow, eid, THUMB, force=True, force_reason="  ", approved_by=SUPERVISOR
    )
    assert (no_reason.kind, no_reason.reason) == (
        ErrorKind.INVALID_ARGUMENT,
        "FORCE_REASON_MISSING",
    )
    assert THUMB not in ready.samples and THUMB in ready.candidates


@pytest.mark.parametrize("attempts", [0, ATTEMPTS - 1])
def test_forcing_before_every_attempt_is_used_is_too_early(workflow, kit, ready, attempts):
    below_threshold_attempts(workflow, kit, ready, [BELOW] * attempts)
    error = refused(
        capture,
        workflow,
        ready.enrollment_id,
        THUMB,
        force=True,
        force_reason="worn ridges",
        approved_by=SUPERVISOR,
    )
    assert (error.kind, error.reason) == (ErrorKind.FAILED_PRECONDITION, "FORCE_TOO_EARLY")
    assert THUMB not in ready.samples


def test_forcing_keeps_the_best_candidate_with_its_approver(workflow, kit, ready):
    below_threshold_attempts(workflow, kit, ready, [BELOW - 10, BELOW, BELOW - 5])
    result = capture(
        workflow,
        ready.enrollment_id,
        THUMB,
        force=True,
        force_reason="  worn ridges ",
        approved_by=SUPERVISOR,
    )
    assert result.accepted and result.attempts_left == 0
    kept = ready.samples[THUMB]
    assert kept is result.sample
    assert kept.quality.score == BELOW and kept.forced
    assert kept.forced_reason == "worn ridges" and kept.forced_approved_by == SUPERVISOR
    assert kept.attempts == ATTEMPTS
    assert np.array_equal(kept.image, finger_print(THUMB, BELOW))
    assert THUMB not in ready.candidates and ready.is_done(THUMB)


# -- relaxed thresholds ----------------------------------------------------------------------
RELAXED_BY_CATEGORY: dict[Category, set[Modality]] = {
    Category.REGULAR: set(),
    Category.STUDENT: set(),
    Category.ELDERLY: {Modality.FINGERPRINT},
    Category.DISABLED: {Modality.FINGERPRINT, Modality.FACE},
    Category.BEDRIDDEN: {Modality.FINGERPRINT, Modality.FACE, Modality.IRIS},
    Category.MENTAL_DISORDER: {Modality.FACE},
}
POSITION_OF: dict[Modality, Position] = {
    Modality.FINGERPRINT: THUMB,
    Modality.FACE: Position.FACE,
    Modality.IRIS: Position.RIGHT_EYE,
    Modality.SIGNATURE: Position.SIGNATURE,
}


@pytest.mark.parametrize(
    ("category", "modality"),
    [
        (category, modality)
        for category in RELAXED_BY_CATEGORY
        for modality in POSITION_OF
        # irises are not captured for a resident with a mental disorder
        if (category, modality) != (Category.MENTAL_DISORDER, Modality.IRIS)
    ],
)
def test_relaxed_thresholds_apply_only_where_the_category_allows(workflow, kit, category, modality):
    enrollment = workflow.start(subject(category), "op-ani")
    position = POSITION_OF[modality]
    if modality is not Modality.FACE:
        with_approved_face(workflow, kit, enrollment)
    relaxed = modality in RELAXED_BY_CATEGORY[category]

    kit.present(position, BELOW)
    result = capture(workflow, enrollment.enrollment_id, position)
    assert result.accepted is relaxed
    assert result.sample.threshold == (RELAXED_THRESHOLD if relaxed else NORMAL_THRESHOLD)
    assert result.sample.relaxed_threshold is relaxed
    assert (position in enrollment.samples) is relaxed


def test_a_capture_over_the_normal_threshold_is_not_flagged_relaxed(workflow, kit):
    enrollment = workflow.start(subject(Category.BEDRIDDEN), "op-ani")
    kit.present(Position.FACE, GOOD)
    result = capture(workflow, enrollment.enrollment_id, Position.FACE)
    assert result.accepted and result.sample.threshold == RELAXED_THRESHOLD
    assert not result.sample.relaxed_threshold


# -- the same finger twice -------------------------------------------------------------------
def test_the_same_finger_twice_is_refused_and_named(workflow, kit, ready):
    eid = ready.enrollment_id
    kit.present(THUMB, GOOD)
    capture(workflow, eid, THUMB)

    kit.scanner.offer(finger_print(THUMB, GOOD))  # the thumb again, for the index finger
    result = capture(workflow, eid, INDEX)
    assert not result.accepted
    assert result.reason == "SAME_FINGER" and result.conflicting_position == THUMB
    assert result.attempts_left == ATTEMPTS
    assert INDEX not in ready.samples and INDEX not in ready.candidates
    assert INDEX not in ready.attempts

    kit.present(INDEX, GOOD)
    assert capture(workflow, eid, INDEX).accepted


def test_retaking_a_finger_is_not_the_same_finger_as_itself(workflow, kit, ready):
    eid = ready.enrollment_id
    kit.present(THUMB, GOOD)
    capture(workflow, eid, THUMB)
    kit.present(THUMB, GOOD + 5)
    result = capture(workflow, eid, THUMB)
    assert result.accepted and ready.samples[THUMB].quality.score == GOOD + 5


# -- exceptions ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("position", "kind"),
    [
        (THUMB, "amputated"),
        (THUMB, "bandaged"),
        (THUMB, "unusable"),
        (Position.LEFT_EYE, "blind"),
        (Position.LEFT_EYE, "eye_absent"),
        (Position.LEFT_EYE, "unusable"),
        (Position.SIGNATURE, "cannot_sign"),
    ],
)
def test_an_exception_of_an_allowed_kind_is_marked(workflow, ready, position, kind):
    workflow.mark_exception(ready.enrollment_id, position, kind, "note", SUPERVISOR, b"proof")
    mark = ready.exceptions[position]
    assert (mark.kind, mark.note, mark.approved_by, mark.proof_photo) == (
        kind,
        "note",
        SUPERVISOR,
        b"proof",
    )
    assert ready.is_done(position) and position not in ready.missing()


@pytest.mark.parametrize(
    ("position", "kind"),
    [
        (THUMB, "blind"),
        (Position.LEFT_EYE, "amputated"),
        (Position.SIGNATURE, "unusable"),
        (Position.FACE, "unusable"),
        (THUMB, "no_such_kind"),
    ],
)
def test_an_exception_of_another_kind_is_invalid(workflow, ready, position, kind):
    error = refused(
        workflow.mark_exception, ready.enrollment_id, position, kind, "", SUPERVISOR, b""
    )
    assert (error.kind, error.reason) == (ErrorKind.INVALID_ARGUMENT, "EXCEPTION_KIND_INVALID")
    assert position not in ready.exceptions


def test_an_exception_needs_a_supervisor(workflow, ready):
    error = refused(workflow.mark_exception, ready.enrollment_id, THUMB, "amputated", "", "", b"")
    assert error.kind is ErrorKind.FAILED_PRECONDITION
    assert error.reason == "SUPERVISOR_APPROVAL_REQUIRED"
    assert THUMB not in ready.exceptions


def test_an_exception_drops_the_position_s_captures(workflow, kit, ready):
    eid = ready.enrollment_id
    below_threshold_attempts(workflow, kit, ready, [BELOW])
    kit.present(INDEX, GOOD)
    capture(workflow, eid, INDEX)
    workflow.mark_exception(eid, THUMB, "bandaged", "", SUPERVISOR, b"")
    workflow.mark_exception(eid, INDEX, "unusable", "", SUPERVISOR, b"")
    assert THUMB not in ready.candidates
    assert INDEX not in ready.samples
    assert {THUMB, INDEX} <= set(ready.exceptions)


def test_an_excepted_position_cannot_be_captured(workflow, kit, ready):
    workflow.mark_exception(ready.enrollment_id, THUMB, "amputated", "", SUPERVISOR, b"")
    kit.present(THUMB, GOOD)
    error = refused(capture, workflow, ready.enrollment_id, THUMB)
    assert (error.kind, error.reason) == (ErrorKind.FAILED_PRECONDITION, "POSITION_EXCEPTED")
    assert THUMB not in ready.samples and THUMB not in ready.attempts


@pytest.mark.parametrize("score", [RELAXED_THRESHOLD - 10, GOOD])
def test_a_signature_line_keeps_the_line_that_was_captured(workflow, kit, ready, score):
    eid = ready.enrollment_id
    kit.present(Position.SIGNATURE, score)
    line = capture(workflow, eid, Position.SIGNATURE).sample
    workflow.mark_exception(eid, Position.SIGNATURE, "signature_line", "", SUPERVISOR, b"")
    assert ready.samples[Position.SIGNATURE] is line
    assert line.trace is not None and line.quality.score == score
    assert Position.SIGNATURE not in ready.candidates
    assert ready.exceptions[Position.SIGNATURE].kind == "signature_line"


def test_a_signature_line_needs_a_captured_line(workflow, ready):
    error = refused(
        workflow.mark_exception,
        ready.enrollment_id,
        Position.SIGNATURE,
        "signature_line",
        "",
        SUPERVISOR,
        b"",
    )
    assert (error.kind, error.reason) == (ErrorKind.FAILED_PRECONDITION, "NO_SAMPLE")
    assert Position.SIGNATURE not in ready.exceptions


# -- ready to seal ---------------------------------------------------------------------------
def test_a_new_enrollment_misses_every_position_in_plan_order(workflow, enrollment):
    error = refused(workflow.ready_to_seal, enrollment.enrollment_id)
    assert (error.kind, error.reason) == (ErrorKind.FAILED_PRECONDITION, "MODALITY_MISSING")
    assert error.metadata["missing"] == ",".join(ALL_POSITIONS)


def test_missing_lists_what_is_left_in_plan_order(workflow, kit, enrollment):
    eid = enrollment.enrollment_id
    kit.present(Position.FACE, GOOD)
    capture(workflow, eid, Position.FACE)  # taken, not approved: still missing
    error = refused(workflow.ready_to_seal, eid)
    assert error.metadata["missing"].split(",")[0] == Position.FACE

    workflow.approve(eid, Position.FACE, True)
    for finger in FINGERS[1:]:
        kit.present(finger, GOOD)
        capture(workflow, eid, finger)
    workflow.mark_exception(eid, Position.LEFT_EYE, "blind", "", SUPERVISOR, b"")
    below_threshold_attempts(workflow, kit, enrollment, [BELOW])  # a candidate is not done
    error = refused(workflow.ready_to_seal, eid)
    assert error.metadata["missing"] == ",".join([THUMB, Position.RIGHT_EYE, Position.SIGNATURE])


def test_a_complete_enrollment_is_ready_to_seal(workflow, kit, ready):
    complete_everything(workflow, kit, ready)
    assert workflow.ready_to_seal(ready.enrollment_id) is ready


def test_a_mental_disorder_enrollment_is_complete_without_irises(workflow, kit):
    enrollment = workflow.start(subject(Category.MENTAL_DISORDER), "op-ani")
    with_approved_face(workflow, kit, enrollment)
    complete_everything(workflow, kit, enrollment)
    assert workflow.ready_to_seal(enrollment.enrollment_id) is enrollment
    assert not set(EYES) & set(enrollment.samples)


# -- completion and cancellation -------------------------------------------------------------
def test_completion_drops_the_biometrics_from_memory(workflow, kit, ready):
    complete_everything(workflow, kit, ready)
    kit.present(THUMB, BELOW)  # a retake that stays a candidate
    capture(workflow, ready.enrollment_id, THUMB)
    workflow.mark_completed(ready, "REC-1")
    assert ready.state is EnrollmentState.COMPLETED and ready.record_id == "REC-1"
    assert ready.completed_at is not None
    assert len(ready.samples) == len(ALL_POSITIONS)
    assert all(s.image is None and s.trace is None for s in ready.samples.values())
    assert ready.candidates == {}


def test_a_cancelled_enrollment_keeps_nothing(workflow, kit, ready):
    workflow.mark_exception(ready.enrollment_id, INDEX, "amputated", "", SUPERVISOR, b"")
    below_threshold_attempts(workflow, kit, ready, [BELOW])
    assert ready.samples and ready.candidates and ready.exceptions
    cancelled = workflow.cancel(ready.enrollment_id)
    assert cancelled is ready and ready.state is EnrollmentState.CANCELLED
    assert ready.samples == {} and ready.candidates == {} and ready.exceptions == {}


@pytest.mark.parametrize(
    "close, refusal",
    [
        ("cancel", (ErrorKind.NOT_FOUND, "ENROLLMENT_NOT_FOUND")),
        ("complete", (ErrorKind.FAILED_PRECONDITION, "ENROLLMENT_CLOSED")),
    ],
)
def test_a_closed_enrollment_refuses_everything(workflow, kit, ready, close, refusal):
    """A closed enrollment leaves memory: one sealed into a record (the outbox knows it) is
    ENROLLMENT_CLOSED, a cancelled one is no longer found."""
    eid = ready.enrollment_id
    workflow.sealed = lambda enrollment_id: (
        SealedEnrollment(eid, ready.record_id, ready.operator)
        if enrollment_id == eid and ready.record_id
        else None
    )
    if close == "cancel":
        workflow.cancel(eid)
    else:
        complete_everything(workflow, kit, ready)
        workflow.mark_completed(ready, "REC-1")
    kit.present(THUMB, GOOD)
    for error in (
        refused(capture, workflow, eid, THUMB),
        refused(workflow.approve, eid, Position.FACE, True),
        refused(workflow.mark_exception, eid, THUMB, "amputated", "", SUPERVISOR, b""),
        refused(workflow.ready_to_seal, eid),
        refused(workflow.cancel, eid),
        refused(workflow.get, eid),
    ):
        assert (error.kind, error.reason) == refusal
    assert workflow.store.list() == []


# -- devices ---------------------------------------------------------------------------------
def test_a_cancelled_capture_is_cancelled_and_not_counted(workflow, kit, ready):
    kit.present(THUMB, GOOD)
    cancel = threading.Event()
    cancel.set()
    error = refused(capture, workflow, ready.enrollment_id, THUMB, cancel)
    assert (error.kind, error.reason) == (ErrorKind.CANCELLED, "CAPTURE_CANCELLED")
    assert THUMB not in ready.attempts and THUMB not in ready.samples
    assert capture(workflow, ready.enrollment_id, THUMB).accepted  # nothing stays held


def test_a_capture_whose_call_is_cancelled_as_it_ends_is_not_kept(workflow, kit, ready):
    cancel = threading.Event()
    take = kit.scanner.capture

    def capture_as_the_call_is_cancelled(**options):
        frame = take(**options)
        cancel.set()  # the app cancels while the print is being taken
        return frame

    kit.scanner.capture = capture_as_the_call_is_cancelled
    kit.present(THUMB, GOOD)
    error = refused(capture, workflow, ready.enrollment_id, THUMB, cancel)
    assert (error.kind, error.reason) == (ErrorKind.CANCELLED, "CAPTURE_CANCELLED")
    assert THUMB not in ready.attempts and THUMB not in ready.samples


@pytest.mark.parametrize("position", [THUMB, Position.RIGHT_EYE, Position.SIGNATURE])
def test_nothing_presented_ends_in_a_result_that_uses_no_attempt(workflow, kit, ready, position):
    result = capture(workflow, ready.enrollment_id, position)
    assert not result.accepted and result.reason == "NOTHING_PRESENTED"
    assert result.attempts_left == ATTEMPTS and result.sample.attempts == 0
    assert result.message is not None
    assert position not in ready.attempts and position not in ready.candidates
    kit.present(position, GOOD)
    assert capture(workflow, ready.enrollment_id, position).accepted


def test_nothing_presented_after_an_attempt_counts_what_is_left(workflow, kit, ready):
    below_threshold_attempts(workflow, kit, ready, [BELOW])
    result = capture(workflow, ready.enrollment_id, THUMB)
    assert (result.reason, result.attempts_left) == ("NOTHING_PRESENTED", ATTEMPTS - 1)
    assert ready.attempts[THUMB] == 1


def test_a_device_unplugged_during_a_capture_ends_in_a_result(workflow, kit, ready):
    kit.scanner.offer(finger_print(THUMB, BELOW), DeviceUnavailable("unplugged"))
    result = capture(workflow, ready.enrollment_id, THUMB)
    assert not result.accepted and result.reason == "DEVICE_UNAVAILABLE"
    assert result.attempts_left == ATTEMPTS and result.sample.device_id == "fingerprint-0"
    assert THUMB not in ready.attempts and THUMB not in ready.candidates
    kit.present(THUMB, GOOD)
    assert capture(workflow, ready.enrollment_id, THUMB).accepted


def test_a_scanner_gone_while_waiting_is_unavailable_not_nothing_presented(workflow, kit, ready):
    kit.scanner.present = lambda: False  # the port vanished; the driver only saw no finger
    result = capture(workflow, ready.enrollment_id, THUMB)
    assert (result.reason, result.attempts_left) == ("DEVICE_UNAVAILABLE", ATTEMPTS)
    assert "fingerprint-0" in result.message.render()


def test_an_unknown_device_is_invalid_and_a_named_one_is_used(workflow, kit, ready):
    kit.present(THUMB, GOOD)
    error = refused(capture, workflow, ready.enrollment_id, THUMB, device_id="iris-0")
    assert (error.kind, error.reason) == (ErrorKind.INVALID_ARGUMENT, "DEVICE_UNKNOWN")
    assert error.metadata == {"known": "fingerprint-0"}
    events = list(
        workflow.capture(ready.enrollment_id, THUMB, threading.Event(), device_id="fingerprint-0")
    )
    assert events[0].device_id == "fingerprint-0" and "fingerprint-0" in events[0].message.render()
    assert events[-1].accepted and events[-1].sample.device_id == "fingerprint-0"


def test_a_missing_device_is_unavailable(workflow, kit, ready):
    kit.unplugged.add(Modality.IRIS)
    kit.present(Position.RIGHT_EYE, GOOD)
    error = refused(capture, workflow, ready.enrollment_id, Position.RIGHT_EYE)
    assert (error.kind, error.reason) == (ErrorKind.UNAVAILABLE, "DEVICE_UNAVAILABLE")


def test_a_second_capture_of_the_same_position_is_refused_at_once(workflow, kit, ready):
    kit.present(THUMB, GOOD)
    running = events_until_first(workflow, ready.enrollment_id, THUMB)
    kit.present(THUMB, GOOD + 1)
    error = refused(capture, workflow, ready.enrollment_id, THUMB)  # no wind-down wait
    assert (error.kind, error.reason) == (ErrorKind.FAILED_PRECONDITION, "CAPTURE_IN_PROGRESS")
    assert error.metadata == {"position": THUMB}
    list(running)
    assert ready.samples[THUMB].quality.score == GOOD and ready.attempts[THUMB] == 1


def test_a_refused_photo_gives_its_attempt_back(workflow, kit, enrollment):
    eid = enrollment.enrollment_id
    for _ in range(ATTEMPTS + 2):  # more retakes on request than the plan's attempts
        kit.present(Position.FACE, GOOD)
        result = capture(workflow, eid, Position.FACE)
        assert result.accepted and result.attempts_left == ATTEMPTS - 1
        workflow.approve(eid, Position.FACE, False)
    assert enrollment.attempts[Position.FACE] == 0
    kit.present(Position.FACE, BELOW)
    assert capture(workflow, eid, Position.FACE).attempts_left == ATTEMPTS - 1  # counted


def test_one_capture_at_a_time_per_enrollment(workflow, kit, ready, monkeypatch):
    monkeypatch.setattr("capture.workflow.WIND_DOWN_S", 0.01)
    kit.present(THUMB, GOOD)
    running = events_until_first(workflow, ready.enrollment_id, THUMB)
    kit.present(INDEX, GOOD)
    error = refused(capture, workflow, ready.enrollment_id, INDEX)
    assert (error.kind, error.reason) == (ErrorKind.FAILED_PRECONDITION, "CAPTURE_IN_PROGRESS")
    list(running)
    assert ready.samples[THUMB].quality.score == GOOD
    assert capture(workflow, ready.enrollment_id, INDEX).accepted


def test_one_capture_at_a_time_per_device(workflow, kit, ready, monkeypatch):
    monkeypatch.setattr("capture.workflow.WIND_DOWN_S", 0.01)
    other = workflow.start(subject(sex=Sex.MALE), "op-budi")
    with_approved_face(workflow, kit, other)
    kit.present(THUMB, GOOD)
    running = events_until_first(workflow, ready.enrollment_id, THUMB)
    error = refused(capture, workflow, other.enrollment_id, INDEX)
    assert (error.kind, error.reason) == (ErrorKind.UNAVAILABLE, "DEVICE_BUSY")
    running.close()  # the operator walks away: the device and the enrollment are released
    kit.present(INDEX, GOOD)
    assert capture(workflow, other.enrollment_id, INDEX).accepted


# -- the journal -----------------------------------------------------------------------------
@pytest.fixture
def journal(tmp_path) -> EnrollmentJournal:
    return EnrollmentJournal(tmp_path / "journal", os.urandom(32))


def test_progress_is_journaled_and_restored_by_a_new_workflow(kit, journal):
    workflow = make_workflow(kit, journal)
    enrollment = workflow.start(subject(), "op-ani")
    with_approved_face(workflow, kit, enrollment)
    below_threshold_attempts(workflow, kit, enrollment, [BELOW])
    workflow.mark_exception(enrollment.enrollment_id, INDEX, "amputated", "", SUPERVISOR, b"p")

    restarted = make_workflow(kit, journal)
    restored = restarted.get(enrollment.enrollment_id)
    assert restored is not enrollment and restored.state is EnrollmentState.IN_PROGRESS
    face = restored.samples[Position.FACE]
    assert face.approved and np.array_equal(face.image, photo(90))
    assert restored.candidates[THUMB].quality.score == BELOW
    assert restored.attempts == {Position.FACE: 1, THUMB: 1}
    assert restored.exceptions[INDEX].proof_photo == b"p"
    kit.present(THUMB, GOOD)
    assert capture(restarted, enrollment.enrollment_id, THUMB).accepted


def test_the_journal_forgets_a_completed_enrollment(kit, journal):
    workflow = make_workflow(kit, journal)
    enrollment = workflow.start(subject(), "op-ani")
    with_approved_face(workflow, kit, enrollment)
    complete_everything(workflow, kit, enrollment)
    assert [e.enrollment_id for e in journal.load_all()] == [enrollment.enrollment_id]
    workflow.mark_completed(enrollment, "REC-1")
    assert journal.load_all() == []
    assert not (journal.root / enrollment.enrollment_id).exists()


def test_the_journal_forgets_a_cancelled_enrollment(kit, journal):
    workflow = make_workflow(kit, journal)
    enrollment = workflow.start(subject(), "op-ani")
    assert [e.enrollment_id for e in journal.load_all()] == [enrollment.enrollment_id]
    workflow.cancel(enrollment.enrollment_id)
    assert journal.load_all() == []
    assert make_workflow(kit, journal).store.list() == []


def test_a_refused_subject_leaves_nothing_in_the_journal(kit, journal):
    workflow = make_workflow(kit, journal)
    refused(workflow.start, subject(name=""), "op-ani")
    assert journal.load_all() == []
