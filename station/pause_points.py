"""Pause points for crash tests: where a crash would leave two stores disagreeing, the daemon
can be made to stop and wait, so a test kills it exactly there (a real SIGKILL).

Set ``REKAM_PAUSE_AT=<point>:<marker file>``: on reaching ``<point>`` the daemon writes its pid
to the marker file and sleeps (at most ``PAUSE_S``), then carries on. Unset, a pause point
costs one environment lookup.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

ENVIRONMENT = "REKAM_PAUSE_AT"
PAUSE_S = 60.0
# CompleteEnrollment: the record is committed to the outbox, the journal not yet removed.
AFTER_OUTBOX_COMMIT = "after_outbox_commit"


def pause_at(point: str) -> None:
    """Wait here when ``REKAM_PAUSE_AT`` names ``point``."""
    wanted, _, marker = os.environ.get(ENVIRONMENT, "").partition(":")
    if wanted != point or not marker:
        return
    log.warning("pausing at %s for up to %.0f s (%s)", point, PAUSE_S, ENVIRONMENT)
    Path(marker).write_text(str(os.getpid()))
    time.sleep(PAUSE_S)
