"""The enrollment workflow: the rules between StartEnrollment and a record ready to seal."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np

from capture.duplicates import SameFingerCheck
from capture.engine import (
    CaptureEvent,
    CaptureOutcome,
    CaptureSettings,
    PreviewEvent,
    PromptEvent,
    run_capture,
)
from capture.enrollment import (
    Enrollment,
    EnrollmentState,
    EnrollmentStore,
    ExceptionMark,
    Sample,
    utcnow,
)
from capture.errors import ErrorKind, WorkflowError
from capture.journal import EnrollmentJournal, JournalWriteFailed
from capture.proof_photo import DEFAULT_HOLD_S, encode_photo, run_proof_capture
from capture.subject import (
    ClockWrong,
    Subject,
    SubjectInvalid,
    check_clock,
    validate_subject,
)
from domain.categories import policy_for
from domain.clock import SYSTEM_CLOCK, KitClock
from domain.messages import Message, msg
from domain.vocabulary import EXCEPTION_KINDS, ExceptionKind, Modality, Position, position
from drivers.base import Device
from drivers.errors import CaptureCancelled, CaptureTimeout, DeviceError, DeviceUnavailable
from quality.base import QualityResult

log = logging.getLogger(__name__)

# How long a new capture waits for a cancelled one to release the device and enrollment.
WIND_DOWN_S = 3.0


@dataclass(frozen=True)
class SealedEnrollment:
    """What is known of an enrollment once it is sealed and out of memory: its record."""

    enrollment_id: str
    record_id: str
    operator: str
    package_sha256: str = ""
    package_size: int = 0


# Finds the record an enrollment was sealed into (the outbox), or None.
SealedLookup = Callable[[str], SealedEnrollment | None]
# Hears a storage failure of the journal, and None once the journal saves again.
StorageListener = Callable[[Exception | None], None]


@dataclass(frozen=True)
class Thresholds:
    """Pass thresholds per modality, and the relaxed ones a category's plan may allow.

    ``normal`` is the per-frame score that triggers auto-capture. Where ``final`` names a
    modality, the kept capture is judged again by a slower measure (NFIQ 2 for fingerprints)
    and ``final`` (or, where the plan allows it, ``relaxed``) is its pass threshold."""

    normal: dict[Modality, int] = field(
        default_factory=lambda: {
            Modality.FINGERPRINT: 40,
            Modality.FACE: 50,
            Modality.IRIS: 50,
            Modality.SIGNATURE: 50,
        }
    )
    relaxed: dict[Modality, int] = field(
        default_factory=lambda: {
            # On NFIQ 2's scale: a print NFIQ 2 can score at all (worn ridges of the elderly
            # score 5-20 where a clean print scores 40-60).
            Modality.FINGERPRINT: 5,
            Modality.FACE: 35,
            Modality.IRIS: 30,
            Modality.SIGNATURE: 30,
        }
    )
    final: dict[Modality, int] = field(default_factory=dict)


@dataclass
class CaptureResultEvent:
    """The end of a capture call: the sample, whether it is kept, and what to do next.

    ``reason`` says why it was not kept: BELOW_THRESHOLD (an attempt used), SAME_FINGER when
    the print is a finger already kept at ``conflicting_position``, NOTHING_PRESENTED, or the
    device's fault (DEVICE_UNAVAILABLE, PROTOCOL_ERROR, ...); only BELOW_THRESHOLD uses an
    attempt.
    """

    sample: Sample
    accepted: bool
    attempts_left: int
    message: Message | None = None
    reason: str = ""
    conflicting_position: str = ""


# The device to capture with: (modality, device_id or "" for the kit's default) -> the device;
# raises NoSuchDevice for an id the kit lacks, DeviceError when the device is not usable now.
DeviceLookup = Callable[[Modality, str], Device]
AssessorLookup = Callable[[str, Subject], Callable]
# The kept capture's final judgement: (image, live result, pass threshold) -> result, or None
# where the live result stands.
Finaliser = Callable[[np.ndarray, QualityResult, int], QualityResult]
FinaliserLookup = Callable[[Modality, Subject], Finaliser | None]


class NoSuchDevice(LookupError):
    """The kit has no device of the modality asked for under the id asked for."""

    def __init__(self, device_id: str, known: list[str]) -> None:
        super().__init__(device_id)
        self.device_id = device_id
        self.known = known


@dataclass(frozen=True)
class _Claim:
    """A capture call holding (or about to hold) an enrollment."""

    position: str
    cancel: threading.Event


class EnrollmentWorkflow:
    """Runs enrollments against the kit's devices and the quality engine."""

    def __init__(
        self,
        store: EnrollmentStore,
        devices: DeviceLookup,
        assessors: AssessorLookup,
        thresholds: Thresholds | None = None,
        settings: CaptureSettings | None = None,
        today: Callable[[], date] = date.today,
        same_finger: SameFingerCheck | None = None,
        journal: EnrollmentJournal | None = None,
        finalisers: FinaliserLookup | None = None,
        clock: KitClock = SYSTEM_CLOCK,
        sealed: SealedLookup | None = None,
        on_storage: StorageListener | None = None,
    ) -> None:
        self.store = store
        self.sealed = sealed or (lambda enrollment_id: None)
        self.on_storage = on_storage
        self._storage_failed = False
        self.finalisers = finalisers or (lambda modality, subject: None)
        self.devices = devices
        self.assessors = assessors
        self.thresholds = thresholds or Thresholds()
        self.settings = settings or CaptureSettings()
        self.today = today
        self.clock = clock
        self.same_finger = same_finger or SameFingerCheck(self.settings.same_finger_score)
        self._reservations: dict[str, threading.Lock] = {}
        self._reservations_lock = threading.Lock()
        self._claims: dict[str, _Claim] = {}  # enrollment id -> the capture holding it
        self._starting = threading.Lock()  # one open enrollment per NIK
        self.journal = journal
        if journal is not None:
            for enrollment in journal.load_all():
                self._restore(enrollment)

    def _restore(self, enrollment: Enrollment) -> None:
        """Take back an enrollment found in the journal, unless it was sealed already (the
        daemon stopped between the outbox commit and the journal's removal): then it is
        completed, and only its leftover journal goes."""
        sealed = self.sealed(enrollment.enrollment_id)
        if sealed is None:
            self.store.add(enrollment)
            return
        log.warning(
            "enrollment %s was sealed as record %s before the daemon stopped; closing it",
            enrollment.enrollment_id,
            sealed.record_id,
        )
        self._forget(enrollment)

    def _save(self, enrollment: Enrollment, undo: Callable[[], None] | None = None) -> None:
        """Persist the enrollment's progress (encrypted) so a crash loses nothing. When the disk
        refuses, ``undo`` takes the change back out of memory (what is not saved is not kept)
        and the caller gets RESOURCE_EXHAUSTED (disk full) or UNAVAILABLE (disk failing)."""
        if self.journal is None:
            return
        try:
            self.journal.save(enrollment)
        except JournalWriteFailed as exc:
            if undo is not None:
                undo()
            self._storage(exc)
            raise storage_refusal(exc) from exc
        if self._storage_failed:
            self._storage(None)

    def _storage(self, failure: Exception | None) -> None:
        if failure is not None:
            log.error("enrollment journal: %s", failure)
        elif self._storage_failed:
            log.warning("the enrollment journal saves again")
        self._storage_failed = failure is not None
        if self.on_storage is not None:
            self.on_storage(failure)

    def _forget(self, enrollment: Enrollment) -> None:
        """Remove a closed enrollment from memory and from the journal. A journal the disk
        will not let go is logged; its state file goes first, so what is left is not restored,
        and a sealed one is closed on restart in any case."""
        self.store.remove(enrollment.enrollment_id)
        if self.journal is None:
            return
        try:
            self.journal.remove(enrollment.enrollment_id)
        except OSError as exc:
            log.error(
                "the journal of enrollment %s could not be removed: %s",
                enrollment.enrollment_id,
                exc,
            )

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, subject: Subject, operator: str, request_id: str = "") -> Enrollment:
        """A new enrollment, once the kit's clock is trusted (an age judged on a wrong date
        would refuse or admit the wrong residents) and the subject is valid; a retry of the
        same ``request_id`` by the same operator gets the enrollment its first call opened. One
        open enrollment per NIK: another start for a NIK in progress is ALREADY_EXISTS
        (ENROLLMENT_OPEN, the open one's id in metadata ``enrollment_id`` when it is the same
        operator's)."""
        try:
            check_clock(self.clock)
        except ClockWrong as exc:
            raise WorkflowError(ErrorKind.FAILED_PRECONDITION, exc.reason, exc.message) from exc
        try:
            validate_subject(subject, self.today())
        except SubjectInvalid as exc:
            raise WorkflowError(
                ErrorKind.INVALID_ARGUMENT, exc.reason, exc.message, exc.metadata
            ) from exc
        with self._starting:
            open_one = self._open_for(subject.nik)
            if open_one is not None:
                retried = request_id and open_one.start_request_id == request_id
                if retried and open_one.operator == operator:
                    return open_one
                raise WorkflowError(
                    ErrorKind.ALREADY_EXISTS,
                    "ENROLLMENT_OPEN",
                    msg("ENROLLMENT_OPEN_FOR_NIK"),
                    metadata=(
                        {"enrollment_id": open_one.enrollment_id}
                        if open_one.operator == operator
                        else {}
                    ),
                )
            policy = policy_for(subject.category)
            enrollment = Enrollment(
                subject=subject,
                plan=policy,
                operator=operator,
                flags=policy.record_flags(subject.birth_date, self.today()),
                start_request_id=request_id,
            )
            self._save(enrollment)  # a start the disk refuses is not kept
            self.store.add(enrollment)
        return enrollment

    def _open_for(self, nik: str) -> Enrollment | None:
        """The enrollment in progress for ``nik``, if any."""
        for enrollment in self.store.list({EnrollmentState.IN_PROGRESS}):
            if enrollment.subject.nik == nik:
                return enrollment
        return None

    def get(self, enrollment_id: str) -> Enrollment:
        """The enrollment in progress; FAILED_PRECONDITION (ENROLLMENT_CLOSED) for one sealed
        into a record, NOT_FOUND otherwise (closed enrollments are not kept in memory)."""
        enrollment = self.store.get(enrollment_id)
        if enrollment is not None:
            return enrollment
        if self.sealed(enrollment_id) is not None:
            raise closed_refusal(EnrollmentState.COMPLETED)
        raise enrollment_not_found(enrollment_id)

    def in_progress(self, enrollment_id: str) -> Enrollment:
        """The enrollment, or FAILED_PRECONDITION (ENROLLMENT_CLOSED) once it is closed."""
        return self._in_progress(enrollment_id)

    def _in_progress(self, enrollment_id: str) -> Enrollment:
        enrollment = self.get(enrollment_id)
        if enrollment.state is not EnrollmentState.IN_PROGRESS:
            raise closed_refusal(enrollment.state)
        return enrollment

    def _planned_position(self, enrollment: Enrollment, name: str) -> Modality:
        try:
            modality = position(name).modality
        except ValueError as exc:
            raise WorkflowError(
                ErrorKind.INVALID_ARGUMENT, "POSITION_INVALID", msg("POSITION_INVALID")
            ) from exc
        if name not in enrollment.plan.positions:
            raise WorkflowError(
                ErrorKind.INVALID_ARGUMENT,
                "POSITION_NOT_IN_PLAN",
                msg(
                    "POSITION_NOT_IN_PLAN",
                    position=_name(name),
                    category=msg(enrollment.plan.category.message_code),
                ),
                metadata={"position": name},
            )
        return modality

    # -- capture ---------------------------------------------------------------------------
    def capture(
        self,
        enrollment_id: str,
        position: str,
        cancel: threading.Event,
        *,
        force: bool = False,
        force_reason: str = "",
        approved_by: str = "",
        settings: CaptureSettings | None = None,
        device_id: str = "",
    ) -> Iterator[PromptEvent | PreviewEvent | CaptureResultEvent]:
        """Validate, then run one capture attempt; the last event is a CaptureResultEvent.

        ``device_id`` names the device to use ("": the kit's default for the modality; never
        another one in its place). ``force`` keeps the best attempt below the threshold: it
        needs a reason and the approving supervisor's name (``approved_by``). An ordinary
        capture once the plan's attempts are used is FAILED_PRECONDITION (ATTEMPTS_EXHAUSTED)."""
        enrollment = self._in_progress(enrollment_id)
        modality = self._planned_position(enrollment, position)
        if position in enrollment.exceptions:
            raise WorkflowError(
                ErrorKind.FAILED_PRECONDITION,
                "POSITION_EXCEPTED",
                msg("POSITION_EXCEPTED", position=_name(position)),
                metadata={"position": position},
            )
        if modality is not Modality.FACE and not enrollment.is_done(Position.FACE):
            raise WorkflowError(
                ErrorKind.FAILED_PRECONDITION,
                "FACE_NOT_APPROVED",
                msg("FACE_NOT_APPROVED"),
            )
        with self._one_capture(enrollment_id, position, cancel):
            if enrollment.state is not EnrollmentState.IN_PROGRESS:  # closed while waiting
                raise closed_refusal(enrollment.state)
            if force:
                yield self._force(enrollment, position, force_reason, approved_by)
                return
            self._refuse_when_attempts_used(enrollment, position)
            yield from self._attempt(enrollment, position, modality, cancel, settings, device_id)

    @contextmanager
    def _one_capture(
        self, enrollment_id: str, position: str, cancel: threading.Event
    ) -> Iterator[None]:
        """Hold the enrollment for one capture call. A second call while one runs is refused
        at once (CAPTURE_IN_PROGRESS); only a cancelled one is waited for while it winds down."""
        claim = _Claim(position, cancel)
        with self._reservations_lock:
            running = self._claims.get(enrollment_id)
            if running is not None and not running.cancel.is_set():
                raise WorkflowError(
                    ErrorKind.FAILED_PRECONDITION,
                    "CAPTURE_IN_PROGRESS",
                    msg("CAPTURE_IN_PROGRESS"),
                    metadata={"position": running.position},
                )
            self._claims[enrollment_id] = claim
        lock = self.store.lock_for(enrollment_id)
        try:
            if not lock.acquire(timeout=WIND_DOWN_S):
                raise WorkflowError(
                    ErrorKind.FAILED_PRECONDITION,
                    "CAPTURE_IN_PROGRESS",
                    msg("CAPTURE_IN_PROGRESS"),
                )
            try:
                yield
            finally:
                lock.release()
        finally:
            with self._reservations_lock:
                if self._claims.get(enrollment_id) is claim:
                    del self._claims[enrollment_id]

    def _refuse_when_attempts_used(self, enrollment: Enrollment, position: str) -> None:
        used = enrollment.attempts.get(position, 0)
        if used >= enrollment.plan.attempts:
            raise WorkflowError(
                ErrorKind.FAILED_PRECONDITION,
                "ATTEMPTS_EXHAUSTED",
                msg("ATTEMPTS_EXHAUSTED", attempts=used, position=_name(position)),
                metadata={"attempts": str(used), "position": position},
            )

    def _threshold(self, enrollment: Enrollment, modality: Modality) -> tuple[int, bool]:
        """The kept capture's pass threshold, and whether the plan relaxes it."""
        if modality in enrollment.plan.relaxed:
            return self.thresholds.relaxed[modality], True
        return self._normal(modality), False

    def _normal(self, modality: Modality) -> int:
        return self.thresholds.final.get(modality, self.thresholds.normal[modality])

    def _live_threshold(self, modality: Modality, decision: int) -> int:
        """The per-frame score that triggers auto-capture. Where a slower measure decides (NFIQ 2
        for prints), the per-frame score predicts it on its scale, so a relaxed decision
        relaxes the trigger too."""
        if modality in self.thresholds.final:
            return min(self.thresholds.normal[modality], decision)
        return decision

    def _attempt(
        self,
        enrollment: Enrollment,
        position: str,
        modality: Modality,
        cancel: threading.Event,
        settings: CaptureSettings | None,
        device_id: str,
    ) -> Iterator[PromptEvent | PreviewEvent | CaptureResultEvent]:
        device = self._device(modality, device_id)
        threshold, relaxed_allowed = self._threshold(enrollment, modality)
        assess = self.assessors(position, enrollment.subject)
        live = self._live_threshold(modality, threshold)
        events = run_capture(
            device, position, modality, assess, live, settings or self.settings, cancel
        )
        outcome = yield from self._drive(device, events)
        if isinstance(outcome, DeviceError):
            yield self._not_captured(enrollment, position, modality, device, threshold, outcome)
            return
        finalise = self.finalisers(modality, enrollment.subject)
        if finalise is not None and outcome.image is not None:
            # Once, on the capture the loop ended with (not per frame).
            outcome.quality = finalise(outcome.image, outcome.quality, threshold)
        if cancel.is_set():  # the call was cancelled as the capture ended: keep nothing
            raise _cancelled()
        yield self._keep(
            enrollment, position, modality, device, outcome, threshold, relaxed_allowed
        )

    def _drive(
        self, device: Device, events: Iterator[CaptureEvent]
    ) -> Generator[PromptEvent | PreviewEvent, None, CaptureOutcome | DeviceError]:
        """Run one capture's ``events`` on ``device`` (reserved meanwhile), passing its prompts
        and previews on; return its outcome, or the device's failure."""
        reservation = self._reservation(device)
        if not reservation.acquire(timeout=WIND_DOWN_S):
            raise WorkflowError(
                ErrorKind.UNAVAILABLE,
                "DEVICE_BUSY",
                msg("DEVICE_BUSY"),
            )
        outcome: CaptureOutcome | None = None
        try:
            for event in events:
                if isinstance(event, CaptureOutcome):
                    outcome = event
                else:
                    yield event
        except CaptureCancelled as exc:
            raise _cancelled() from exc
        except DeviceError as exc:
            return _gone_or(device, exc)
        finally:
            reservation.release()
        assert outcome is not None
        return outcome

    def capture_proof(
        self,
        enrollment_id: str,
        position: str,
        cancel: threading.Event,
        *,
        settings: CaptureSettings | None = None,
        device_id: str = "",
    ) -> Iterator[PromptEvent | PreviewEvent | CaptureResultEvent]:
        """Take the proof photo for an exception at ``position`` with the face camera, with
        preview; the last event is a CaptureResultEvent whose sample holds the photo. A photo
        taken is kept for ``mark_exception(..., proof_from_capture=True)`` (replacing an earlier
        one); it uses no attempt and needs no approved face."""
        enrollment = self._in_progress(enrollment_id)
        self._planned_position(enrollment, position)
        settings = settings or replace(self.settings, timeout_s=DEFAULT_HOLD_S)
        with self._one_capture(enrollment_id, position, cancel):
            if enrollment.state is not EnrollmentState.IN_PROGRESS:  # closed while waiting
                raise closed_refusal(enrollment.state)
            device = self._device(Modality.FACE, device_id)
            outcome = yield from self._drive(
                device, run_proof_capture(device, position, settings, cancel)
            )
            if isinstance(outcome, DeviceError):
                yield self._not_captured(enrollment, position, Modality.FACE, device, 0, outcome)
                return
            if cancel.is_set():  # the call was cancelled as the photo was taken: keep nothing
                raise _cancelled()
            yield self._keep_proof(enrollment, position, device, outcome)

    def _keep_proof(
        self, enrollment: Enrollment, position: str, device: Device, outcome: CaptureOutcome
    ) -> CaptureResultEvent:
        attempts = enrollment.attempts.get(position, 0)
        sample = Sample(
            position=position,
            quality=outcome.quality,
            threshold=0,
            device_id=device.device_id,
            image=outcome.image,
            attempts=attempts,
        )
        attempts_left = max(0, enrollment.plan.attempts - attempts)
        if outcome.image is None:
            return CaptureResultEvent(
                sample, False, attempts_left, msg("PROOF_PHOTO_BLANK"), "PROOF_PHOTO_BLANK"
            )
        undo = _undo(enrollment)
        enrollment.proof_photos[position] = encode_photo(outcome.image)
        self._save(enrollment, undo)
        return CaptureResultEvent(sample, True, attempts_left)

    def _not_captured(
        self,
        enrollment: Enrollment,
        position: str,
        modality: Modality,
        device: Device,
        threshold: int,
        failure: DeviceError,
    ) -> CaptureResultEvent:
        """The result of a capture that got nothing to judge: no attempt is used."""
        used = enrollment.attempts.get(position, 0)
        sample = Sample(
            position=position,
            quality=QualityResult(modality.value, 0),
            threshold=threshold,
            device_id=device.device_id,
            attempts=used,
        )
        attempts_left = max(0, enrollment.plan.attempts - used)
        if isinstance(failure, CaptureTimeout):
            advice = failure.message + msg("TRY_AGAIN", attempts_left=attempts_left)
            return CaptureResultEvent(sample, False, attempts_left, advice, "NOTHING_PRESENTED")
        return CaptureResultEvent(sample, False, attempts_left, failure.message, failure.reason)

    def _keep(
        self,
        enrollment: Enrollment,
        position: str,
        modality: Modality,
        device: Device,
        outcome: CaptureOutcome,
        threshold: int,
        relaxed_allowed: bool,
    ) -> CaptureResultEvent:
        if modality is Modality.FINGERPRINT and outcome.image is not None:
            duplicate = self._same_finger_as(enrollment, position, outcome.image)
            if duplicate is not None:
                return duplicate
        undo = _undo(enrollment)
        attempts = enrollment.attempts.get(position, 0) + 1
        enrollment.attempts[position] = attempts
        normal = self._normal(modality)
        sample = Sample(
            position=position,
            quality=outcome.quality,
            threshold=threshold,
            device_id=device.device_id,
            image=outcome.image,
            trace=outcome.trace,
            attempts=attempts,
            relaxed_threshold=relaxed_allowed and outcome.quality.score < normal,
        )
        attempts_left = max(0, enrollment.plan.attempts - attempts)
        if sample.meets_threshold:
            enrollment.samples[position] = sample
            enrollment.candidates.pop(position, None)
            self._save(enrollment, undo)
            return CaptureResultEvent(sample, True, attempts_left)
        best = enrollment.candidates.get(position)
        if best is None or sample.quality.score > best.quality.score:
            enrollment.candidates[position] = sample
        self._save(enrollment, undo)
        return CaptureResultEvent(
            sample,
            False,
            attempts_left,
            retry_advice(sample.quality, attempts_left),
            reason="BELOW_THRESHOLD",
        )

    def _same_finger_as(
        self, enrollment: Enrollment, position: str, image: np.ndarray
    ) -> CaptureResultEvent | None:
        """A refusal when ``image`` is a finger already kept at another position."""
        others = {
            p: s.image
            for p, s in enrollment.samples.items()
            if p != position and s.image is not None and s.modality is Modality.FINGERPRINT
        }
        match = self.same_finger.find(image, others)
        if match is None:
            return None
        sample = Sample(
            position=position,
            quality=QualityResult("fingerprint", 0),
            threshold=self._normal(Modality.FINGERPRINT),
            device_id="",
            image=None,
            attempts=enrollment.attempts.get(position, 0),
        )
        message = msg("SAME_FINGER", found=_name(match.position), asked=_name(position))
        if match.position == _previous_finger(enrollment, position):
            message += msg("ONE_FINGER_BEHIND")
        attempts_left = max(0, enrollment.plan.attempts - sample.attempts)
        return CaptureResultEvent(
            sample, False, attempts_left, message, "SAME_FINGER", match.position
        )

    def _force(
        self, enrollment: Enrollment, position: str, reason: str, approved_by: str
    ) -> CaptureResultEvent:
        if not approved_by:
            raise WorkflowError(
                ErrorKind.FAILED_PRECONDITION,
                "SUPERVISOR_APPROVAL_REQUIRED",
                msg("SUPERVISOR_APPROVAL_FOR_FORCE"),
            )
        if not reason.strip():
            raise WorkflowError(
                ErrorKind.INVALID_ARGUMENT,
                "FORCE_REASON_MISSING",
                msg("FORCE_REASON_MISSING"),
            )
        used = enrollment.attempts.get(position, 0)
        best = enrollment.candidates.get(position)
        if used < enrollment.plan.attempts or best is None:
            raise WorkflowError(
                ErrorKind.FAILED_PRECONDITION,
                "FORCE_TOO_EARLY",
                msg("FORCE_TOO_EARLY", attempts=enrollment.plan.attempts, used=used),
            )
        undo = _undo(enrollment)
        kept = replace(
            best,
            forced=True,
            forced_reason=reason.strip(),
            forced_approved_by=approved_by,
            attempts=used,
        )
        enrollment.samples[position] = kept
        del enrollment.candidates[position]
        self._save(enrollment, undo)
        return CaptureResultEvent(kept, True, 0)

    def _reservation(self, device: Device) -> threading.Lock:
        """Held for a whole capture: one capture per device at a time."""
        with self._reservations_lock:
            return self._reservations.setdefault(device.device_id, threading.Lock())

    def _device(self, modality: Modality, device_id: str) -> Device:
        try:
            return self.devices(modality, device_id)
        except NoSuchDevice as exc:
            raise WorkflowError(
                ErrorKind.INVALID_ARGUMENT,
                "DEVICE_UNKNOWN",
                msg(
                    "DEVICE_UNKNOWN",
                    device_id=repr(exc.device_id),
                    known=", ".join(exc.known) or "-",
                ),
                metadata={"known": ",".join(exc.known)},
            ) from exc
        except DeviceError as exc:
            raise WorkflowError(
                ErrorKind.UNAVAILABLE, exc.reason, exc.message, metadata={"device_id": device_id}
            ) from exc

    # -- approval, exceptions, completion ---------------------------------------------------
    def approve(self, enrollment_id: str, position: str, approved: bool) -> Enrollment:
        enrollment = self._in_progress(enrollment_id)
        self._planned_position(enrollment, position)
        sample = enrollment.samples.get(position)
        if sample is None:
            raise WorkflowError(
                ErrorKind.FAILED_PRECONDITION,
                "NO_SAMPLE",
                msg("NO_SAMPLE_TO_APPROVE", position=_name(position)),
                metadata={"position": position},
            )
        undo = _undo(enrollment)
        if approved:
            enrollment.samples[position] = replace(sample, approved=True)
        else:
            # The resident asked for a retake: the refused photo uses none of the attempts.
            del enrollment.samples[position]
            enrollment.attempts[position] = max(0, enrollment.attempts.get(position, 0) - 1)
        self._save(enrollment, undo)
        return enrollment

    def mark_exception(
        self,
        enrollment_id: str,
        position: str,
        kind: str,
        note: str,
        approved_by: str,
        proof_photo: bytes,
        proof_from_capture: bool = False,
    ) -> Enrollment:
        """Record an exception at ``position``, with ``proof_photo``, or (``proof_from_capture``)
        the proof photo ``capture_proof`` took for it."""
        enrollment = self._in_progress(enrollment_id)
        modality = self._planned_position(enrollment, position)
        if kind not in EXCEPTION_KINDS[modality]:
            allowed = [msg(k.message_code) for k in sorted(EXCEPTION_KINDS[modality])]
            raise WorkflowError(
                ErrorKind.INVALID_ARGUMENT,
                "EXCEPTION_KIND_INVALID",
                msg(
                    "EXCEPTION_KIND_INVALID",
                    kind=_exception_kind(kind),
                    position=_name(position),
                    allowed=_listing(allowed) if allowed else msg("NO_EXCEPTION_KINDS"),
                ),
                metadata={"position": position},
            )
        if not approved_by:
            raise WorkflowError(
                ErrorKind.FAILED_PRECONDITION,
                "SUPERVISOR_APPROVAL_REQUIRED",
                msg("SUPERVISOR_APPROVAL_FOR_EXCEPTION"),
            )
        if proof_from_capture:
            proof_photo = self.captured_proof(enrollment, position)
        undo = _undo(enrollment)
        enrollment.proof_photos.pop(position, None)
        if kind == "signature_line":
            # A line is accepted as the signature: keep the line that was captured.
            kept = enrollment.samples.get(position) or enrollment.candidates.pop(position, None)
            if kept is None:
                raise WorkflowError(
                    ErrorKind.FAILED_PRECONDITION,
                    "NO_SAMPLE",
                    msg("NO_SIGNATURE_LINE"),
                )
            enrollment.samples[position] = kept
        else:
            enrollment.samples.pop(position, None)
            enrollment.candidates.pop(position, None)
        enrollment.exceptions[position] = ExceptionMark(
            position, kind, note, approved_by, proof_photo
        )
        self._save(enrollment, undo)
        return enrollment

    def captured_proof(self, enrollment: Enrollment, position: str) -> bytes:
        """The proof photo taken through Capture for ``position``; FAILED_PRECONDITION
        (PROOF_PHOTO_NOT_CAPTURED) when there is none."""
        photo = enrollment.proof_photos.get(position)
        if photo is None:
            raise WorkflowError(
                ErrorKind.FAILED_PRECONDITION,
                "PROOF_PHOTO_NOT_CAPTURED",
                msg("PROOF_PHOTO_NOT_CAPTURED", position=_name(position)),
            )
        return photo

    def ready_to_seal(self, enrollment_id: str) -> Enrollment:
        """The enrollment if nothing is missing; FAILED_PRECONDITION naming what is missing."""
        enrollment = self._in_progress(enrollment_id)
        missing = enrollment.missing()
        if missing:
            message = msg("RECORD_INCOMPLETE", missing=_listing([_name(p) for p in missing]))
            if Position.FACE in missing and Position.FACE in enrollment.samples:
                message += msg("FACE_APPROVAL_PENDING")
            raise WorkflowError(
                ErrorKind.FAILED_PRECONDITION,
                "MODALITY_MISSING",
                message,
                metadata={"missing": ",".join(missing)},
            )
        return enrollment

    def open_count(self) -> int:
        """Enrollments in progress (each may still need room on the disk)."""
        return len(self.store.list({EnrollmentState.IN_PROGRESS}))

    def mark_completed(
        self,
        enrollment: Enrollment,
        record_id: str,
        package_sha256: str = "",
        package_size: int = 0,
    ) -> None:
        """Close the enrollment as sealed; it keeps what CompleteEnrollment answered, so a
        retried completion answers the same."""
        enrollment.record_id = record_id
        enrollment.package_sha256 = package_sha256
        enrollment.package_size = package_size
        enrollment.state = EnrollmentState.COMPLETED
        enrollment.completed_at = utcnow()
        # Keep no biometrics, proof photos or identity in memory after sealing: the sealed
        # record holds them, for the centre only.
        for sample in enrollment.samples.values():
            sample.image = None
            sample.trace = None
        for mark in enrollment.exceptions.values():
            mark.proof_photo = b""
        enrollment.proof_photos.clear()
        enrollment.candidates.clear()
        enrollment.forget_subject()
        self._forget(enrollment)

    def cancel(self, enrollment_id: str) -> Enrollment:
        enrollment = self._in_progress(enrollment_id)
        enrollment.state = EnrollmentState.CANCELLED
        enrollment.samples.clear()
        enrollment.candidates.clear()
        enrollment.exceptions.clear()
        enrollment.proof_photos.clear()
        enrollment.forget_subject()
        self._forget(enrollment)
        return enrollment


