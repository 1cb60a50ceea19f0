"""The preview mailbox's bounds, on a clock the test moves: a frame is never handed to the
stream once older than the bound, and nothing that must be delivered waits behind a frame."""

from __future__ import annotations

import pytest

from station.mailbox import Closed, PreviewMailbox


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_frame_older_than_the_bound_is_dropped_not_sent(clock):
    box: PreviewMailbox[str] = PreviewMailbox(max_age_s=0.2, clock=clock)
    box.put("frame-1", droppable=True)
    clock.now += 0.25  # the stream was blocked on a write meanwhile
    assert box.get(timeout=0.01) is None
    box.put("frame-2", droppable=True)
    assert box.get(timeout=0.01) == ("frame-2", 1)  # counted in the next frame's `dropped`


def test_age_counts_from_capture_not_from_hand_off(clock):
    box: PreviewMailbox[str] = PreviewMailbox(max_age_s=0.2, clock=clock)
    box.put("late", droppable=True, born=clock.now - 0.3)  # captured 300 ms ago
    box.put("prompt")
    assert box.get(timeout=0.01) == ("prompt", 0)
    box.put("fresh", droppable=True, born=clock.now - 0.1)
    assert box.get(timeout=0.01) == ("fresh", 1)


def test_results_and_prompts_are_never_dropped_however_old(clock):
    box: PreviewMailbox[str] = PreviewMailbox(max_age_s=0.2, clock=clock)
    box.put("prompt")
    box.put("frame", droppable=True)
    box.put("result")
    box.close()
    clock.now += 60
    assert box.get(timeout=0.01) == ("prompt", 0)
    assert box.get(timeout=0.01) == ("result", 0)
    with pytest.raises(Closed):
        box.get(timeout=0.01)
    assert box.dropped_total == 1
