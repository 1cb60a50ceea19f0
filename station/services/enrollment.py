"""station.v1.Enrollment: guided enrollment over gRPC."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import cv2
import grpc

from capture.engine import CaptureSettings, PreviewEvent, PromptEvent
from capture.enrollment import Enrollment, EnrollmentState
from capture.errors import WorkflowError
from capture.proof_photo import DEFAULT_HOLD_S as DEFAULT_PROOF_HOLD_S
from capture.subject import SubjectInvalid
from capture.workflow import CaptureResultEvent, EnrollmentWorkflow, enrollment_not_found
from domain.messages import SOURCE_LANGUAGE, Message, msg
from domain.vocabulary import position as position_named
from drivers.base import ImageDevice, Modality
from drivers.errors import DeviceError
from station import convert
from station.approvals import FORCE_CAPTURE, ApprovalBook, ApprovalRefused, exception_action
from station.auth import Operator, Role, TokenStore
from station.mailbox import Closed, PreviewMailbox
from station.paging import PageTokens
from station.pause_points import AFTER_OUTBOX_COMMIT, pause_at
from station.preview_slots import PreviewSlot, PreviewSlots
from station.proof_photos import ProofPhotoRefused, check_proof_photo
from station.sealing import SealReceipt
from station.services.base import StationServicer
from station.v1 import common_pb2, enrollment_pb2, enrollment_pb2_grpc

log = logging.getLogger(__name__)

MAX_PREVIEW_FPS = 60
MAX_TIMEOUT_S = 300.0
DEFAULT_PAGE = 50
MAX_PAGE = 100
DEFAULT_PROOF_PHOTO_BYTES = 2 * 2**20
# How long GetPreview waits for a frame: wait_ms 0 means the default.
DEFAULT_PREVIEW_WAIT_MS = 500
MAX_PREVIEW_WAIT_MS = 2000


Sealer = Callable[[Enrollment, str], SealReceipt]


class EnrollmentService(StationServicer, enrollment_pb2_grpc.EnrollmentServicer):
    def __init__(
        self,
        workflow: EnrollmentWorkflow,
        tokens: TokenStore,
        sealer: Sealer,
        face_camera: Callable[[], ImageDevice],
        space_guard: Callable[[int], None] | None = None,
        stopping: threading.Event | None = None,
        language: str = SOURCE_LANGUAGE,
        approvals: ApprovalBook | None = None,
        proof_photo_max_bytes: int = DEFAULT_PROOF_PHOTO_BYTES,
    ) -> None:
        self.language = language  # the station's, for callers that ask for none we have
        self.workflow = workflow
        self.approvals = approvals or ApprovalBook(ttl_s=120.0)
        self.proof_photo_max_bytes = proof_photo_max_bytes
        self.pages = PageTokens()
        self.stopping = stopping or threading.Event()  # set: the daemon is shutting down
        self.tokens = tokens
        self.sealer = sealer
        self.face_camera = face_camera
        self.previews: PreviewSlots[PreviewEvent] = PreviewSlots()  # pulled captures' frames
        # (open enrollments) -> raises WorkflowError when the disk, less the room they need,
        # is nearly full
        self.space_guard = space_guard

    # -- helpers -------------------------------------------------------------------------
    def _invalid(self, context: grpc.ServicerContext, reason: str, message: Message) -> None:
        self.refuse(context, grpc.StatusCode.INVALID_ARGUMENT, reason, message)

    def _position(self, context: grpc.ServicerContext, value: int) -> str:
        position = convert.POSITION_FROM_PB.get(value)
        if position is None:
            self._invalid(context, "POSITION_INVALID", msg("POSITION_NUMBER_INVALID", value=value))
        assert position is not None
        return position

    def _enrollment(
        self, context: grpc.ServicerContext, operator: Operator, enrollment_id: str
    ) -> Enrollment:
        """The enrollment, if the caller may see it: an operator their own, a supervisor any
        of the kit's. Someone else's is NOT_FOUND, as if it did not exist."""
        try:
            enrollment = self.workflow.get(enrollment_id)
            if not visible_to(operator, enrollment):
                raise enrollment_not_found(enrollment_id)
        except WorkflowError as exc:
            sealed = self.workflow.sealed(enrollment_id)
            hidden = sealed is not None and not may_see(operator, sealed.operator)
            self.refuse_workflow(context, enrollment_not_found(enrollment_id) if hidden else exc)
        return enrollment

    def _approved_by(
        self,
        context: grpc.ServicerContext,
        approval_id: str,
        enrollment_id: str,
        position: str,
        action: str,
    ) -> str:
        """The supervisor whose approval the request names (used up here), or a refusal."""
        if not approval_id:
            self.refuse(
                context,
                grpc.StatusCode.PERMISSION_DENIED,
                "SUPERVISOR_APPROVAL_REQUIRED",
                msg("APPROVAL_NEEDED"),
            )
        try:
            return self.approvals.consume(approval_id, enrollment_id, position, action)
        except ApprovalRefused as exc:
            self.refuse(context, grpc.StatusCode.PERMISSION_DENIED, exc.reason, msg(exc.reason))
        raise AssertionError("unreachable")

    def _record(
        self, enrollment: Enrollment, context: grpc.ServicerContext, thumbnails: bool = False
    ) -> enrollment_pb2.EnrollmentRecord:
        return convert.enrollment_to_pb(enrollment, self.language_of(context), thumbnails)

    # -- RPCs ----------------------------------------------------------------------------
    def StartEnrollment(self, request, context):
        operator = self.caller(context)
        try:
            subject = convert.subject_from_pb(request.subject)
        except SubjectInvalid as exc:
            self.refuse(
                context, grpc.StatusCode.INVALID_ARGUMENT, exc.reason, exc.message, exc.metadata
            )
        try:
            if self.space_guard is not None:
                self.space_guard(self.workflow.open_count() + 1)
            enrollment = self.workflow.start(subject, operator.name, request.request_id)
        except WorkflowError as exc:
            self.refuse_workflow(context, exc)
        log.info(
            "enrollment %s started by %s (%s)",
            enrollment.enrollment_id,
            operator.name,
            subject.category.value,
        )
        return self._record(enrollment, context)

    def _sealed_out_of_memory(self, operator: Operator, enrollment_id: str):
        """The record an enrollment no longer in memory was sealed into, if the caller may see
        it (the outbox knows it; its samples went with it), else None."""
        if self.workflow.store.get(enrollment_id) is not None:
            return None
        sealed = self.workflow.sealed(enrollment_id)
        return sealed if sealed is not None and may_see(operator, sealed.operator) else None

    @staticmethod
    def _sealed_record(sealed) -> enrollment_pb2.EnrollmentRecord:
        return enrollment_pb2.EnrollmentRecord(
            enrollment_id=sealed.enrollment_id,
            state=enrollment_pb2.ENROLLMENT_STATE_COMPLETED,
            operator=sealed.operator,
            record_id=sealed.record_id,
        )

    def GetEnrollment(self, request, context):
        operator = self.caller(context)
        sealed = self._sealed_out_of_memory(operator, request.enrollment_id)
        if sealed is not None:
            return self._sealed_record(sealed)
        enrollment = self._enrollment(context, operator, request.enrollment_id)
        return self._record(enrollment, context, request.include_thumbnails)

    def ListEnrollments(self, request, context):
        """One page in the order enrollments were started: a keyset read from the token's
        place (``EnrollmentStore.page``), filtered by state, operator and start time."""
        operator = self.caller(context)
        try:
            wanted = EnrollmentFilter.of(request, operator)
        except TimeInvalid as exc:
            self.refuse(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                "TIME_INVALID",
                msg("TIME_INVALID", field=exc.field),
                {"field": exc.field},
            )
        size, after = self.page_bounds(
            context, self.pages, operator.name, wanted.query, request, DEFAULT_PAGE, MAX_PAGE
        )
        found = self.workflow.store.page(after, size + 1, wanted.accepts)
        page = found[:size]
        more = len(found) > size
        language = self.language_of(context)
        return enrollment_pb2.ListEnrollmentsResponse(
            enrollments=[convert.enrollment_to_pb(e, language) for _, e in page],
            next_page_token=(
                self.pages.token(operator.name, wanted.query, page[-1][0]) if more else ""
            ),
        )

    def ApproveOverride(self, request, context):
        supervisor = self.caller(context)
        position = self._position(context, request.position)
        enrollment = self._enrollment(context, supervisor, request.enrollment_id)
        if request.action == enrollment_pb2.OVERRIDE_ACTION_FORCE_CAPTURE:
            action = FORCE_CAPTURE
        elif request.action == enrollment_pb2.OVERRIDE_ACTION_MARK_EXCEPTION:
            kind = convert.EXCEPTION_FROM_PB.get(request.exception_kind)
            if kind is None:
                self._invalid(context, "EXCEPTION_KIND_INVALID", msg("EXCEPTION_KIND_MISSING"))
            action = exception_action(kind)
        else:
            self._invalid(context, "APPROVAL_ACTION_INVALID", msg("APPROVAL_ACTION_INVALID"))
        try:
            self.workflow.in_progress(enrollment.enrollment_id)
            approval = self.approvals.issue(
                enrollment.enrollment_id, enrollment.operator, position, action, supervisor.name
            )
        except WorkflowError as exc:
            self.refuse_workflow(context, exc)
        except ApprovalRefused as exc:
            self.refuse(context, grpc.StatusCode.PERMISSION_DENIED, exc.reason, msg(exc.reason))
        expires = datetime.now(UTC) + timedelta(seconds=approval.expires_in_s)
        return enrollment_pb2.OverrideApproval(
            approval_id=approval.approval_id,
            expires_at=convert.timestamp(expires),
            approved_by=approval.supervisor,
        )

    def Capture(self, request, context) -> Iterator[enrollment_pb2.CaptureEvent]:
        operator = self.caller(context)
        language = self.language_of(context)
        position = self._position(context, request.position)
        proof = request.purpose == enrollment_pb2.CAPTURE_PURPOSE_PROOF_PHOTO
        if request.purpose not in enrollment_pb2.CapturePurpose.values():
            self._invalid(context, "CAPTURE_PURPOSE_INVALID", msg("CAPTURE_PURPOSE_INVALID"))
        if proof and request.force:
            self._invalid(context, "FORCE_NOT_FOR_PROOF_PHOTO", msg("FORCE_NOT_FOR_PROOF_PHOTO"))
        if request.preview_delivery not in enrollment_pb2.PreviewDelivery.values():
            self._invalid(context, "PREVIEW_DELIVERY_INVALID", msg("PREVIEW_DELIVERY_INVALID"))
        pulled = request.preview_delivery == enrollment_pb2.PREVIEW_DELIVERY_PULL
        settings = self._settings(request, context, DEFAULT_PROOF_HOLD_S if proof else None)
        self._enrollment(context, operator, request.enrollment_id)
        approved_by = ""
        if request.force:
            approved_by = self._approved_by(
                context, request.approval_id, request.enrollment_id, position, FORCE_CAPTURE
            )
        cancel = threading.Event()
        context.add_callback(cancel.set)
        max_age_s = settings.preview_max_age_ms / 1000
        mailbox: PreviewMailbox[object] = PreviewMailbox(max_age_s)
        if proof:
            events = self.workflow.capture_proof(
                request.enrollment_id,
                position,
                cancel,
                settings=settings,
                device_id=request.device_id,
            )
        else:
            events = self.workflow.capture(
                request.enrollment_id,
                position,
                cancel,
                force=request.force,
                force_reason=request.force_reason,
                approved_by=approved_by,
                settings=settings,
                device_id=request.device_id,
            )

        def produce() -> None:
            # Pulled frames go to a slot opened once the capture runs (its first event: a
            # second capture refused at the start never opens one); streamed ones to the mailbox.
            slot: PreviewSlot[PreviewEvent] | None = None
            try:
                for event in events:
                    if pulled and slot is None:
                        slot = self.previews.open(request.enrollment_id, position, max_age_s)
                    if not isinstance(event, PreviewEvent):
                        mailbox.put(event)
                    elif slot is not None:
                        slot.put(event, event.sequence, born=_clock_time(event.captured_at))
                    else:
                        mailbox.put(event, droppable=True, born=_clock_time(event.captured_at))
            except (WorkflowError, DeviceError) as exc:
                mailbox.put(exc)
            except Exception as exc:  # a bug must end the call cleanly, not hang it
                log.exception("capture failed")
                mailbox.put(exc)
            finally:
                if slot is not None:
                    slot.end()
                mailbox.close()

        producer = threading.Thread(target=produce, name="capture", daemon=True)
        producer.start()
        try:
            while True:
                if self.stopping.is_set():
                    cancel.set()
                    self.refuse(
                        context,
                        grpc.StatusCode.UNAVAILABLE,
                        "STATION_STOPPING",
                        msg("STATION_STOPPING"),
                    )
                try:
                    item = mailbox.get(timeout=0.25)
                except Closed:
                    return
                if item is None:
                    if not context.is_active():
                        return
                    continue
                event, dropped = item
                if isinstance(event, WorkflowError):
                    self.refuse_workflow(context, event)
                if isinstance(event, Exception):
                    self.refuse(
                        context,
                        grpc.StatusCode.INTERNAL,
                        "INTERNAL",
                        msg("CAPTURE_INTERNAL_ERROR"),
                    )
                yield self._event_to_pb(event, dropped, language)
        finally:
            cancel.set()
            producer.join(timeout=5)

    def GetPreview(self, request, context):
        """The newest fresh frame of the caller's running pulled capture at a position
        (waiting up to ``wait_ms`` for one newer than ``after_sequence``), or its end."""
        operator = self.caller(context)
        position = self._position(context, request.position)
        if not 0 <= request.wait_ms <= MAX_PREVIEW_WAIT_MS:
            self._invalid(
                context,
                "PREVIEW_WAIT_INVALID",
                msg("PREVIEW_WAIT_INVALID", limit=MAX_PREVIEW_WAIT_MS),
            )
        self._enrollment(context, operator, request.enrollment_id)
        slot = self.previews.find(request.enrollment_id, position)
        if slot is None:
            self.refuse(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                "PREVIEW_NOT_RUNNING",
                msg("PREVIEW_NOT_RUNNING", position=msg(position_named(position).message_code)),
                {"position": position},
            )
        assert slot is not None
        wait_ms = request.wait_ms or DEFAULT_PREVIEW_WAIT_MS
        answer = slot.pull(request.after_sequence, wait_ms / 1000)
        response = enrollment_pb2.GetPreviewResponse(capture_ended=answer.ended)
        if answer.frame is not None:
            dropped = max(0, answer.sequence - request.after_sequence - 1)
            response.frame.CopyFrom(
                self._preview_to_pb(answer.frame, dropped, self.language_of(context))
            )
        return response

    def _settings(self, request, context, timeout_s: float | None = None) -> CaptureSettings:
        """The request's capture settings; ``timeout_s``: the default timeout, if not the
        station's."""
        base = self.workflow.settings
        if not 0 <= request.preview_fps <= MAX_PREVIEW_FPS:
            self._invalid(
                context, "PREVIEW_FPS_INVALID", msg("PREVIEW_FPS_INVALID", limit=MAX_PREVIEW_FPS)
            )
        if not 0 <= request.timeout_seconds <= MAX_TIMEOUT_S:
            self._invalid(
                context, "TIMEOUT_INVALID", msg("TIMEOUT_INVALID", limit=round(MAX_TIMEOUT_S))
            )
        if not 0 <= request.preview_jpeg_quality <= 100:
            self._invalid(context, "JPEG_QUALITY_INVALID", msg("JPEG_QUALITY_INVALID"))
        return replace(
            base,
            preview_fps=request.preview_fps or base.preview_fps,
            timeout_s=request.timeout_seconds or timeout_s or base.timeout_s,
            preview_jpeg_quality=request.preview_jpeg_quality or base.preview_jpeg_quality,
        )

    def _event_to_pb(self, event: object, dropped: int, language: str):
        if isinstance(event, PromptEvent):
            return enrollment_pb2.CaptureEvent(
                prompt=enrollment_pb2.CapturePrompt(
                    position=convert.POSITION_TO_PB[event.position],
                    instruction=event.instruction,
                    message=event.message.render(language),
                    device_id=event.device_id,
                )
            )
        if isinstance(event, PreviewEvent):
            return enrollment_pb2.CaptureEvent(
                preview=self._preview_to_pb(event, dropped, language)
            )
        assert isinstance(event, CaptureResultEvent)
        return enrollment_pb2.CaptureEvent(
            result=enrollment_pb2.CaptureResult(
                sample=convert.sample_to_pb(event.sample, language, with_thumbnail=True),
                accepted=event.accepted,
                attempts_left=event.attempts_left,
                message=event.message.render(language) if event.message else "",
                reason=event.reason,
                conflicting_position=convert.POSITION_TO_PB.get(event.conflicting_position, 0),
            )
        )

    @staticmethod
    def _preview_to_pb(
        event: PreviewEvent, dropped: int, language: str
    ) -> enrollment_pb2.PreviewFrame:
        return enrollment_pb2.PreviewFrame(
            sequence=event.sequence,
            image=common_pb2.EncodedImage(
                data=event.jpeg,
                media_type="image/jpeg",
                width=event.width,
                height=event.height,
            ),
            quality=convert.quality_to_pb(event.quality, 0, language),
            captured_at=convert.timestamp(event.captured_at),
            dropped=dropped,
        )

    def ApproveSample(self, request, context):
        operator = self.caller(context)
        position = self._position(context, request.position)
        self._enrollment(context, operator, request.enrollment_id)
        try:
            enrollment = self.workflow.approve(request.enrollment_id, position, request.approved)
        except WorkflowError as exc:
            self.refuse_workflow(context, exc)
        return self._record(enrollment, context)

    def MarkException(self, request, context):
        operator = self.caller(context)
        position = self._position(context, request.position)
        kind = convert.EXCEPTION_FROM_PB.get(request.kind)
        if kind is None:
            self._invalid(context, "EXCEPTION_KIND_INVALID", msg("EXCEPTION_KIND_MISSING"))
        enrollment = self._enrollment(context, operator, request.enrollment_id)
        if request.proof_photo and request.proof_from_capture:
            self._invalid(context, "PROOF_PHOTO_TWO_SOURCES", msg("PROOF_PHOTO_TWO_SOURCES"))
        if request.proof_photo:
            self._check_proof(context, request.proof_photo)
        if request.proof_from_capture:
            try:
                self.workflow.captured_proof(enrollment, position)
            except WorkflowError as exc:
                self.refuse_workflow(context, exc)
        supervisor = self._approved_by(
            context, request.approval_id, request.enrollment_id, position, exception_action(kind)
        )
        proof = b""
        if not request.proof_from_capture:
            proof = request.proof_photo or self._proof_photo(context)
        try:
            enrollment = self.workflow.mark_exception(
                request.enrollment_id,
                position,
                kind,
                request.note.strip(),
                supervisor,
                proof,
                proof_from_capture=request.proof_from_capture,
            )
        except WorkflowError as exc:
            self.refuse_workflow(context, exc)
        return self._record(enrollment, context)

    def _check_proof(self, context: grpc.ServicerContext, data: bytes) -> None:
        try:
            check_proof_photo(data, self.proof_photo_max_bytes)
        except ProofPhotoRefused as exc:
            self._invalid(context, exc.reason, exc.message)

    def _proof_photo(self, context: grpc.ServicerContext) -> bytes:
        try:
            camera = self.face_camera()
            with camera.lock:
                frame = camera.capture(timeout=5.0)
        except DeviceError as exc:
            self.refuse(context, grpc.StatusCode.UNAVAILABLE, exc.reason, exc.message)
        ok, buffer = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
        return buffer.tobytes() if ok else b""

    def CompleteEnrollment(self, request, context):
        operator = self.caller(context)
        done = self._sealed_out_of_memory(operator, request.enrollment_id)
        if done is not None:  # a retry after the enrollment left memory: what it answered
            return enrollment_pb2.CompleteEnrollmentResponse(
                enrollment=self._sealed_record(done),
                record_id=done.record_id,
                package_sha256=done.package_sha256,
                package_size=done.package_size,
            )
        sealed = self._enrollment(context, operator, request.enrollment_id)
        if sealed.state is EnrollmentState.COMPLETED:
            return self._completed(sealed, context)  # a retry: what the completion answered
        try:
            enrollment = self.workflow.ready_to_seal(request.enrollment_id)
        except WorkflowError as exc:
            self.refuse_workflow(context, exc)
        lock = self.workflow.store.lock_for(enrollment.enrollment_id)
        if not lock.acquire(timeout=5):
            self.refuse(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                "CAPTURE_IN_PROGRESS",
                msg("CAPTURE_STILL_RUNNING"),
            )
        try:
            if enrollment.state is EnrollmentState.COMPLETED:
                return self._completed(enrollment, context)  # a concurrent retry sealed it
            if enrollment.state is not EnrollmentState.IN_PROGRESS:
                self.workflow.ready_to_seal(request.enrollment_id)  # raises ENROLLMENT_CLOSED
            receipt = self.sealer(enrollment, operator.name)
            pause_at(AFTER_OUTBOX_COMMIT)
            self.workflow.mark_completed(
                enrollment, receipt.record_id, receipt.sha256, receipt.size
            )
        except WorkflowError as exc:
            self.refuse_workflow(context, exc)
        finally:
            lock.release()
        log.info("enrollment %s sealed as record %s", enrollment.enrollment_id, receipt.record_id)
        return self._completed(enrollment, context)

    def _completed(
        self, enrollment: Enrollment, context: grpc.ServicerContext
    ) -> enrollment_pb2.CompleteEnrollmentResponse:
        return enrollment_pb2.CompleteEnrollmentResponse(
            enrollment=self._record(enrollment, context),
            record_id=enrollment.record_id,
            package_sha256=enrollment.package_sha256,
            package_size=enrollment.package_size,
        )

    def CancelEnrollment(self, request, context):
        operator = self.caller(context)
        self._enrollment(context, operator, request.enrollment_id)
        try:
            enrollment = self.workflow.cancel(request.enrollment_id)
        except WorkflowError as exc:
            self.refuse_workflow(context, exc)
        log.info("enrollment %s cancelled", enrollment.enrollment_id)
        return self._record(enrollment, context)


