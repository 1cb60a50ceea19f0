"""A small record with a resident's identifying data the thief will look for."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np

from domain.vocabulary import EYES, FINGERS
from uploader.content import ImageSample, RecordContent, SignatureSample, Subject

NIK = "3174051203900001"
NAME = "Siti Aminah Binti Sulaiman"


def fingerprint_image(seed: int = 3) -> np.ndarray:
    """A print-sized image with a recognisable byte pattern."""
    return np.random.default_rng(seed).integers(0, 255, (288, 256), dtype=np.uint8)


def record(record_id: str = "REC-ID-1", station_id: str = "KIT-ID-01") -> RecordContent:
    """One fingerprint, a face, exceptions for the rest."""
    samples = [
        ImageSample(
            name,
            "fingerprint",
            fingerprint_image() if name == "right_index" else None,
            50 if name == "right_index" else 0,
            1,
            False,
            "" if name == "right_index" else "amputated",
        )
        for name in FINGERS
    ]
    samples.append(ImageSample("face", "face", np.full((160, 120, 3), 128, np.uint8), 80, 1, False))
    samples.extend(ImageSample(eye, "iris", None, 0, 1, False, "blind") for eye in EYES)
    signature = SignatureSample(
        points=[(i * 7, 1000 + 60 * i, 3000, 300, True) for i in range(20)],
        max_x=24576,
        max_y=18432,
        max_pressure=1023,
    )
    subject = Subject(NIK, NAME, date(1990, 3, 12), "female", "regular", "KK-1")
    return RecordContent(
        record_id,
        station_id,
        "op-ani",
        "sup-budi",
        subject,
        samples,
        signature,
        started_at=datetime(2026, 5, 1, 9, 0, tzinfo=UTC),
        completed_at=datetime(2026, 5, 1, 9, 6, tzinfo=UTC),
    )
