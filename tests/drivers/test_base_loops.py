"""The capture loops the base classes own, driven by tiny fake drivers."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from drivers.base import (
    Ability,
    Capabilities,
    DeviceStatus,
    ImageDevice,
    Modality,
    PenDevice,
    PenSample,
)
from drivers.errors import CaptureCancelled, CaptureTimeout, DeviceUnavailable

pytestmark = pytest.mark.timeout(30)


class FakeScanner(ImageDevice):
    """Presents a finger on the ``present_after``-th attempt (never when None)."""

    def __init__(self, present_after: int | None, *, fail_with: Exception | None = None) -> None:
        super().__init__("fake-0", "fake:")
        self.present_after = present_after
        self.fail_with = fail_with
        self.poll_interval = 0.001
        self.attempts = 0
        self.begun = 0
        self.opened = 0
        self.status_seen: list[DeviceStatus] = []

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(Modality.FINGERPRINT, ("right_index",), 4, 4, 500)

    def open(self) -> None:
        self.opened += 1
        self.status = DeviceStatus.READY

    def close(self) -> None:
        self.status = DeviceStatus.DISCONNECTED

    def _begin_capture(self, position: str | None) -> None:
        self.begun += 1
        self.attempts = 0

    def _try_capture(self, position: str | None, deadline: float) -> np.ndarray | None:
        self.attempts += 1
        self.status_seen.append(self.status)
        if self.fail_with is not None:
            raise self.fail_with
        if self.present_after is not None and self.attempts >= self.present_after:
            return np.full((4, 4), self.attempts, dtype=np.uint8)
        return None

    def _nothing_presented(self) -> CaptureTimeout:
        return CaptureTimeout("no finger", code="DEVICE_FINGERPRINT_NO_FINGER")


def test_presence_after_some_polls_returns_that_image() -> None:
    scanner = FakeScanner(present_after=5)
    image = scanner.capture(timeout=10.0)
    assert scanner.attempts == 5 and int(image[0, 0]) == 5
    assert scanner.opened == 1 and scanner.begun == 1
    assert set(scanner.status_seen) == {DeviceStatus.BUSY}
    assert scanner.status is DeviceStatus.READY


def test_nothing_presented_raises_the_drivers_timeout() -> None:
    scanner = FakeScanner(present_after=None)
    with pytest.raises(CaptureTimeout) as caught:
        scanner.capture(timeout=0.05)
    assert caught.value.code == "DEVICE_FINGERPRINT_NO_FINGER"
    assert scanner.attempts >= 1
    assert scanner.status is DeviceStatus.READY


def test_a_zero_timeout_still_makes_one_attempt() -> None:
    scanner = FakeScanner(present_after=1)
    assert scanner.capture(timeout=0).shape == (4, 4)


def test_cancel_before_the_first_attempt() -> None:
    scanner = FakeScanner(present_after=1)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CaptureCancelled) as caught:
        scanner.capture(timeout=10.0, cancel=cancel)
    assert scanner.attempts == 0
    assert caught.value.reason == "CAPTURE_CANCELLED"


def test_cancel_while_waiting_ends_the_wait() -> None:
    scanner = FakeScanner(present_after=None)
    scanner.poll_interval = 120.0  # longer than the test's time limit: cancel must wake it
    cancel = threading.Event()
    timer = threading.Timer(0.05, cancel.set)
    timer.start()
    try:
        with pytest.raises(CaptureCancelled):
            scanner.capture(timeout=120.0, cancel=cancel)
    finally:
        timer.cancel()
    assert scanner.attempts == 1


def test_a_device_that_went_away_is_closed() -> None:
    scanner = FakeScanner(present_after=1, fail_with=DeviceUnavailable("gone"))
    with pytest.raises(DeviceUnavailable):
        scanner.capture(timeout=1.0)
    assert scanner.status is DeviceStatus.DISCONNECTED


def test_an_unknown_position_is_refused_before_any_attempt() -> None:
    scanner = FakeScanner(present_after=1)
    with pytest.raises(ValueError):
        scanner.capture(timeout=1.0, position="left_eye")
    assert scanner.attempts == 0 and scanner.opened == 0


def test_frames_are_one_capture_after_another_until_cancel() -> None:
    scanner = FakeScanner(present_after=2)
    cancel = threading.Event()
    frames = scanner.frames(cancel=cancel, timeout=1.0)
    first, second = next(frames), next(frames)
    assert int(first[0, 0]) == int(second[0, 0]) == 2
    cancel.set()
    assert list(frames) == []


def test_optional_abilities_default_safely() -> None:
    scanner = FakeScanner(present_after=1)
    assert scanner.abilities is Ability.NONE
    assert not scanner.supports(Ability.READ_PLATEN)
    assert scanner.read_platen() is None
    assert scanner.ping() is False  # not open
    scanner.open()
    assert scanner.ping() is True


class FakePad(PenDevice):
    """Replays batches of pen samples, one batch per read; then nothing."""

    def __init__(self, batches: list[list[tuple[int, bool]]]) -> None:
        super().__init__("pad-0", "fake:")
        self.batches = batches
        self.pen_away_s = 0.05
        self.sampling = False
        self.stopped = 0

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(Modality.SIGNATURE, ("signature",), 100, 50, max_pressure=1023)

    def open(self) -> None:
        self.status = DeviceStatus.READY

    def close(self) -> None:
        self.status = DeviceStatus.DISCONNECTED

    def _start_sampling(self) -> None:
        self.sampling = True

    def _read_pen(self) -> list[PenSample]:
        threading.Event().wait(0.002)
        if not self.batches:
            return []
        now = time.monotonic()
        return [
            PenSample(now, x, 10, 500 if touching else 0, touching)
            for x, touching in self.batches.pop(0)
        ]

    def _stop_sampling(self) -> None:
        self.sampling = False
        self.stopped += 1


def test_a_signature_ends_once_the_pen_stays_away() -> None:
    pad = FakePad([[(1, False)], [(2, True), (3, True)], [(4, False)]])
    trace = pad.capture_signature(timeout=30.0)
    assert [p.x for p in trace.points] == [1, 2, 3, 4]
    assert [p.touching for p in trace.points] == [False, True, True, False]
    assert trace.points[0].t_ms == 0
    assert (trace.max_x, trace.max_y, trace.max_pressure) == (100, 50, 1023)
    assert pad.stopped == 1 and not pad.sampling


def test_hovering_without_touching_times_out() -> None:
    pad = FakePad([[(1, False)], [(2, False)]])
    with pytest.raises(CaptureTimeout):
        pad.capture_signature(timeout=0.2)
    assert pad.stopped == 1


def test_a_cancelled_signature_stops_sampling() -> None:
    pad = FakePad([])
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CaptureCancelled):
        pad.capture_signature(timeout=5.0, cancel=cancel)
    assert pad.stopped == 1 and pad.status is DeviceStatus.READY