@dataclass(frozen=True)
class EnrollmentFilter:
    """What a ListEnrollments call asks for, and who asks: an operator sees only their own
    enrollments, a supervisor any of the kit's."""

    caller: Operator
    states: frozenset[EnrollmentState]
    operator: str
    started_after: datetime | None
    started_before: datetime | None

    @classmethod
    def of(cls, request, caller: Operator) -> EnrollmentFilter:  # type: ignore[no-untyped-def]
        states = {convert.STATE_FROM_PB[s] for s in request.states if s in convert.STATE_FROM_PB}
        return cls(
            caller,
            frozenset(states or {EnrollmentState.IN_PROGRESS}),
            request.operator,
            _moment(request, "started_after"),
            _moment(request, "started_before"),
        )

    @property
    def query(self) -> str:
        """The filters as text, which a page token is bound to."""
        bounds = (self.started_after, self.started_before)
        return "|".join(
            [
                "enrollments",
                ",".join(sorted(s.value for s in self.states)),
                self.operator,
                *("" if b is None else b.isoformat() for b in bounds),
            ]
        )

    def accepts(self, enrollment: Enrollment) -> bool:
        started = enrollment.started_at
        return (
            enrollment.state in self.states
            and visible_to(self.caller, enrollment)
            and (not self.operator or enrollment.operator == self.operator)
            and (self.started_after is None or started >= self.started_after)
            and (self.started_before is None or started < self.started_before)
        )


