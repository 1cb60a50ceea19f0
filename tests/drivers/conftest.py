"""Fixtures for the driver tests: a tiny deterministic resident and simulated devices."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from simulator.devices.r30x import SimulatedR30x
from simulator.kit import SimulatedKit


class TinyResident:
    """A deterministic stand-in resident: cheap images with a strong, seed-specific look."""

    def __init__(self, seed: int, missing_fingers: tuple[int, ...] = ()) -> None:
        self.seed = seed
        self.missing_fingers = missing_fingers
        rng = np.random.default_rng(seed)
        hue = np.uint8([[[(seed * 67) % 180, 200, 200]]])  # well-separated colours per seed
        self.face_colour = tuple(int(v) for v in cv2.cvtColor(hue, cv2.COLOR_HSV2BGR)[0, 0])
        self.eye_levels = (int(rng.integers(40, 110)), int(rng.integers(150, 220)))

    def fingerprint(self, position: int, attempt: int) -> np.ndarray | None:
        if position in self.missing_fingers:
            return None
        rows, cols = np.mgrid[0:320, 0:300].astype(np.float32)
        angle = 0.3 * position + 0.1 * self.seed
        ridges = np.sin((rows * np.cos(angle) + cols * np.sin(angle)) / 3.0 + attempt * 0.2)
        return (127.5 + 127.5 * ridges).astype(np.uint8)

    def face_frame(self, width: int, height: int, frame_index: int) -> np.ndarray:
        frame = np.empty((height, width, 3), dtype=np.uint8)
        frame[:] = self.face_colour
        frame[height // 4 : 3 * height // 4, width // 3 : 2 * width // 3] = 255 - np.array(
            self.face_colour, dtype=np.uint8
        )
        return frame

    def iris_frame(self, width: int, height: int, frame_index: int) -> np.ndarray:
        frame = np.empty((height, width), dtype=np.uint8)
        frame[:, : width // 2] = self.eye_levels[0]  # subject's right eye: image left
        frame[:, width // 2 :] = self.eye_levels[1]
        return frame

    def signature(self) -> list[list[tuple[float, float, float]]]:
        first = [(0.1 + 0.5 * i / 99, 0.5 + 0.2 * np.sin(i / 10), 0.6) for i in range(100)]
        second = [(0.7 + 0.2 * i / 59, 0.3 + 0.4 * i / 59, 0.9) for i in range(60)]
        return [first, second]


@pytest.fixture
def resident() -> TinyResident:
    return TinyResident(seed=7)


@pytest.fixture
def platen() -> dict[str, np.ndarray | None]:
    """What lies on the simulated scanner's glass; tests put an image under "image"."""
    return {"image": None}


@pytest.fixture
def r30x_sim(platen: dict[str, np.ndarray | None], tmp_path) -> Iterator[SimulatedR30x]:
    # A stable link, as udev's /dev/serial/by-id gives: a replugged pty may get another number.
    sim = SimulatedR30x(lambda: platen["image"], link_path=tmp_path / "ttyR30x")
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def kit(resident: TinyResident) -> Iterator[SimulatedKit]:
    with SimulatedKit(resident, signature_speed=8.0) as simulated_kit:
        yield simulated_kit


@pytest.fixture
def make_resident() -> type[TinyResident]:
    """The test resident class, for tests that need several residents."""
    return TinyResident


def _simulator_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith(("sim-", "Thread-"))}


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Every test must stop the threads and close the ptys and sockets it opened."""
    threads_before = _simulator_threads()
    fds_before = _open_fds()
    yield
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        leaked = _simulator_threads() - threads_before
        if not leaked and _open_fds() <= fds_before:
            break
        time.sleep(0.02)
    assert not (_simulator_threads() - threads_before), "simulator threads left running"
    assert _open_fds() <= fds_before, "file descriptors left open"


@pytest.fixture
def start_module(platen, tmp_path) -> Iterator:
    """Start simulated R30x modules of a model (name or model record) on ptys; stopped after."""
    started: list[SimulatedR30x] = []

    def start(model="R307", **options) -> SimulatedR30x:
        sim = SimulatedR30x(
            lambda: platen["image"],
            model=model,
            link_path=tmp_path / f"tty{len(started)}",
            **options,
        )
        sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()
