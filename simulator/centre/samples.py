"""Small but complete enrollment records, as a kit would seal them, to exercise delivery and
the centre in tests, crash loops and benches (two prints, a face, the rest exceptions)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np

from domain.vocabulary import FINGERS, Category, Sex
from uploader.content import (
    ImageSample,
    RecordContent,
    SignatureSample,
    Subject,
)


def small_record(record_id: str, index: int, station_id: str = "KIT-01") -> RecordContent:
    """A record with two prints (the card's index fingers), a face, and every other sample
    marked as an exception: the same shape as a real record, cheap to seal and to ingest.
    ``index`` makes the person and NIK unique."""
    rng = np.random.default_rng(index)
    samples = []
    for name in FINGERS:
        if name in ("right_index", "left_index"):
            image = rng.integers(0, 255, (288, 256), dtype=np.uint8)
            samples.append(ImageSample(name, "fingerprint", image, 60, 1, False))
        else:
            samples.append(ImageSample(name, "fingerprint", None, 0, 1, False, "amputated"))
    face = rng.integers(0, 255, (160, 120, 3), dtype=np.uint8)
    samples.append(ImageSample("face", "face", face, 80, 1, False))
    samples.extend(
        ImageSample(eye, "iris", None, 0, 0, False, "blind") for eye in ("right_eye", "left_eye")
    )
    nik = f"3172{index:012d}"
    points = [(i * 7, 1000 + 40 * i, 2000 + (i % 30) * 20, 400, True) for i in range(40)]
    return RecordContent(
        record_id=record_id,
        station_id=station_id,
        operator="op-1",
        supervisor="sup-1",
        subject=Subject(
            nik, "Resident", date(1980, 1, 1), Sex.FEMALE, Category.REGULAR, f"DEM-{nik}"
        ),
        samples=samples,
        signature=SignatureSample(points, 24576, 18432, 1023),
        started_at=datetime.now(UTC),
        completed_at=datetime.now(UTC),
    )
