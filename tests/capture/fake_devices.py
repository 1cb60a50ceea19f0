"""Fake kit devices, a scripted quality check, and the one factory of an EnrollmentWorkflow
over them: the workflow's rules run in-process, with no daemon, simulator or waiting.

A prepared capture carries its own quality: a frame's first pixel is the score the scripted
quality check gives it, and its second pixel is the ANSI/NIST-ITL code of the finger it shows
(0 for a face or an eye), which is what the fake same-finger check compares. A pen trace's
pressure is its score. A device with nothing presented raises CaptureTimeout at once.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from capture.duplicates import SameFinger, SameFingerCheck
from capture.engine import CaptureSettings
from capture.enrollment import Enrollment, EnrollmentStore
from capture.journal import EnrollmentJournal
from capture.subject import Subject
from capture.workflow import CaptureResultEvent, EnrollmentWorkflow, NoSuchDevice, Thresholds
from domain.vocabulary import (
    Category,
    Modality,
    Position,
    Sex,
    nik_birth_date_part,
    positions_of,
)
from drivers.base import (
    Capabilities,
    Device,
    DeviceStatus,
    ImageDevice,
    PenDevice,
    PenPoint,
    SignatureTrace,
)
from drivers.errors import CaptureCancelled, CaptureTimeout, DeviceError, DeviceUnavailable
from quality.base import QualityResult

# The day every test runs on, and the thresholds every fake workflow uses.
TODAY = date(2026, 11, 23)
NORMAL_THRESHOLD = 60
RELAXED_THRESHOLD = 30
ATTEMPTS = 3  # ordinary captures per position before a forced one (every category's plan)

_SIDE = 32


# -- prepared captures -----------------------------------------------------------------------
def finger_print(finger: Position, score: int) -> np.ndarray:
    """A fingerprint frame showing ``finger``, scoring ``score``."""
    return _frame(score, finger.finger_code)


def photo(score: int) -> np.ndarray:
    """A face or iris frame scoring ``score``."""
    return _frame(score, 0)


def signature(score: int) -> SignatureTrace:
    """A pen trace scoring ``score``."""
    points = [PenPoint(7 * i, 100 + 40 * i, 200, score, True) for i in range(5)]
    return SignatureTrace(points, max_x=1000, max_y=1000, max_pressure=1023)


def _frame(score: int, shown_finger: int) -> np.ndarray:
    image = np.full((_SIDE, _SIDE), 128, np.uint8)
    image[0, 0] = score
    image[0, 1] = shown_finger
    return image


def score_of(capture: np.ndarray | SignatureTrace) -> int:
    if isinstance(capture, SignatureTrace):
        return capture.points[0].pressure
    return int(capture[0, 0])


def _shown_finger(image: np.ndarray) -> int:
    return int(image[0, 1])


def scripted_quality(position: str, subject: Subject) -> Callable:
    """The assessor lookup: each capture scores what it was prepared with."""
    modality = Position(position).modality

    def assess(capture: np.ndarray | SignatureTrace) -> QualityResult:
        return QualityResult(modality.value, score_of(capture))

    return assess


class SameFingerShown(SameFingerCheck):
    """Two prints are the same finger when they show the same finger code."""

    def __init__(self) -> None:
        """No matcher: the prints say which finger they show."""

    def find(self, image: np.ndarray, others: dict[str, np.ndarray]) -> SameFinger | None:
        for position, other in others.items():
            if _shown_finger(other) == _shown_finger(image):
                return SameFinger(position, 1.0)
        return None


# -- devices ---------------------------------------------------------------------------------
Presented = np.ndarray | SignatureTrace | DeviceError


class _Presentations:
    """What the resident presents, read in order; an error in the queue is raised when read."""

    def __init__(self) -> None:
        self._queue: deque[Presented] = deque()

    def add(self, items: tuple[Presented, ...]) -> None:
        self._queue.extend(items)

    def take(self, cancel: threading.Event | None) -> Presented:
        if cancel is not None and cancel.is_set():
            raise CaptureCancelled("capture cancelled by the operator")
        if not self._queue:
            raise CaptureTimeout("nothing was presented")
        item = self._queue.popleft()
        if isinstance(item, DeviceError):
            raise item
        return item


class FakeCamera(ImageDevice):
    """A fingerprint scanner or a camera (no live preview: one frame per read)."""

    def __init__(self, device_id: str, modality: Modality) -> None:
        super().__init__(device_id, port=f"fake:{device_id}")
        self._capabilities = Capabilities(
            modality, tuple(p.value for p in positions_of(modality)), _SIDE, _SIDE
        )
        self._presented = _Presentations()
        self.status = DeviceStatus.READY

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def open(self) -> None:
        self.status = DeviceStatus.READY

    def close(self) -> None:
        self.status = DeviceStatus.DISCONNECTED

    def offer(self, *items: np.ndarray | DeviceError) -> None:
        """Frames (or an error) the next reads return, in order."""
        self._presented.add(items)

    def capture(
        self,
        *,
        timeout: float,
        cancel: threading.Event | None = None,
        position: str | None = None,
    ) -> np.ndarray:
        frame = self._presented.take(cancel)
        assert isinstance(frame, np.ndarray)
        return frame


class FakePad(PenDevice):
    """A signature pad returning prepared traces."""

    def __init__(self, device_id: str = "pad-0") -> None:
        super().__init__(device_id, port=f"fake:{device_id}")
        self._presented = _Presentations()
        self.status = DeviceStatus.READY

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(Modality.SIGNATURE, (Position.SIGNATURE.value,), 1000, 1000)

    def open(self) -> None:
        self.status = DeviceStatus.READY

    def close(self) -> None:
        self.status = DeviceStatus.DISCONNECTED

    def offer(self, *items: SignatureTrace | DeviceError) -> None:
        """Traces (or an error) the next signatures return, in order."""
        self._presented.add(items)

    def signing(
        self, *, timeout: float, cancel: threading.Event | None = None
    ) -> Iterator[SignatureTrace]:
        trace = self._presented.take(cancel)
        assert isinstance(trace, SignatureTrace)
        yield trace


@dataclass
class FakeKit:
    """One device per modality; a modality in ``unplugged`` has no device to find."""

    scanner: FakeCamera = field(
        default_factory=lambda: FakeCamera("fingerprint-0", Modality.FINGERPRINT)
    )
    face_camera: FakeCamera = field(default_factory=lambda: FakeCamera("face-0", Modality.FACE))
    iris_camera: FakeCamera = field(default_factory=lambda: FakeCamera("iris-0", Modality.IRIS))
    pad: FakePad = field(default_factory=FakePad)
    unplugged: set[Modality] = field(default_factory=set)

    def device(self, modality: Modality, device_id: str = "") -> Device:
        """The kit's one device of ``modality``; another id is NoSuchDevice."""
        device = {
            Modality.FINGERPRINT: self.scanner,
            Modality.FACE: self.face_camera,
            Modality.IRIS: self.iris_camera,
            Modality.SIGNATURE: self.pad,
        }[modality]
        if device_id and device_id != device.device_id:
            raise NoSuchDevice(device_id, [device.device_id])
        if modality in self.unplugged:
            raise DeviceUnavailable(f"no {modality.value} device is connected")
        return device

    def present(self, position: Position, score: int) -> None:
        """The resident presents ``position`` (the right finger, face, eye or a signature)."""
        modality = position.modality
        if modality is Modality.FINGERPRINT:
            self.scanner.offer(finger_print(position, score))
        elif modality is Modality.FACE:
            self.face_camera.offer(photo(score))
        elif modality is Modality.IRIS:
            self.iris_camera.offer(photo(score))
        else:
            self.pad.offer(signature(score))