def _cancelled() -> WorkflowError:
    return WorkflowError(ErrorKind.CANCELLED, "CAPTURE_CANCELLED", msg("CAPTURE_WAS_CANCELLED"))


def _gone_or(device: Device, error: DeviceError) -> DeviceError:
    """``error``, or DeviceUnavailable when the device is no longer there: a scanner unplugged
    while waiting for a finger reads as nobody presenting one."""
    if isinstance(error, DeviceUnavailable) or _present(device):
        return error
    return DeviceUnavailable(
        f"{device.device_id} went away: {error.detail}",
        code="CAPTURE_DEVICE_NOT_CONNECTED",
        device_id=device.device_id,
    )


def _present(device: Device) -> bool:
    try:
        return bool(device.present())
    except Exception:  # a probe that fails says the device is not usable
        return False


def closed_refusal(state: EnrollmentState) -> WorkflowError:
    """FAILED_PRECONDITION (ENROLLMENT_CLOSED): the enrollment was completed or cancelled."""
    return WorkflowError(
        ErrorKind.FAILED_PRECONDITION,
        "ENROLLMENT_CLOSED",
        msg(
            "ENROLLMENT_CLOSED_COMPLETED"
            if state is EnrollmentState.COMPLETED
            else "ENROLLMENT_CLOSED_CANCELLED"
        ),
    )


