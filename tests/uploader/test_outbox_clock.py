"""The outbox's timers under a stepped kit clock: a retry is due after its delay, whatever the
wall clock did; a settled package is never purged early. The kit's wall and boot clocks are
driven by hand (``tests/clock`` steps a real daemon's clock)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from test_outbox import package

from domain.clock import KitClock
from uploader.outbox import Outbox, RecordState

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC).timestamp()
DAY = 86400.0
YEARS_25 = 25 * 365.25 * DAY


class Sources:
    def __init__(self, wall: float = T0, boot: str = "boot-1") -> None:
        self.wall_s, self.elapsed_s, self.boot_id = wall, 500.0, boot

    def clock(self) -> KitClock:
        return KitClock(
            wall=lambda: self.wall_s, elapsed=lambda: self.elapsed_s, boot=lambda: self.boot_id
        )


def test_a_retry_stays_due_after_its_delay_when_the_clock_steps_back(tmp_path):
    sources = Sources()
    with Outbox(tmp_path, clock=sources.clock()) as outbox:
        outbox.enqueue(package("R1"))
        outbox.mark_attempt("R1", "HTTP 500", next_attempt_at=sources.wall_s + 30)
        sources.elapsed_s += 31
        sources.wall_s += 31 - DAY  # stepped back a day meanwhile
        assert [r.record_id for r in outbox.due_for_delivery(sources.wall_s)] == ["R1"]


def test_a_retry_is_rearmed_to_its_delay_when_the_clock_went_back_across_a_reboot(tmp_path):
    sources = Sources()
    with Outbox(tmp_path, clock=sources.clock()) as outbox:
        outbox.enqueue(package("R1"))
        outbox.mark_attempt("R1", "HTTP 500", next_attempt_at=sources.wall_s + 30)
    rebooted = Sources(wall=T0 - DAY, boot="boot-2")
    with Outbox(tmp_path, clock=rebooted.clock()) as outbox:
        due = outbox.next_due_time()
        assert due is not None and due <= rebooted.wall_s + 30
        assert outbox.due_for_delivery(rebooted.wall_s + 30)[0].record_id == "R1"


def test_nothing_is_purged_early_when_a_clock_25_years_behind_is_corrected(tmp_path):
    sources = Sources(wall=T0 - YEARS_25)
    clock = sources.clock()
    with Outbox(tmp_path, clock=clock) as outbox:
        outbox.enqueue(package("R1"))
        outbox.set_status("R1", RecordState.PRINT_READY_RECORD)
        sources.elapsed_s += 5
        sources.wall_s += 5 + YEARS_25  # corrected while running
        assert outbox.purge_packages(retention_seconds=60) == []
        sources.elapsed_s += 61
        sources.wall_s += 61
        assert outbox.purge_packages(retention_seconds=60) == ["R1"]


def test_a_settlement_stamped_by_a_wrong_clock_restarts_its_window_after_a_reboot(tmp_path):
    behind = Sources(wall=T0 - YEARS_25)
    with Outbox(tmp_path, clock=behind.clock()) as outbox:
        outbox.enqueue(package("R1"))
        outbox.set_status("R1", RecordState.PRINT_READY_RECORD)
    corrected = Sources(wall=T0, boot="boot-2")
    with Outbox(tmp_path, clock=corrected.clock()) as outbox:
        assert outbox.purge_packages(retention_seconds=60) == []
        corrected.wall_s += 61
        corrected.elapsed_s += 61
        assert outbox.purge_packages(retention_seconds=60) == ["R1"]


def test_an_outbox_from_before_retry_delays_opens_with_them(tmp_path):
    with Outbox(tmp_path) as outbox:
        outbox.enqueue(package("R1"))
    with sqlite3.connect(tmp_path / "outbox.sqlite") as db:
        db.execute("ALTER TABLE records DROP COLUMN retry_delay_s")
    with Outbox(tmp_path) as outbox:
        assert outbox.get("R1") is not None
        assert [r.record_id for r in outbox.due_for_delivery()] == ["R1"]


def test_times_handed_out_are_wall_readings_as_the_clock_is_set_now(tmp_path):
    sources = Sources()
    with Outbox(tmp_path, clock=sources.clock()) as outbox:
        outbox.enqueue(package("R1"))
        outbox.mark_attempt("R1", "HTTP 500", next_attempt_at=sources.wall_s + 30)
        sources.elapsed_s += 10
        sources.wall_s += 10 + 100 * DAY  # stepped forward: the retry is still 20 s away
        due = outbox.next_due_time()
        assert due is not None and abs(due - sources.wall_s - 20) < 1e-6
        assert outbox.due_for_delivery(sources.wall_s) == []
        record = outbox.get("R1")
        assert record is not None and abs(sources.wall_s - record.created_at - 10) < 1e-6
        assert abs(outbox.history("R1")[-1].at - record.updated_at) < 1e-6
