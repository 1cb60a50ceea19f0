"""station.v1.Enrollment: guided enrollment over gRPC."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace

import cv2
import grpc

from capture.engine import CaptureSettings, PreviewEvent, PromptEvent
from capture.enrollment import Enrollment, EnrollmentState
from capture.errors import WorkflowError
from capture.workflow import CaptureResultEvent, EnrollmentWorkflow
from domain.messages import SOURCE_LANGUAGE, Message, msg
from domain.vocabulary import Position
from drivers.base import ImageDevice, Modality
from drivers.errors import DeviceError
from station import convert
from station.auth import TokenStore, approving_supervisor
from station.mailbox import Closed, PreviewMailbox
from station.sealing import SealReceipt
from station.services.base import StationServicer
from station.v1 import common_pb2, enrollment_pb2, enrollment_pb2_grpc

log = logging.getLogger(__name__)

MAX_PREVIEW_FPS = 60
MAX_TIMEOUT_S = 300.0


Sealer = Callable[[Enrollment, str], SealReceipt]


class EnrollmentService(StationServicer, enrollment_pb2_grpc.EnrollmentServicer):
    def __init__(
        self,
        workflow: EnrollmentWorkflow,
        tokens: TokenStore,
        sealer: Sealer,
        face_camera: Callable[[], ImageDevice],
        space_guard: Callable[[], None] | None = None,
        stopping: threading.Event | None = None,
        language: str = SOURCE_LANGUAGE,
    ) -> None:
        self.language = language  # the station's, for callers that ask for none we have
        self.workflow = workflow
        self.stopping = stopping or threading.Event()  # set: the daemon is shutting down
        self.tokens = tokens
        self.sealer = sealer
        self.face_camera = face_camera
        self.space_guard = space_guard  # raises WorkflowError when the disk is nearly full

    # -- helpers -------------------------------------------------------------------------
    def _invalid(self, context: grpc.ServicerContext, reason: str, message: Message) -> None:
        self.refuse(context, grpc.StatusCode.INVALID_ARGUMENT, reason, message)

    def _position(self, context: grpc.ServicerContext, value: int) -> str:
        position = convert.POSITION_FROM_PB.get(value)
        if position is None:
            self._invalid(context, "POSITION_INVALID", msg("POSITION_NUMBER_INVALID", value=value))
        assert position is not None
        return position

    def _record(
        self, enrollment: Enrollment, context: grpc.ServicerContext, thumbnails: bool = False
    ) -> enrollment_pb2.EnrollmentRecord:
        return convert.enrollment_to_pb(enrollment, self.language_of(context), thumbnails)

    # -- RPCs ----------------------------------------------------------------------------
    def StartEnrollment(self, request, context):
        operator = self.caller(context)
        try:
            subject = convert.subject_from_pb(request.subject)
        except ValueError as exc:
            self._invalid(context, "SUBJECT_INVALID", msg("SUBJECT_INVALID", detail=str(exc)))
        try:
            if self.space_guard is not None:
                self.space_guard()
            enrollment = self.workflow.start(subject, operator.name)
        except WorkflowError as exc:
            self.refuse_workflow(context, exc)
        log.info(
            "enrollment %s started by %s (%s)",
            enrollment.enrollment_id,
            operator.name,
            subject.category.value,
        )
        return self._record(enrollment, context)

    def GetEnrollment(self, request, context):
        self.caller(context)
        try:
            enrollment = self.workflow.get(request.enrollment_id)
        except WorkflowError as exc:
            self.refuse_workflow(context, exc)
        return self._record(enrollment, context, request.include_thumbnails)

    def ListEnrollments(self, request, context):
        self.caller(context)
        states = {convert.STATE_FROM_PB[s] for s in request.states if s in convert.STATE_FROM_PB}
        states = states or {EnrollmentState.IN_PROGRESS}
        language = self.language_of(context)
        return enrollment_pb2.ListEnrollmentsResponse(
            enrollments=[
                convert.enrollment_to_pb(e, language) for e in self.workflow.store.list(states)
            ]
        )

    def Capture(self, request, context) -> Iterator[enrollment_pb2.CaptureEvent]:
        operator = self.caller(context)
        language = self.language_of(context)
        position = self._position(context, request.position)
        settings = self._settings(request, context)
        approved_by = ""
        if request.force:
            approved_by = approving_supervisor(
                context, self.tokens, operator, request.supervisor_token, self.language
            ).name
        cancel = threading.Event()
        context.add_callback(cancel.set)
        mailbox: PreviewMailbox[object] = PreviewMailbox()

        def produce() -> None:
            try:
                for event in self.workflow.capture(
                    request.enrollment_id,
                    position,
                    cancel,
                    force=request.force,
                    force_reason=request.force_reason,
                    approved_by=approved_by,
                    settings=settings,
                ):
                    mailbox.put(event, droppable=isinstance(event, PreviewEvent))
            except (WorkflowError, DeviceError) as exc:
                mailbox.put(exc)
            except Exception as exc:  # a bug must end the call cleanly, not hang it
                log.exception("capture failed")
                mailbox.put(exc)
            finally:
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

    def _settings(self, request, context) -> CaptureSettings:
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
            timeout_s=request.timeout_seconds or base.timeout_s,
            preview_jpeg_quality=request.preview_jpeg_quality or base.preview_jpeg_quality,
        )

    def _event_to_pb(self, event: object, dropped: int, language: str):
        if isinstance(event, PromptEvent):
            return enrollment_pb2.CaptureEvent(
                prompt=enrollment_pb2.CapturePrompt(
                    position=convert.POSITION_TO_PB[event.position],
                    instruction=event.instruction,
                    message=event.message.render(language),
                )
            )
        if isinstance(event, PreviewEvent):
            return enrollment_pb2.CaptureEvent(
                preview=enrollment_pb2.PreviewFrame(
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
            )
        assert isinstance(event, CaptureResultEvent)
        return enrollment_pb2.CaptureEvent(
            result=enrollment_pb2.CaptureResult(
                sample=convert.sample_to_pb(
                    event.sample, language, with_thumbnail=event.sample.position == Position.FACE
                ),
                accepted=event.accepted,
                attempts_left=event.attempts_left,
                message=event.message.render(language) if event.message else "",
                reason=event.reason,
                conflicting_position=convert.POSITION_TO_PB.get(event.conflicting_position, 0),
            )
        )

    def ApproveSample(self, request, context):
        self.caller(context)
        position = self._position(context, request.position)
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
        supervisor = approving_supervisor(
            context, self.tokens, operator, request.supervisor_token, self.language
        )
        proof = request.proof_photo or self._proof_photo(context)
        try:
            enrollment = self.workflow.mark_exception(
                request.enrollment_id,
                position,
                kind,
                request.note.strip(),
                supervisor.name,
                proof,
            )
        except WorkflowError as exc:
            self.refuse_workflow(context, exc)
        return self._record(enrollment, context)

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
            if enrollment.state is not EnrollmentState.IN_PROGRESS:
                self.workflow.ready_to_seal(request.enrollment_id)  # raises ENROLLMENT_CLOSED
            receipt = self.sealer(enrollment, operator.name)
            self.workflow.mark_completed(enrollment, receipt.record_id)
        except WorkflowError as exc:
            self.refuse_workflow(context, exc)
        finally:
            lock.release()
        log.info("enrollment %s sealed as record %s", enrollment.enrollment_id, receipt.record_id)
        return enrollment_pb2.CompleteEnrollmentResponse(
            enrollment=self._record(enrollment, context),
            record_id=receipt.record_id,
            package_sha256=receipt.sha256,
            package_size=receipt.size,
        )

    def CancelEnrollment(self, request, context):
        self.caller(context)
        try:
            enrollment = self.workflow.cancel(request.enrollment_id)
        except WorkflowError as exc:
            self.refuse_workflow(context, exc)
        log.info("enrollment %s cancelled", enrollment.enrollment_id)
        return self._record(enrollment, context)


def face_camera_lookup(find: Callable[[Modality], object]) -> Callable[[], ImageDevice]:
    def lookup() -> ImageDevice:
        device = find(Modality.FACE)
        assert isinstance(device, ImageDevice)
        return device

    return lookup