def storage_refusal(failure: JournalWriteFailed) -> WorkflowError:
    """RESOURCE_EXHAUSTED when the disk is full, UNAVAILABLE when it fails: nothing was kept."""
    if failure.full:
        return WorkflowError(ErrorKind.RESOURCE_EXHAUSTED, "STORAGE_FULL", msg("STORAGE_FULL"))
    return WorkflowError(ErrorKind.UNAVAILABLE, "STORAGE_FAILED", msg("STORAGE_FAILED"))


def _undo(enrollment: Enrollment) -> Callable[[], None]:
    """Puts the enrollment's samples, candidates, attempts, exceptions and proof photos back as
    they are now (samples are replaced, never changed in place, so shallow copies are enough)."""
    samples = dict(enrollment.samples)
    candidates = dict(enrollment.candidates)
    attempts = dict(enrollment.attempts)
    exceptions = dict(enrollment.exceptions)
    proof_photos = dict(enrollment.proof_photos)

    def undo() -> None:
        enrollment.samples = samples
        enrollment.candidates = candidates
        enrollment.attempts = attempts
        enrollment.exceptions = exceptions
        enrollment.proof_photos = proof_photos

    return undo


def enrollment_not_found(enrollment_id: str) -> WorkflowError:
    """NOT_FOUND for ``enrollment_id`` (also for one the caller may not see)."""
    return WorkflowError(
        ErrorKind.NOT_FOUND,
        "ENROLLMENT_NOT_FOUND",
        msg("ENROLLMENT_NOT_FOUND", enrollment_id=repr(enrollment_id)),
    )


