"""Pulled previews: each running capture keeps only its newest frame, which the app asks for.

A frame pushed on a stream can be overtaken by the app's stall: once written it sits in the
app's HTTP/2 receive window, and no sender can recall it (station.mailbox). A pulled frame
leaves the station only in answer to a request, so its age on arrival is its age when answered
(at most ``max_age_s``) plus one round trip, however long the app was frozen before it asked.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

# How long an ended capture's slot still answers ``ended`` (then its position has none).
ENDED_KEPT_S = 10.0


@dataclass(frozen=True)
class Pulled(Generic[T]):
    """What a pull answers: a frame and its sequence (None: none in time), and whether the
    capture is over."""

    frame: T | None
    sequence: int
    ended: bool


class PreviewSlot(Generic[T]):
    """The newest frame of one capture; a frame is answered only while no older than
    ``max_age_s`` (counted from ``born``, the clock time it was captured)."""

    def __init__(self, max_age_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age_s = max_age_s
        self._clock = clock
        self._cond = threading.Condition()
        self._frame: T | None = None
        self._sequence = 0
        self._born = 0.0
        self._ended_at: float | None = None

    def put(self, frame: T, sequence: int, born: float | None = None) -> None:
        """Keep ``frame`` in place of the one before it."""
        with self._cond:
            self._frame, self._sequence = frame, sequence
            self._born = self._clock() if born is None else born
            self._cond.notify_all()

    def end(self) -> None:
        """The capture is over: its frame goes, and waiting pulls answer ``ended``."""
        with self._cond:
            self._frame = None
            self._ended_at = self._clock()
            self._cond.notify_all()

    def ended_before(self, moment: float) -> bool:
        with self._cond:
            return self._ended_at is not None and self._ended_at < moment

    def pull(self, after_sequence: int, wait_s: float) -> Pulled[T]:
        """The newest frame newer than ``after_sequence`` and fresh now, waiting up to
        ``wait_s`` for one (real time, whatever clock ages the frames)."""
        deadline = time.monotonic() + wait_s
        with self._cond:
            while True:
                if self._ended_at is not None:
                    return Pulled(None, 0, ended=True)
                if self._fresh(after_sequence):
                    return Pulled(self._frame, self._sequence, ended=False)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return Pulled(None, 0, ended=False)
                self._cond.wait(remaining)

    def _fresh(self, after_sequence: int) -> bool:
        return (
            self._frame is not None
            and self._sequence > after_sequence
            and self._clock() - self._born <= self.max_age_s
        )


class PreviewSlots(Generic[T]):
    """The slots of the running pulled captures, by (enrollment id, position); an ended one is
    kept ``ended_kept_s`` (frameless) so that a pull just after the end learns of it."""

    def __init__(
        self, ended_kept_s: float = ENDED_KEPT_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ended_kept_s = ended_kept_s
        self._clock = clock
        self._slots: dict[tuple[str, str], PreviewSlot[T]] = {}
        self._lock = threading.Lock()

    def open(self, enrollment_id: str, position: str, max_age_s: float) -> PreviewSlot[T]:
        """A new capture's slot, in place of any earlier one at that position."""
        slot: PreviewSlot[T] = PreviewSlot(max_age_s, self._clock)
        with self._lock:
            self._forget_ended()
            self._slots[(enrollment_id, position)] = slot
        return slot

    def find(self, enrollment_id: str, position: str) -> PreviewSlot[T] | None:
        with self._lock:
            self._forget_ended()
            return self._slots.get((enrollment_id, position))

    def __len__(self) -> int:
        with self._lock:
            self._forget_ended()
            return len(self._slots)

    def _forget_ended(self) -> None:
        cutoff = self._clock() - self.ended_kept_s
        for key in [k for k, slot in self._slots.items() if slot.ended_before(cutoff)]:
            del self._slots[key]