class TimeInvalid(ValueError):
    """A Timestamp field that is no time (nanos outside 0..999999999, before year 1 or after
    9999); ``field`` names it."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} is not a valid time")
        self.field = field


def _moment(request, name: str) -> datetime | None:  # type: ignore[no-untyped-def]
    """A Timestamp field of ``request`` as an aware UTC datetime; None when it is unset;
    TimeInvalid when it is no time."""
    if not request.HasField(name):
        return None
    stamp = getattr(request, name)
    if not 0 <= stamp.nanos < 1_000_000_000:
        raise TimeInvalid(name)
    try:
        return stamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise TimeInvalid(name) from exc


def _clock_time(when: datetime) -> float:
    """``when`` (UTC) on the monotonic clock the preview mailbox ages frames by."""
    return time.monotonic() - max(0.0, (datetime.now(UTC) - when).total_seconds())


def visible_to(operator: Operator, enrollment: Enrollment) -> bool:
    """An operator sees the enrollments they record; a supervisor every one of the kit's."""
    return may_see(operator, enrollment.operator)


def may_see(operator: Operator, owner: str) -> bool:
    """Whether ``operator`` may see an enrollment recorded by ``owner``."""
    return operator.role is Role.SUPERVISOR or owner == operator.name


def face_camera_lookup(find: Callable[[Modality], object]) -> Callable[[], ImageDevice]:
    def lookup() -> ImageDevice:
        device = find(Modality.FACE)
        assert isinstance(device, ImageDevice)
        return device

    return lookup