def _previous_finger(enrollment: Enrollment, position: str) -> str:
    """The finger planned just before ``position`` (or "" for the first)."""
    fingers = [p for p in enrollment.plan.positions if p.modality is Modality.FINGERPRINT]
    index = fingers.index(position)
    return fingers[index - 1] if index > 0 else ""


def _name(name: str) -> Message:
    """The position's name, as a message parameter."""
    return msg(position(name).message_code)


def _exception_kind(kind: str) -> Message | str:
    """The exception kind's name, or ``kind`` itself when it names none."""
    try:
        return msg(ExceptionKind(kind).message_code)
    except ValueError:
        return kind


def _listing(items: list[Message]) -> Message:
    """The items as one comma-separated list, in the catalogue's wording."""
    listed = items[-1]
    for item in reversed(items[:-1]):
        listed = msg("LIST_NEXT", first=item, rest=listed)
    return listed


def retry_advice(quality: QualityResult, attempts_left: int) -> Message:
    """The score, the first quality reason, and what to do next."""
    advice = msg("SCORE_BELOW_THRESHOLD", score=quality.score)
    if quality.reasons:
        advice += quality.reasons[0].message
    if attempts_left:
        return advice + msg("TRY_AGAIN", attempts_left=attempts_left)
    return advice + msg("KEEP_BEST_OR_MARK_EXCEPTION")
