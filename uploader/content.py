"""The enrollment record as the station hands it to the uploader: plain data, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np

# ANSI/NIST-ITL friction-ridge position codes (1 = right thumb ... 10 = left little).
FINGER_POSITIONS: dict[str, int] = {
    "right_thumb": 1,
    "right_index": 2,
    "right_middle": 3,
    "right_ring": 4,
    "right_little": 5,
    "left_thumb": 6,
    "left_index": 7,
    "left_middle": 8,
    "left_ring": 9,
    "left_little": 10,
}
FINGER_NAMES: dict[int, str] = {code: name for name, code in FINGER_POSITIONS.items()}
EYE_POSITIONS: tuple[str, str] = ("right_eye", "left_eye")
FACE_POSITION = "face"

# Exceptions an operator may record for a sample that could not be captured normally.
FINGER_EXCEPTIONS = ("amputated", "unable_to_print", "bandaged", "worn")
EYE_EXCEPTIONS = ("blind", "missing", "unable_to_capture", "mental_condition")
SIGNATURE_EXCEPTIONS = ("unable_to_sign", "line_accepted")


@dataclass
class Subject:
    """Who is being enrolled. ``demographics_ref`` points at the demographic data held elsewhere."""

    nik: str
    name: str
    birth_date: date
    sex: str
    category: str
    demographics_ref: str


@dataclass
class ImageSample:
    """One captured image: fingerprint (uint8 grey, 500 ppi), face (uint8 BGR) or iris (grey).

    ``image`` may be None when ``exception`` is set (e.g. "amputated", "unable_to_print",
    "blind"). ``quality`` is the 0..100 score of the kept capture.
    """

    position: str
    modality: str
    image: np.ndarray | None
    quality: int
    attempts: int
    forced: bool
    exception: str = ""


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
