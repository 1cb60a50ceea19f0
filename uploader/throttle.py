"""A token bucket: the bandwidth cap shared by every upload of a link."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """At most ``rate`` bytes per second on average, bursts up to ``burst`` bytes.

    Thread-safe; every connection of a link takes from the same bucket. ``rate`` None or 0
    means no cap.
    """

    def __init__(self, rate: float | None, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(4096.0, (rate or 0) / 20)
        self._tokens = self.burst
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def take(self, amount: int, cancel: threading.Event) -> bool:
        """Wait until ``amount`` bytes may pass; False when ``cancel`` was set meanwhile."""
        if not self.rate:
            return not cancel.is_set()
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= amount
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            return not cancel.wait(wait)
        return not cancel.is_set()
