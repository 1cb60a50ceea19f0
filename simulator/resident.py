"""What the simulated devices show: the resident currently in front of the kit.

The face camera's backdrop follows the resident's birth year, as the KTP-el photo rule asks:
red for an odd year, blue for an even one (``backdrop_for``). An app that starts an enrollment
with the birth date ``rekam sim present`` prints (or fixes) gets a backdrop the face check
(``quality.face``, "background colour") accepts; any other birth year of the same parity does too.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from domain.vocabulary import FINGERS

# Finger positions by ANSI/NIST-ITL friction-ridge position code (1 = right thumb ... 10 = left
# little). Eyes: "right_eye", "left_eye".
FINGER_POSITIONS: dict[int, str] = {finger.finger_code: finger.value for finger in FINGERS}


def backdrop_for(birth_year: int) -> str:
    """The photo backdrop of a resident born in ``birth_year``: "red" (odd) or "blue" (even)."""
    return "red" if birth_year % 2 else "blue"


class SimulatedResident(Protocol):
    """A resident as the simulated devices see them. Deterministic for a given seed.

    Every method may add per-call capture noise (``attempt`` varies it) but the same resident
    always yields the same underlying biometrics, so the centre's deduplication can match them.
    """

    def fingerprint(self, position: int, attempt: int) -> np.ndarray | None:
        """A 500 ppi uint8 grey fingerprint for ANSI position 1..10 (None: no finger there,
        e.g. amputated). Any size >= 256x288; the device crops/pads to its own sensor size."""

    def face_frame(self, width: int, height: int, frame_index: int) -> np.ndarray:
        """One uint8 BGR camera frame of the resident in front of the face camera."""

    def iris_frame(self, width: int, height: int, frame_index: int) -> np.ndarray:
        """One uint8 grey NIR frame of both eyes side by side (subject's right eye on the
        image's left half). An absent eye is a closed/empty socket region."""

    def signature(self) -> list[list[tuple[float, float, float]]]:
        """Strokes of (x, y, pressure) in unit coordinates 0..1 (pressure 0..1), sampled at
        ~133 Hz; an empty list means the resident cannot sign."""
