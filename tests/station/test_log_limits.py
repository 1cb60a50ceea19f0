"""Repeated warnings are rate-limited by template, with a count of those held back."""

from __future__ import annotations

import io
import logging

from station.log_limits import RepeatLimiter


def test_a_warning_repeated_twice_a_second_is_one_line_a_minute():
    now = [0.0]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RepeatLimiter(60.0, clock=lambda: now[0]))
    logger = logging.getLogger("test.unplugged")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        for tick in range(240):  # two minutes of a polling loop, twice a second
            now[0] = tick * 0.5
            logger.warning("device %s unavailable: %s", "r30x-0", f"no answer ({tick})")
            logger.info("polled %d", tick)  # below the limited level: every line stays
        logger.warning("device %s did not close cleanly", "r30x-0")  # another template
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    warnings = [line for line in lines if "unavailable" in line]
    assert warnings == [
        "device r30x-0 unavailable: no answer (0)",
        "device r30x-0 unavailable: no answer (120) (and 119 more like it in the last 60 s)",
    ]
    assert sum(line.startswith("polled") for line in lines) == 240
    assert lines[-1] == "device r30x-0 did not close cleanly"
