"""The pulled-preview slot's bounds, on a clock the test moves: a frame is never answered once
older than the bound, only a newer one than the app has, and an ended capture says so."""

from __future__ import annotations

import threading

import pytest

from station.preview_slots import PreviewSlot, PreviewSlots, Pulled


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_frame_older_than_the_bound_is_not_answered(clock):
    slot: PreviewSlot[str] = PreviewSlot(max_age_s=0.2, clock=clock)
    slot.put("frame-1", 1)
    assert slot.pull(0, wait_s=0) == Pulled("frame-1", 1, ended=False)
    clock.now += 0.25  # the app froze before asking again
    assert slot.pull(0, wait_s=0.01) == Pulled(None, 0, ended=False)
    slot.put("frame-9", 9, born=clock.now - 0.15)  # captured 150 ms ago: still fresh
    assert slot.pull(1, wait_s=0) == Pulled("frame-9", 9, ended=False)


def test_only_a_frame_newer_than_the_apps_is_answered_and_only_the_newest(clock):
    slot: PreviewSlot[str] = PreviewSlot(max_age_s=0.2, clock=clock)
    slot.put("frame-1", 1)
    slot.put("frame-2", 2)
    assert slot.pull(0, wait_s=0).frame == "frame-2"  # frame-1 was replaced, never answered
    assert slot.pull(2, wait_s=0.01) == Pulled(None, 0, ended=False)


def test_a_waiting_pull_gets_the_next_frame_or_the_end(clock):
    slot: PreviewSlot[str] = PreviewSlot(max_age_s=0.2, clock=clock)
    answers: list[Pulled[str]] = []
    waiter = threading.Thread(target=lambda: answers.append(slot.pull(0, wait_s=10)))
    waiter.start()
    slot.put("frame-1", 1)
    waiter.join(timeout=10)
    assert answers == [Pulled("frame-1", 1, ended=False)]

    waiter = threading.Thread(target=lambda: answers.append(slot.pull(1, wait_s=10)))
    waiter.start()
    slot.end()
    waiter.join(timeout=10)
    assert answers[-1] == Pulled(None, 0, ended=True)
    assert slot.pull(0, wait_s=0) == Pulled(None, 0, ended=True)  # its frame is gone


def test_an_ended_slot_answers_a_while_then_is_forgotten(clock):
    slots: PreviewSlots[str] = PreviewSlots(ended_kept_s=10, clock=clock)
    slot = slots.open("E1", "face", max_age_s=0.2)
    assert slots.find("E1", "face") is slot
    assert slots.find("E1", "left_iris") is None
    slot.end()
    clock.now += 9
    assert slots.find("E1", "face") is slot
    clock.now += 2
    assert slots.find("E1", "face") is None
    assert len(slots) == 0


def test_a_new_capture_takes_the_positions_slot(clock):
    slots: PreviewSlots[str] = PreviewSlots(clock=clock)
    first = slots.open("E1", "face", max_age_s=0.2)
    first.put("old capture's frame", 40)
    first.end()
    second = slots.open("E1", "face", max_age_s=0.2)
    assert slots.find("E1", "face") is second
    assert second.pull(0, wait_s=0) == Pulled(None, 0, ended=False)
