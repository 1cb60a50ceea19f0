"""Failed logins per peer address, counted in fixed windows (see ``LoginThrottle``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


def peer_address(peer: str) -> str:
    """The caller's address without its port: "ipv4:127.0.0.1:5050" -> "ipv4:127.0.0.1"."""
    kind, _, rest = peer.partition(":")
    if kind in ("ipv4", "ipv6"):
        return f"{kind}:{rest.rpartition(':')[0]}"
    return peer


@dataclass
class _Window:
    started: float
    failures: int = 0


class LoginThrottle:
    """Counts failed logins per peer in fixed windows; ``failed`` says whether this one is
    over the limit (then the call is answered RESOURCE_EXHAUSTED)."""

    MAX_PEERS = 4096  # windows kept; the stalest are dropped beyond it

    def __init__(
        self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}

    def failed(self, peer: str) -> bool:
        now = self._clock()
        with self._lock:
            window = self._windows.get(peer)
            if window is None or now - window.started >= self.window_s:
                window = self._windows[peer] = _Window(now)
                self._forget_stale(now)
            window.failures += 1
            return window.failures > self.limit

    def _forget_stale(self, now: float) -> None:
        if len(self._windows) > self.MAX_PEERS:
            for peer in [p for p, w in self._windows.items() if now - w.started >= self.window_s]:
                del self._windows[peer]
