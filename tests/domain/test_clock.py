"""The kit's clock: steps are seen and kept off the timeline (also across a restart in the same
boot), slewing is not a step, and the sanity bounds name a wrong clock. The wall and boot clocks
are driven by hand here; ``tests/clock`` steps a real daemon's clock."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.clock import BUILD_DATE, KitClock

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC).timestamp()
DAY = 86400.0


class Sources:
    """A wall clock and a boot clock moved by the test."""

    def __init__(self, wall: float = T0, boot: str = "boot-1") -> None:
        self.wall_s, self.elapsed_s, self.boot_id = wall, 1000.0, boot

    def advance(self, seconds: float, wall_rate: float = 1.0) -> None:
        self.elapsed_s += seconds
        self.wall_s += seconds * wall_rate

    def clock(self, state=None) -> KitClock:
        return KitClock(
            state,
            wall=lambda: self.wall_s,
            elapsed=lambda: self.elapsed_s,
            boot=lambda: self.boot_id,
        )


def test_a_step_back_is_told_and_kept_off_the_timeline():
    sources = Sources()
    clock = sources.clock()
    steps = []
    clock.add_listener(steps.append)
    sources.advance(10)
    sources.wall_s -= DAY
    assert abs(clock.now() - (T0 + 10)) < 1e-6
    assert [round(s.seconds) for s in steps] == [-DAY]
    assert clock.wall() == T0 + 10 - DAY  # dates still read the wall clock
    sources.advance(5)
    assert abs(clock.now() - (T0 + 15)) < 1e-6
    assert clock.timeline(clock.wall() + 30) == clock.now() + 30
    assert len(steps) == 1


def test_slewing_is_not_a_step():
    sources = Sources()
    clock = sources.clock()
    for _ in range(24):
        sources.advance(3600, wall_rate=1.0004)  # NTP slews at most 500 ppm
        assert clock.check() is None
    assert clock.now() == sources.wall_s


def test_a_step_while_stopped_is_seen_on_a_restart_in_the_same_boot(tmp_path):
    sources = Sources()
    sources.clock(tmp_path / "clock.json")
    sources.advance(60)
    sources.wall_s += 100 * DAY  # stepped while the daemon was down
    restarted = sources.clock(tmp_path / "clock.json")
    steps = []
    restarted.add_listener(steps.append)
    assert abs(restarted.now() - (T0 + 60)) < 1e-6
    assert [(round(s.seconds), s.while_stopped) for s in steps] == [(100 * DAY, True)]
    sources.advance(1)
    again = sources.clock(tmp_path / "clock.json")  # the offset is kept, not seen twice
    assert abs(again.now() - (T0 + 61)) < 1e-6


def test_after_a_reboot_the_timeline_starts_at_the_wall_clock(tmp_path):
    sources = Sources()
    first = sources.clock(tmp_path / "clock.json")
    sources.wall_s -= DAY
    first.check()
    rebooted = Sources(wall=T0 + 50, boot="boot-2").clock(tmp_path / "clock.json")
    assert rebooted.now() == T0 + 50


def test_a_clock_before_the_build_date_is_wrong():
    sources = Sources(wall=T0 - 25 * 365.25 * DAY)
    problem = sources.clock().problem()
    assert problem is not None and problem.code == "CLOCK_BEFORE_BUILD"
    assert "Set the kit's date and time" in problem.render()
    assert "Atur tanggal dan jam perangkat" in problem.render("id")
    assert BUILD_DATE.isoformat() in problem.render()
    assert Sources().clock().problem() is None


def test_a_clock_far_from_the_centres_time_is_wrong(tmp_path):
    sources = Sources()
    clock = sources.clock(tmp_path / "clock.json")
    clock.saw_centre_time(datetime.fromtimestamp(T0, UTC))
    sources.advance(3600)
    assert clock.problem() is None
    sources.wall_s += 100 * DAY
    ahead = clock.problem()
    assert ahead is not None and ahead.code == "CLOCK_AHEAD_OF_CENTRE"
    sources.wall_s -= 100 * DAY + 3 * DAY
    behind = clock.problem()
    assert behind is not None and behind.code == "CLOCK_BEHIND_CENTRE"
    # After a reboot the time elapsed since is unknown: only a clock far ahead is refused.
    rebooted = Sources(wall=T0 + 60 * DAY, boot="boot-2")
    assert rebooted.clock(tmp_path / "clock.json").problem() is None
    rebooted.wall_s = T0 + 200 * DAY
    late = rebooted.clock(tmp_path / "clock.json").problem()
    assert late is not None and late.code == "CLOCK_AHEAD_OF_CENTRE"
