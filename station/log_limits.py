"""One rate limit for repeated log lines: a warning (or error) whose message template and
logger were already logged within ``window_s`` is counted instead of written; the next one
let through after the window says how many were held back.

Keyed by template (``record.msg``, before its arguments are filled in), so "device r30x-0
unavailable: ..." every half second from a polling loop is one line a minute, while different
messages, and the same message from different loggers, each keep their own line.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

DEFAULT_WINDOW_S = 60.0
MAX_KEYS = 1000  # templates tracked at once; the oldest is forgotten beyond this


class RepeatLimiter(logging.Filter):
    """A handler filter: at most one record per (logger, level, template) per window."""

    def __init__(
        self,
        window_s: float = DEFAULT_WINDOW_S,
        level: int = logging.WARNING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.window_s = window_s
        self.level = level
        self._clock = clock
        self._lock = threading.Lock()
        # key -> (when the last record was let through, records held back since)
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.level:
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        with self._lock:
            last, held = self._seen.get(key, (None, 0))
            if last is not None and now - last < self.window_s:
                self._seen[key] = (last, held + 1)
                return False
            self._seen.pop(key, None)
            self._seen[key] = (now, 0)
            if len(self._seen) > MAX_KEYS:
                del self._seen[next(iter(self._seen))]
        if held:
            record.msg = f"{record.msg} (and {held} more like it in the last {self.window_s:.0f} s)"
        return True


def limit_repeats(handler: logging.Handler, window_s: float = DEFAULT_WINDOW_S) -> None:
    """Put a :class:`RepeatLimiter` on ``handler``."""
    handler.addFilter(RepeatLimiter(window_s))
