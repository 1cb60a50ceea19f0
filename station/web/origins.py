"""Who may call the web door: CORS for the configured origins only, and loopback Host names.

CORS (the Fetch standard's CORS protocol): a page's cross-origin ``fetch`` carrying
``authorization`` or a ``application/grpc-web`` body is preceded by an ``OPTIONS`` preflight.
Only an origin in ``[station.web] allowed_origins`` gets an answer with
``Access-Control-Allow-*`` headers; any other gets no CORS headers at all, so the browser never
sends the call. A request naming a disallowed ``Origin`` is refused outright as well (a simple
cross-origin request would otherwise reach the daemon even though its answer stays unreadable).

The ``Host`` check closes DNS rebinding: a page on ``evil.example`` whose name is made to
resolve to 127.0.0.1 is same-origin with itself, sends no preflight, and names its own host in
``Host``; only loopback names are served.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

ALLOWED_METHODS = "POST, GET, OPTIONS"
# Request headers a page may send: the call's metadata and gRPC-Web's own.
ALLOWED_HEADERS = (
    "authorization",
    "accept-language",
    "content-type",
    "grpc-timeout",
    "x-grpc-web",
    "x-user-agent",
)
# Response headers a page may read: the call's status when it comes as headers.
EXPOSED_HEADERS = "grpc-status, grpc-message, grpc-status-details-bin"
PREFLIGHT_MAX_AGE_S = 600


def loopback_host(host_header: str) -> bool:
    """Whether a ``Host`` header names this machine by a loopback name or address."""
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class OriginPolicy:
    """The origins (``scheme://host[:port]``, as browsers send them) allowed to call."""

    allowed: frozenset[str]

    @classmethod
    def of(cls, origins: list[str]) -> OriginPolicy:
        return cls(frozenset(origin.rstrip("/").lower() for origin in origins))

    def admits(self, origin: str | None) -> bool:
        """A request without ``Origin`` (not from a page) or from an allowed origin."""
        return origin is None or origin.lower() in self.allowed

    def cors_headers(self, origin: str | None) -> list[tuple[str, str]]:
        """The headers an actual response carries for ``origin``: none unless it is allowed."""
        if origin is None or origin.lower() not in self.allowed:
            return []
        return [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Expose-Headers", EXPOSED_HEADERS),
            ("Vary", "Origin"),
        ]

    def preflight_headers(self, origin: str | None) -> list[tuple[str, str]] | None:
        """The answer to an ``OPTIONS`` preflight from ``origin``; None: refuse it."""
        if origin is None or origin.lower() not in self.allowed:
            return None
        return [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Methods", ALLOWED_METHODS),
            ("Access-Control-Allow-Headers", ", ".join(ALLOWED_HEADERS)),
            ("Access-Control-Max-Age", str(PREFLIGHT_MAX_AGE_S)),
            ("Vary", "Origin"),
        ]
