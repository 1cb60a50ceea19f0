"""The storage alarm: which of the kit's stores cannot write now (the outbox's commits, the
enrollment journal, the audit log), for the metrics (``rekam_storage_failing``) and the health
service (``rekam.storage``: NOT_SERVING while any store fails)."""

from __future__ import annotations

import errno
import logging
import threading
from collections.abc import Callable
from functools import partial

log = logging.getLogger(__name__)

STORES = ("outbox", "journal", "audit")
HEALTH_SERVICE = "rekam.storage"


class StorageHealth:
    """Collects failure reports from each store; ``on_change(ok)`` hears the kit's storage
    turn bad (False) or good again (True)."""

    def __init__(self, on_change: Callable[[bool], None] | None = None) -> None:
        self.on_change = on_change
        self._lock = threading.Lock()
        self._failing: dict[str, str] = {}
        self.failures = dict.fromkeys(STORES, 0)

    def listener(self, store: str) -> Callable[[Exception | None], None]:
        """The report function to hand ``store``: called with its failure, or None when it
        writes again."""
        if store not in STORES:
            raise ValueError(f"unknown store {store!r}")
        return partial(self.report, store)

    def report(self, store: str, failure: Exception | None) -> None:
        with self._lock:
            was_ok = not self._failing
            if failure is None:
                self._failing.pop(store, None)
            else:
                self.failures[store] += 1
                self._failing[store] = describe(failure)
            now_ok = not self._failing
        if was_ok != now_ok:
            if now_ok:
                log.warning("storage alarm cleared: every store writes again")
            else:
                log.error("storage alarm: %s cannot write (%s)", store, describe(failure))
            if self.on_change is not None:
                self.on_change(now_ok)

    def failing(self) -> dict[str, str]:
        """The stores that cannot write now, each with what the disk said (full, failing)."""
        with self._lock:
            return dict(self._failing)


def describe(failure: Exception | None) -> str:
    """``full`` for a full disk, ``failing`` for I/O errors and read-only file systems."""
    if failure is None:
        return ""
    if getattr(failure, "full", False):
        return "full"
    cause = failure.__cause__ if failure.__cause__ is not None else failure
    if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
        return "full"
    if getattr(cause, "sqlite_errorname", "") == "SQLITE_FULL":
        return "full"
    return "failing"
