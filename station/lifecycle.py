"""Running as a service: systemd readiness and watchdog notifications (the sd_notify protocol
over ``NOTIFY_SOCKET``), and logs as JSON lines with secrets and personal numbers masked."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from station.log_limits import limit_repeats

# -- sd_notify ---------------------------------------------------------------------------------


def notify(*assignments: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``READY=1``, ``STOPPING=1``, ``STATUS=...``, ``WATCHDOG=1`` ... to the service
    manager. False (and nothing sent) when no ``NOTIFY_SOCKET`` is set or it cannot be reached.
    """
    address = (os.environ if environ is None else environ).get("NOTIFY_SOCKET", "")
    if not address or not assignments:
        return False
    if address.startswith("@"):  # abstract namespace socket
        address = "\0" + address[1:]
    message = "\n".join(assignments).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message)
    except OSError:
        logging.getLogger(__name__).warning("could not notify the service manager")
        return False
    return True


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Half the watchdog period systemd asked for (``WATCHDOG_USEC``), or None."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2e6


class Watchdog:
    """Pings ``WATCHDOG=1`` at half the period while ``alive()`` says the daemon is healthy."""

    def __init__(self, interval_s: float, alive: Callable[[], bool]) -> None:
        self.interval_s = interval_s
        self.alive = alive
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)

    def start(self) -> Watchdog:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            if self.alive():
                notify("WATCHDOG=1")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# -- logging -----------------------------------------------------------------------------------

# What must never reach a log line: bearer tokens, anything shaped like an operator token
# ("rk_" and 43 URL-safe base64 characters), a 16-digit NIK, and long base64 runs (image data).
_SECRET_PATTERNS = (
    (re.compile(r"(?i)(bearer\s+)\S+"), r"\1[redacted]"),
    (re.compile(r"(?i)(token[\"']?\s*[:=]\s*[\"']?)[^\s\"',;]+"), r"\1[redacted]"),
    (re.compile(r"(?<![A-Za-z0-9_-])(?:rk_)?[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])"), "[redacted]"),
    (re.compile(r"(?<!\d)\d{16}(?!\d)"), "[nik]"),
    (re.compile(r"[A-Za-z0-9+/]{120,}={0,2}"), "[binary]"),
)


def redact(text: str) -> str:
    """``text`` with tokens, NIKs and encoded binary masked."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (redacted), exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
            "thread": record.threadName,
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class RedactingFormatter(logging.Formatter):
    """The plain-text format, redacted the same way."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup_logging(verbose: bool = False, fmt: str = "text") -> None:
    """Log to stderr as ``text`` or ``json`` lines (journald keeps either)."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    limit_repeats(handler)
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
