"""Records of synthetic people for the centre tests: same person = same ten fingers."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime

import numpy as np

from domain.vocabulary import FINGERS, Category, Sex
from simulator.synth import FingerSpec, render_capture
from uploader.content import (
    ImageSample,
    RecordContent,
    SignatureSample,
    Subject,
)


def person_record(
    record_id: str,
    person: int,
    nik: str,
    attempt: int,
    station_id: str = "KIT-01",
) -> RecordContent:
    """A record of synthetic ``person``; ``attempt`` varies every capture's conditions."""
    samples = []
    for name, code in ((f, f.finger_code) for f in FINGERS):
        finger = FingerSpec.random(person * 100 + code)
        image = render_capture(finger, attempt)
        samples.append(ImageSample(name, "fingerprint", image, 70, 1, False))
    rng = np.random.default_rng(person)
    face = rng.integers(0, 255, (160, 120, 3), dtype=np.uint8)
    samples.append(ImageSample("face", "face", face, 80, 1, False))
    for eye in ("right_eye", "left_eye"):
        iris = rng.integers(0, 255, (120, 160), dtype=np.uint8)
        samples.append(ImageSample(eye, "iris", iris, 75, 1, False))
    points = [(i * 7, 1000 + 40 * i, 2000 + (i % 30) * 20, 400, True) for i in range(60)]
    return RecordContent(
        record_id=record_id,
        station_id=station_id,
        operator="op-1",
        supervisor="sup-1",
        subject=Subject(
            nik, "Resident", date(1988, 3, 4), Sex.MALE, Category.REGULAR, f"DEM-{nik}"
        ),
        samples=samples,
        signature=SignatureSample(points, 24576, 18432, 1023),
        started_at=datetime.now(UTC),
        completed_at=datetime.now(UTC),
    )


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0, step: float = 0.02) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass (bounded loop)."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / step) + 1):
        if predicate():
            return True
        if time.monotonic() > deadline:
            break
        time.sleep(step)
    return predicate()
