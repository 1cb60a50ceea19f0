"""The enrollment record as the station hands it to the uploader: plain data, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np

from domain.vocabulary import Category, Modality, Position, Sex


@dataclass
class Subject:
    """Who is being enrolled. ``demographics_ref`` points at the demographic data held elsewhere."""

    nik: str
    name: str
    birth_date: date
    sex: Sex
    category: Category
    demographics_ref: str


@dataclass
class ImageSample:
    """One captured image: fingerprint (uint8 grey, 500 ppi), face (uint8 BGR) or iris (grey).

    ``image`` may be None when ``exception`` is set (an ``ExceptionKind``: "amputated",
    "blind", "not_required", ...). ``quality`` is the 0..100 score of the kept capture;
    ``nfiq2`` a fingerprint's NFIQ 2 score when it was measured (it is then ``quality``, too).
    ``minutiae`` is the print's ISO/IEC 19794-2:2005 finger minutiae record, for the fingers
    the card chip holds (empty otherwise); it travels in a Type-9 record.
    """

    position: Position
    modality: Modality
    image: np.ndarray | None
    quality: int
    attempts: int
    forced: bool
    exception: str = ""
    nfiq2: int | None = None
    minutiae: bytes = b""


@dataclass
class SignatureSample:
    """Pen reports as (t_ms, x, y, pressure, touching) in pad units, plus the pad's ranges.

    ``units_per_mm`` converts pad units to millimetres (Wacom ISDV4 pads report 0.01 mm units).
    """

    points: list[tuple[int, int, int, int, bool]]
    max_x: int
    max_y: int
    max_pressure: int
    exception: str = ""
    units_per_mm: float = 100.0


@dataclass
class RecordContent:
    """Everything one enrollment produced, ready to be sealed."""

    record_id: str
    station_id: str
    operator: str
    supervisor: str
    subject: Subject
    samples: list[ImageSample]
    signature: SignatureSample | None
    devices: list[dict] = field(default_factory=list)
    started_at: datetime | None = None
    completed_at: datetime | None = None
    flags: list[str] = field(default_factory=list)
    # The station's audit-chain head hash when the record was sealed (see station.audit).
    audit_head: str = ""
    # Each exception's proof photo (JPEG or PNG bytes, as taken or sent) by position.
    proof_photos: dict[str, bytes] = field(default_factory=dict)
