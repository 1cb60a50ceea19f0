"""Full-jitter exponential backoff and the background-thread loop shared by the workers."""

from __future__ import annotations

import logging
import random
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class Backoff:
    """delay = uniform(floor, min(cap, base * 2**(failures-1))), never below Retry-After.

    ``max_retry_after`` bounds how long a server's Retry-After may hold a record back.
    """

    base: float = 0.5
    cap: float = 300.0
    floor: float = 0.01
    max_retry_after: float = 3600.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        exponent = min(max(failures, 1) - 1, 62)
        ceiling = min(self.cap, self.base * (2.0**exponent))
        value = self.rng.uniform(self.floor, max(self.floor, ceiling))
        if retry_after is not None:
            value = max(value, min(retry_after, self.max_retry_after))
        return value


class LinkPause:
    """How long a link rests after failing, on the monotonic clock.

    One outage counts once, however many requests were in flight when the link went down: a
    failure counts only for an attempt begun after the last pause started (:meth:`attempt`
    hands out that round). Consecutive outages grow the pause with ``backoff``; any success
    (an answer, a probe, an operator's retry) clears it.
    """

    def __init__(self, backoff: Backoff, clock: Callable[[], float] = time.monotonic) -> None:
        self.backoff = backoff
        self.clock = clock
        self._lock = threading.Lock()
        self._round = 0
        self._until = 0.0
        self.failures = 0  # outages in a row

    def attempt(self) -> int:
        """The round an attempt starting now belongs to (pass it to :meth:`failed`)."""
        with self._lock:
            return self._round

    def failed(self, attempt: int, retry_after: float | None = None) -> bool:
        """The link failed an attempt of round ``attempt``: pause it, unless an attempt of the
        same round already did (the same outage). Returns whether this failure counted."""
        with self._lock:
            if attempt != self._round:
                return False
            self._round += 1
            self.failures += 1
            self._until = self.clock() + self.backoff.delay(self.failures, retry_after)
            return True

    def succeeded(self) -> None:
        """The link works: no pause, and the next outage starts the backoff afresh."""
        with self._lock:
            self.failures = 0
            self._until = 0.0

    def remaining(self) -> float:
        """Seconds the link still rests (0 when it may be used)."""
        with self._lock:
            return max(0.0, self._until - self.clock())


class BackgroundWorker(ABC):
    """A daemon thread calling :meth:`run_once`, sleeping :meth:`next_wait` seconds between
    passes; :meth:`kick` wakes it early, :meth:`stop` ends it promptly."""

    name = "worker"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @abstractmethod
    def run_once(self, now: float | None = None) -> int:
        """One pass; returns how many records it handled."""

    @abstractmethod
    def next_wait(self) -> float:
        """Seconds to sleep before the next pass (unless kicked)."""

    @property
    def stopping(self) -> threading.Event:
        return self._stop

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def kick(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("%s did not stop within %.1f s", self.name, timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    idle_on_error = 1.0

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
                wait = max(0.0, self.next_wait())
            except Exception:
                log.exception("%s pass failed", self.name)
                wait = self.idle_on_error
            if self._stop.is_set():
                break
            self._wake.wait(wait)
            self._wake.clear()
