"""Capture positions and their modalities. Fingers are numbered as ANSI/NIST-ITL codes 1..10."""

from __future__ import annotations

from drivers.base import FINGER_NAMES, Modality

FINGERS: tuple[str, ...] = FINGER_NAMES
EYES: tuple[str, ...] = ("right_eye", "left_eye")
FACE = "face"
SIGNATURE = "signature"
ALL_POSITIONS: tuple[str, ...] = (FACE, *FINGERS, *EYES, SIGNATURE)


def modality_of(position: str) -> Modality:
    """The modality captured at ``position``; ValueError for an unknown position."""
    if position in FINGERS:
        return Modality.FINGERPRINT
    if position in EYES:
        return Modality.IRIS
    if position == FACE:
        return Modality.FACE
    if position == SIGNATURE:
        return Modality.SIGNATURE
    raise ValueError(f"unknown capture position {position!r}")


def finger_code(position: str) -> int:
    """ANSI/NIST-ITL friction-ridge position code (1 = right thumb ... 10 = left little)."""
    return FINGERS.index(position) + 1
