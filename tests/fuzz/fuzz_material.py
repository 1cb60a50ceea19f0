"""Shared pieces of the fuzz tests: the committed corpus, and a small sealed package."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from domain.vocabulary import EYES, FINGERS
from uploader.content import (
    ImageSample,
    RecordContent,
    SignatureSample,
    Subject,
)
from uploader.keys import CentreKeys, StationKeys
from uploader.package import SealedPackage, seal

CORPUS = Path(__file__).parent / "corpus"


def corpus(kind: str, suffix: str = ".bin") -> list[Path]:
    """The committed inputs for one parser, sorted by name."""
    return sorted((CORPUS / kind).glob(f"*{suffix}"))


def small_record(record_id: str = "REC-FUZZ-1") -> RecordContent:
    """One fingerprint, a face, exceptions for the rest: cheap to seal, every part present."""
    rng = np.random.default_rng(7)
    samples = [
        ImageSample(
            name,
            "fingerprint",
            rng.integers(0, 255, (288, 256), dtype=np.uint8) if name == "right_index" else None,
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
    subject = Subject("3174010101900001", "Ani", date(1990, 1, 1), "female", "regular", "KK-1")
    return RecordContent(record_id, "KIT-FUZZ", "op-ani", "sup-budi", subject, samples, signature)


def sealed_package() -> tuple[SealedPackage, StationKeys, CentreKeys]:
    station, centre = StationKeys.generate(), CentreKeys.generate()
    return seal(small_record(), station, centre.public_key), station, centre
