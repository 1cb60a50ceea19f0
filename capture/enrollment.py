"""The enrollment record being built, and the store that holds enrollments in progress."""

from __future__ import annotations

import bisect
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum

import numpy as np

from capture.subject import Subject
from domain.categories import CategoryPolicy
from domain.vocabulary import Modality, Position
from drivers.base import SignatureTrace
from quality.base import QualityResult


class EnrollmentState(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Sample:
    """One kept capture: the image (or pen trace) and how it was obtained."""

    position: str
    quality: QualityResult
    threshold: int
    device_id: str
    image: np.ndarray | None = None
    trace: SignatureTrace | None = None
    attempts: int = 1
    forced: bool = False
    forced_reason: str = ""
    forced_approved_by: str = ""  # the supervisor who approved keeping it below the threshold
    relaxed_threshold: bool = False
    approved: bool = False
    captured_at: datetime = field(default_factory=utcnow)

    @property
    def modality(self) -> Modality:
        return Position(self.position).modality

    @property
    def meets_threshold(self) -> bool:
        return self.quality.score >= self.threshold


@dataclass
class ExceptionMark:
    """A finger, eye or signature that cannot be captured, approved by a supervisor."""

    position: str
    kind: str  # amputated, bandaged, unusable, blind, eye_absent, signature_line, cannot_sign
    note: str
    approved_by: str
    proof_photo: bytes = b""


@dataclass
class Enrollment:
    """One resident's enrollment, from StartEnrollment to sealing or cancellation."""

    subject: Subject
    plan: CategoryPolicy  # the resident category's rules: positions, attempts, relaxed
    operator: str
    enrollment_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    state: EnrollmentState = EnrollmentState.IN_PROGRESS
    started_at: datetime = field(default_factory=utcnow)
    samples: dict[str, Sample] = field(default_factory=dict)
    # Best below-threshold capture per position so far (best-of-N), not yet kept.
    candidates: dict[str, Sample] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    exceptions: dict[str, ExceptionMark] = field(default_factory=dict)
    # Proof photos (JPEG) taken through Capture for an exception not marked yet, by position.
    proof_photos: dict[str, bytes] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    # The app's id for the StartEnrollment that opened it (a retry answers this enrollment).
    start_request_id: str = ""
    record_id: str = ""
    # What sealing answered (with ``record_id``): a retried CompleteEnrollment answers the same.
    package_sha256: str = ""
    package_size: int = 0
    completed_at: datetime | None = None

    def forget_subject(self) -> None:
        """Drop who the resident is (NIK, name, birth date, sex, reference); the category
        stays, for the counts."""
        self.subject = Subject("", "", date.min, "", self.subject.category)

    def is_done(self, position: str) -> bool:
        """A position is done when its sample is kept (the face also approved) or excepted."""
        if position in self.exceptions:
            return True
        sample = self.samples.get(position)
        if sample is None:
            return False
        return sample.approved if position == Position.FACE else True

    def missing(self) -> list[str]:
        """Planned positions that are not done, in plan order."""
        return [p for p in self.plan.positions if not self.is_done(p)]


class EnrollmentStore:
    """Enrollments by id. Thread-safe; each enrollment also carries its own lock.

    Each enrollment gets a place (a number that only grows) when it is added: :meth:`page`
    reads the enrollments after a place, in order, so a list goes on where it stopped
    whatever was added or removed meanwhile (keyset paging)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._enrollments: dict[str, Enrollment] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._places: dict[str, int] = {}  # enrollment id -> place
        self._order: list[int] = []  # the places held, ascending
        self._at: dict[int, str] = {}  # place -> enrollment id
        self._last_place = 0

    def add(self, enrollment: Enrollment) -> None:
        with self._lock:
            enrollment_id = enrollment.enrollment_id
            self._enrollments[enrollment_id] = enrollment
            self._locks[enrollment_id] = threading.Lock()
            if enrollment_id not in self._places:
                self._last_place += 1
                self._places[enrollment_id] = self._last_place
                self._order.append(self._last_place)
                self._at[self._last_place] = enrollment_id

    def get(self, enrollment_id: str) -> Enrollment | None:
        with self._lock:
            return self._enrollments.get(enrollment_id)

    def lock_for(self, enrollment_id: str) -> threading.Lock:
        """The enrollment's lock (a fresh one once it is removed: nothing is left to guard)."""
        with self._lock:
            return self._locks.get(enrollment_id) or threading.Lock()

    def remove(self, enrollment_id: str) -> None:
        """Drop a closed enrollment and its lock."""
        with self._lock:
            self._enrollments.pop(enrollment_id, None)
            self._locks.pop(enrollment_id, None)
            place = self._places.pop(enrollment_id, None)
            if place is not None:
                del self._order[bisect.bisect_left(self._order, place)]
                del self._at[place]

    def list(self, states: set[EnrollmentState] | None = None) -> list[Enrollment]:
        with self._lock:
            items = list(self._enrollments.values())
        return [e for e in items if not states or e.state in states]

    def page(
        self, after: int, limit: int, wanted: Callable[[Enrollment], bool]
    ) -> list[tuple[int, Enrollment]]:
        """Up to ``limit`` (place, enrollment) pairs ``wanted`` accepts, in order, after the
        place ``after``: it starts where the last page stopped and reads no further than it
        must (those between that ``wanted`` refuses)."""
        found: list[tuple[int, Enrollment]] = []
        with self._lock:
            start = bisect.bisect_right(self._order, after)
            for index in range(start, len(self._order)):
                place = self._order[index]
                enrollment = self._enrollments[self._at[place]]
                if wanted(enrollment):
                    found.append((place, enrollment))
                    if len(found) >= limit:
                        break
        return found
