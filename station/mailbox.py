"""A bounded hand-off from a producer thread to a stream: previews are dropped, never queued."""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Closed(Exception):
    """The producer finished and everything it put has been taken."""


class PreviewMailbox(Generic[T]):
    """Keeps order; a droppable item waiting at the tail is replaced by the next droppable one.

    So at most one droppable item (a preview frame) waits at any time, however slow the reader,
    while non-droppable items (prompts, results, errors) are always delivered.
    """

    def __init__(self) -> None:
        self._items: deque[tuple[T, bool]] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self.dropped_since_last = 0
        self.dropped_total = 0

    def put(self, item: T, droppable: bool = False) -> None:
        with self._cond:
            if droppable and self._items and self._items[-1][1]:
                self._items[-1] = (item, True)
                self.dropped_since_last += 1
                self.dropped_total += 1
            else:
                self._items.append((item, droppable))
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def get(self, timeout: float) -> tuple[T, int] | None:
        """The next item and how many were dropped before it; None on timeout; Closed at end."""
        with self._cond:
            if not self._items and not self._closed:
                self._cond.wait(timeout)
            if self._items:
                item, droppable = self._items.popleft()
                dropped = 0
                if droppable:
                    dropped, self.dropped_since_last = self.dropped_since_last, 0
                return item, dropped
            if self._closed:
                raise Closed
            return None
