"""Every quality reason code, and the one way to make a Reason. The sentences are in the message
catalogue (area ``quality``, code ``QUALITY_<CODE>``)."""

from __future__ import annotations

from domain.messages import Param, msg
from quality.base import Reason

CODES: tuple[str, ...] = (
    # Any modality
    "INVALID_IMAGE",
    # Fingerprint
    "NO_FINGER",
    "FINGER_TOO_LIGHT",
    "FINGER_TOO_HEAVY",
    "FINGER_SMUDGED",
    "FINGER_DRY",
    "FINGER_PARTIAL",
    "FINGER_UNCLEAR_RIDGES",
    "FINGER_LOW_QUALITY",
    # Face
    "NO_FACE",
    "MULTIPLE_FACES",
    "FACE_TOO_SMALL",
    "FACE_TOO_LARGE",
    "FACE_NOT_CENTRED",
    "FACE_TILTED",
    "FACE_BLURRED",
    "FACE_TOO_DARK",
    "FACE_TOO_BRIGHT",
    "FACE_LOW_CONTRAST",
    "FACE_UNEVEN_LIGHT",
    "EYES_NOT_VISIBLE",
    "BACKGROUND_NOT_UNIFORM",
    "WRONG_BACKGROUND_COLOUR",  # birth_year, expected ("red" or "blue")
    # Iris
    "EYE_NOT_FOUND",
    "IRIS_TOO_SMALL",
    "IRIS_TOO_LARGE",
    "IRIS_NOT_CENTRED",
    "IRIS_OCCLUDED",
    "IRIS_REFLECTIONS",
    "IRIS_BLURRED",
    "IRIS_LOW_CONTRAST",
    "PUPIL_DILATION",
    "IRIS_OFF_AXIS",
    # Signature
    "SIGNATURE_BLANK",
    "SIGNATURE_TOO_FEW_POINTS",
    "SIGNATURE_TOO_SHORT",
    "SIGNATURE_TOO_SMALL",
    "SIGNATURE_SINGLE_STROKE",
    "SIGNATURE_OUT_OF_PAD",
)

# Backdrop colours by name, as the catalogue names them in each language.
_COLOURS = {"red": msg("QUALITY_COLOUR_RED"), "blue": msg("QUALITY_COLOUR_BLUE")}


def reason(code: str, **values: Param) -> Reason:
    """The reason ``code`` with its sentence's parameters; ``expected`` names a backdrop colour."""
    if code not in CODES:
        raise ValueError(f"unknown quality reason {code!r}")
    if isinstance(values.get("expected"), str):
        values["expected"] = _COLOURS.get(str(values["expected"]), values["expected"])
    return Reason(code, tuple(sorted(values.items())))


def codes() -> tuple[str, ...]:
    """Every reason code the quality engine can return."""
    return CODES
