"""The kit's clocks: the wall clock says what day it is; every timer runs on a timeline that a
step of the wall clock cannot move.

- ``wall()``: the system clock. It is stamped into records and gives today's date (ages).
- ``elapsed()``: seconds since boot, suspend included (``CLOCK_BOOTTIME``); it never steps.
- ``now()``: the kit's timeline, the wall clock less every step seen since the kit booted.
  Retry due times, token expiry, retention windows and every other timer compare against it;
  it equals the wall clock until the clock is stepped, and then runs on at the monotonic rate.
  ``timeline()`` and ``wall_of()`` convert a moment between the two.

A step is a change of ``wall - elapsed`` larger than NTP's slewing can make (500 ppm of the
time since the last look, and never below ``STEP_MIN_S``); listeners are told of each one (the
daemon logs it and writes an audit row). The timeline's offset lives in a small file beside the
boot id (``/proc/sys/kernel/random/boot_id``), so a daemon restarted in the same boot keeps it and
sees a step made while it was stopped. The monotonic reference is lost at a reboot: the offset
then starts again at zero, and stored timers are re-armed from the durations stored with them
(see ``uploader.outbox``). ``docs/operations.md`` ("The kit's clock") states the rule.

Sanity bounds (:meth:`KitClock.problem`): a wall clock before this release's build date, or far
from the last centre time the kit verified, is wrong; the kit then refuses to start an
enrollment or seal a record, with a sentence telling the operator to fix the kit's clock.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from domain.files import write_durably
from domain.messages import Message, msg

log = logging.getLogger(__name__)

# The day this release was built: a kit whose clock says earlier is certainly wrong.
BUILD_DATE = date(2026, 11, 1)
STEP_MIN_S = 2.0  # a smaller jump is drift, not a step
SLEW_RATE = 500e-6  # NTP slews by at most 500 ppm
# How far the wall clock may be from the centre's time the kit last verified, plus the time
# elapsed since (known exactly within a boot; unknown, so counted as nothing, after a reboot).
CENTRE_TOLERANCE = timedelta(days=1)
CENTRE_TOLERANCE_AFTER_REBOOT = timedelta(days=120)
BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")
STATE_FILE = "clock.json"  # the daemon's clock state, in its data directory


def boot_elapsed() -> float:
    """Seconds since boot, suspend included; never stepped."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def boot_id() -> str:
    """This boot's id ("" where the kernel does not say)."""
    try:
        return BOOT_ID_PATH.read_text().strip()
    except OSError:
        return ""


@dataclass(frozen=True)
class ClockStep:
    """The wall clock jumped by ``seconds`` (negative: back); ``at`` is the wall time after."""

    seconds: float
    at: float
    while_stopped: bool = False

    def describe(self) -> str:
        direction = "forward" if self.seconds > 0 else "back"
        when = datetime.fromtimestamp(self.at, UTC).isoformat(timespec="seconds")
        note = " while the daemon was stopped" if self.while_stopped else ""
        return f"wall clock stepped {direction} by {abs(self.seconds):.0f} s{note}; now {when}"


@dataclass
class _CentreTime:
    centre: float  # the centre's time, as it stated it
    elapsed: float  # boot_elapsed() when it was seen
    boot: str


StepListener = Callable[[ClockStep], None]