# -- the workflow ----------------------------------------------------------------------------
def make_workflow(kit: FakeKit, journal: EnrollmentJournal | None = None) -> EnrollmentWorkflow:
    """The one place an EnrollmentWorkflow is built for these tests."""
    thresholds = Thresholds(
        normal=dict.fromkeys(Modality, NORMAL_THRESHOLD),
        relaxed=dict.fromkeys(Modality, RELAXED_THRESHOLD),
    )
    return EnrollmentWorkflow(
        EnrollmentStore(),
        kit.device,
        scripted_quality,
        thresholds=thresholds,
        settings=CaptureSettings(timeout_s=5.0),
        today=lambda: TODAY,
        same_finger=SameFingerShown(),
        journal=journal,
    )


def subject(
    category: Category = Category.REGULAR,
    birth_date: date = date(1990, 3, 12),
    sex: Sex = Sex.FEMALE,
    **overrides: object,
) -> Subject:
    """A resident whose NIK agrees with the birth date and sex (unless overridden)."""
    fields: dict = {
        "name": "Siti Aminah",
        "birth_date": birth_date,
        "sex": sex,
        "category": category,
    }
    fields.update(overrides)
    if "nik" not in fields:
        fields["nik"] = f"317405{nik_birth_date_part(birth_date, sex)}0001"
    return Subject(**fields)


def capture(
    workflow: EnrollmentWorkflow,
    enrollment_id: str,
    position: Position,
    cancel: threading.Event | None = None,
    **options: object,
) -> CaptureResultEvent:
    """Run one capture call to its end and return its result."""
    events = list(workflow.capture(enrollment_id, position, cancel or threading.Event(), **options))
    result = events[-1]
    assert isinstance(result, CaptureResultEvent)
    return result


def events_until_first(
    workflow: EnrollmentWorkflow, enrollment_id: str, position: Position
) -> Iterator:
    """A capture call paused at its first event: it holds the enrollment and the device."""
    running = workflow.capture(enrollment_id, position, threading.Event())
    next(running)
    return running


def with_approved_face(workflow: EnrollmentWorkflow, kit: FakeKit, enrollment: Enrollment) -> None:
    """Take the face photo and have the resident approve it."""
    kit.present(Position.FACE, 90)
    assert capture(workflow, enrollment.enrollment_id, Position.FACE).accepted
    workflow.approve(enrollment.enrollment_id, Position.FACE, True)
