"""Quality-engine speed: median milliseconds per image on one core, per modality."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import cv2
import numpy as np

from bench.report import Row

REPEATS = 5  # passes over each modality's image set, after one warm-up pass


@contextmanager
def one_core() -> Iterator[None]:
    """Run OpenCV on a single thread for the duration (numpy here is single-threaded)."""
    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def median_ms(measure: Callable[[np.ndarray], object], images: list[np.ndarray]) -> float:
    """Median wall time of ``measure`` per image, after a warm-up pass."""
    for image in images:
        measure(image)
    times = []
    for _ in range(REPEATS):
        for image in images:
            started = time.perf_counter()
            measure(image)
            times.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(times)


def _fingerprints() -> list[np.ndarray]:
    from simulator.synth.fingerprint import FingerKnobs, FingerSpec, quantise_4bit, render_capture

    knobs = (
        FingerKnobs(),
        FingerKnobs(dryness=0.5),
        FingerKnobs(pressure=0.6),
        FingerKnobs(wear=0.7),
    )
    return [
        quantise_4bit(render_capture(FingerSpec.random(seed), 0, k))
        for seed in range(1, 6)
        for k in knobs
    ]


def _faces() -> list[np.ndarray]:
    from simulator.synth.face import FaceKnobs, render_face

    knobs = (FaceKnobs(), FaceKnobs(offset_x=0.1), FaceKnobs(blur=2.0), FaceKnobs(scale=0.8))
    return [render_face(640, 480, k, seed=seed) for seed in range(3) for k in knobs]


def _irises() -> list[np.ndarray]:
    from simulator.synth.iris import IrisKnobs, IrisSpec, render_eye

    knobs = (IrisKnobs(), IrisKnobs(occlusion=0.4), IrisKnobs(blur=2.0), IrisKnobs(scale=0.8))
    return [render_eye(IrisSpec.random(seed), k)[0] for seed in range(1, 6) for k in knobs]


def quality_speed() -> list[Row]:
    """quality.fingerprint_ms (256x288), quality.face_ms (640x480), quality.iris_ms (640x480)."""
    from quality.face import assess_face
    from quality.fingerprint import assess_fingerprint
    from quality.iris import assess_iris

    with one_core():
        fingerprint = median_ms(assess_fingerprint, _fingerprints())
        face = median_ms(
            lambda image: assess_face(image, 1987, search_small_faces=False), _faces()
        )
        iris = median_ms(assess_iris, _irises())
    return [
        Row(
            "quality.fingerprint_ms",
            fingerprint,
            "ms",
            "<= 15",
            "median per 256x288 R30x image, one core",
        ),
        Row("quality.face_ms", face, "ms", "<= 20", "median per 640x480 frame, one core"),
        Row("quality.iris_ms", iris, "ms", "<= 20", "median per 640x480 eye, one core"),
    ]


BENCHES = {"quality": quality_speed}