class KitClock:
    """Wall clock, monotonic clock and the step-free timeline; thread-safe.

    ``state_path`` (optional) keeps the timeline's offset and the last verified centre time
    across restarts within one boot. ``wall``, ``elapsed`` and ``boot`` are the sources.
    """

    def __init__(
        self,
        state_path: Path | None = None,
        *,
        wall: Callable[[], float] = time.time,
        elapsed: Callable[[], float] = boot_elapsed,
        boot: Callable[[], str] = boot_id,
    ) -> None:
        self._wall = wall
        self._elapsed = elapsed
        self._boot = boot()
        self._path = state_path
        self._lock = threading.Lock()
        self._listeners: list[StepListener] = []
        self._offset = 0.0  # wall - timeline
        self._centre: _CentreTime | None = None
        self._seen: list[ClockStep] = []
        self._last_wall, self._last_elapsed = self._wall(), self._elapsed()
        self._load()

    # -- readings ----------------------------------------------------------------------------

    def wall(self) -> float:
        """The wall clock (seconds since the epoch), as set on the kit."""
        return self._wall()

    def wall_datetime(self) -> datetime:
        return datetime.fromtimestamp(self._wall(), UTC)

    def elapsed(self) -> float:
        """The monotonic clock: seconds since boot."""
        return self._elapsed()

    def now(self) -> float:
        """The kit's timeline: the wall clock less every step seen since boot."""
        self.check()
        return self._wall() - self._offset

    def now_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    def timeline(self, wall_reading: float) -> float:
        """A wall-clock reading taken just now, moved onto the timeline."""
        self.check()
        return wall_reading - self._offset

    def wall_of(self, moment: float) -> float:
        """A moment of the timeline as the wall clock, as set now, names it."""
        self.check()
        return moment + self._offset

    # -- steps -------------------------------------------------------------------------------

    def add_listener(self, listener: StepListener) -> None:
        """Call ``listener(step)`` for every step seen from now on, and at once for the steps
        seen while opening (made while the daemon was stopped)."""
        with self._lock:
            self._listeners.append(listener)
            earlier = list(self._seen)
        for step in earlier:
            listener(step)

    def check(self) -> ClockStep | None:
        """Compare the wall and monotonic clocks since the last look; a step is told to the
        listeners and taken off the timeline."""
        wall, elapsed = self._wall(), self._elapsed()
        with self._lock:
            jump = (wall - self._last_wall) - (elapsed - self._last_elapsed)
            allowed = max(STEP_MIN_S, SLEW_RATE * max(0.0, elapsed - self._last_elapsed))
            self._last_wall, self._last_elapsed = wall, elapsed
            if abs(jump) <= allowed:
                return None
            step = ClockStep(jump, wall)
            self._offset += jump
            self._seen.append(step)
            del self._seen[:-16]
            listeners = list(self._listeners)
        self._save()
        log.warning("%s; timers keep running on the monotonic clock", step.describe())
        for listener in listeners:
            try:
                listener(step)
            except Exception:
                log.exception("clock step listener failed")
        return step

    # -- sanity ------------------------------------------------------------------------------

    def saw_centre_time(self, centre: datetime) -> None:
        """The centre stated ``centre`` as its time in an answer the kit verified."""
        with self._lock:
            self._centre = _CentreTime(centre.timestamp(), self._elapsed(), self._boot)
        self._save()

    def problem(self) -> Message | None:
        """Why the wall clock cannot be trusted now (an operator sentence), or None."""
        wall = self._wall()
        today = datetime.fromtimestamp(wall, UTC).date()
        if today < BUILD_DATE:
            return msg("CLOCK_BEFORE_BUILD", today=today.isoformat(), built=BUILD_DATE.isoformat())
        with self._lock:
            centre = self._centre
        if centre is None:
            return None
        same_boot = centre.boot == self._boot
        expected = centre.centre + (self._elapsed() - centre.elapsed if same_boot else 0.0)
        tolerance = CENTRE_TOLERANCE if same_boot else CENTRE_TOLERANCE_AFTER_REBOOT
        centre_day = datetime.fromtimestamp(expected, UTC).date().isoformat()
        if wall > expected + tolerance.total_seconds():
            return msg("CLOCK_AHEAD_OF_CENTRE", today=today.isoformat(), centre=centre_day)
        if same_boot and wall < expected - CENTRE_TOLERANCE.total_seconds():
            return msg("CLOCK_BEHIND_CENTRE", today=today.isoformat(), centre=centre_day)
        return None

    # -- persistence -------------------------------------------------------------------------

    def _load(self) -> None:
        if self._path is None or not self._path.exists():
            self._save()
            return
        try:
            state = json.loads(self._path.read_text())
            stored_boot = str(state["boot"])
            wall_minus_elapsed = float(state["wall_minus_elapsed"])
            offset = float(state["offset"])
            centre = state.get("centre")
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("clock state %s unreadable; starting the timeline afresh", self._path)
            self._save()
            return
        if centre and centre.get("boot"):
            self._centre = _CentreTime(
                float(centre["centre"]), float(centre["elapsed"]), str(centre["boot"])
            )
        if stored_boot != self._boot or not self._boot:
            self._save()  # a reboot: the timeline starts again at the wall clock
            return
        self._offset = offset
        jump = (self._last_wall - self._last_elapsed) - wall_minus_elapsed
        since = max(0.0, self._last_elapsed - float(state.get("elapsed", 0.0)))
        if abs(jump) > max(STEP_MIN_S, SLEW_RATE * since):
            self._offset += jump
            step = ClockStep(jump, self._last_wall, while_stopped=True)
            self._seen.append(step)
            log.warning("%s", step.describe())
            self._save()

    def _save(self) -> None:
        if self._path is None:
            return
        with self._lock:
            state = {
                "boot": self._boot,
                "wall_minus_elapsed": self._last_wall - self._last_elapsed,
                "elapsed": self._last_elapsed,
                "offset": self._offset,
                "centre": None
                if self._centre is None
                else {
                    "centre": self._centre.centre,
                    "elapsed": self._centre.elapsed,
                    "boot": self._centre.boot,
                },
            }
        try:
            write_durably(self._path, json.dumps(state).encode())
        except OSError as exc:
            log.warning("cannot keep the clock state in %s: %s", self._path, exc)


# The process's clock without a state file: the default wherever no daemon hands one in.
SYSTEM_CLOCK = KitClock()
