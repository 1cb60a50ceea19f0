"""A bounded hand-off from a producer thread to a stream: previews are dropped, never queued.

The stream takes the next item only once gRPC has completed the previous write: grpcio's
synchronous server pulls the handler's iterator again only after the SEND_MESSAGE operation of
the previous response completed (``grpc/_server.py``: ``_send_response`` waits for its token).
So whatever a slow reader leaves unread waits here, as one frame at most, and not in gRPC's
buffers: what is in flight beyond the station is the reader's own HTTP/2 receive window.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Closed(Exception):
    """The producer finished and everything it put has been taken."""


class PreviewMailbox(Generic[T]):
    """Keeps order for what must be delivered (prompts, results, errors) and holds at most one
    droppable item (a preview frame), the newest.

    A waiting frame is replaced by the next frame, discarded when an item that must be
    delivered follows it (the result never waits behind a frame), and discarded when it is
    older than ``max_age_s`` by the time the stream takes it (a frame's age counts from
    ``born``, the clock time it was captured). Each frame taken says how many were dropped
    since the previous one.
    """

    def __init__(self, max_age_s: float = 0.2, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age_s = max_age_s
        self._clock = clock
        self._items: deque[tuple[T, bool, float]] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self.dropped_since_last = 0
        self.dropped_total = 0

    def put(self, item: T, droppable: bool = False, born: float | None = None) -> None:
        stamp = self._clock() if born is None else born
        with self._cond:
            if self._items and self._items[-1][1]:
                if droppable:
                    self._items[-1] = (item, True, stamp)
                    self._count_drop()
                    self._cond.notify()
                    return
                self._items.pop()  # what must be delivered does not wait behind a frame
                self._count_drop()
            self._items.append((item, droppable, stamp))
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def get(self, timeout: float) -> tuple[T, int] | None:
        """The next item and how many were dropped before it; None on timeout; Closed at end."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                taken = self._take()
                if taken is not None:
                    return taken
                if self._closed:
                    raise Closed
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def _take(self) -> tuple[T, int] | None:
        """The first item still worth sending (a frame too old is dropped), or None."""
        while self._items:
            item, droppable, born = self._items.popleft()
            if not droppable:
                return item, 0
            if self._clock() - born > self.max_age_s:
                self._count_drop()
                continue
            dropped, self.dropped_since_last = self.dropped_since_last, 0
            return item, dropped
        return None

    def _count_drop(self) -> None:
        self.dropped_since_last += 1
        self.dropped_total += 1
