"""The domain vocabulary: modalities, capture positions (with ANSI/NIST-ITL codes), exception
kinds, resident categories and sex. Every package names these things the same way."""

from __future__ import annotations

from datetime import date
from enum import StrEnum


class Modality(StrEnum):
    FINGERPRINT = "fingerprint"
    FACE = "face"
    IRIS = "iris"
    SIGNATURE = "signature"


class Position(StrEnum):
    """A capture position. Fingers come first, in ANSI/NIST-ITL friction-ridge code order."""

    RIGHT_THUMB = "right_thumb"
    RIGHT_INDEX = "right_index"
    RIGHT_MIDDLE = "right_middle"
    RIGHT_RING = "right_ring"
    RIGHT_LITTLE = "right_little"
    LEFT_THUMB = "left_thumb"
    LEFT_INDEX = "left_index"
    LEFT_MIDDLE = "left_middle"
    LEFT_RING = "left_ring"
    LEFT_LITTLE = "left_little"
    FACE = "face"
    RIGHT_EYE = "right_eye"
    LEFT_EYE = "left_eye"
    SIGNATURE = "signature"

    @property
    def modality(self) -> Modality:
        return _MODALITY_OF[self]

    @property
    def finger_code(self) -> int:
        """ANSI/NIST-ITL friction-ridge position code (1 = right thumb ... 10 = left little);
        ValueError for a position that is not a finger."""
        if self not in FINGERS:
            raise ValueError(f"{self.value} is not a finger")
        return FINGERS.index(self) + 1

    @property
    def message_code(self) -> str:
        """The catalogue code of the position's name, e.g. POSITION_RIGHT_THUMB."""
        return f"POSITION_{self.name}"


FINGERS: tuple[Position, ...] = tuple(list(Position)[:10])
EYES: tuple[Position, ...] = (Position.RIGHT_EYE, Position.LEFT_EYE)
# The capture order of a full enrollment: face first (the resident approves it), then ten
# fingers, both irises, and the signature.
ALL_POSITIONS: tuple[Position, ...] = (Position.FACE, *FINGERS, *EYES, Position.SIGNATURE)
# The two fingers whose minutiae go on the KTP-el card chip.
CARD_FINGERS: tuple[Position, ...] = (Position.RIGHT_INDEX, Position.LEFT_INDEX)

_MODALITY_OF: dict[Position, Modality] = {
    **dict.fromkeys(FINGERS, Modality.FINGERPRINT),
    **dict.fromkeys(EYES, Modality.IRIS),
    Position.FACE: Modality.FACE,
    Position.SIGNATURE: Modality.SIGNATURE,
}


def position(name: str) -> Position:
    """The position called ``name`` (e.g. "right_index"); ValueError for anything else."""
    try:
        return Position(name)
    except ValueError:
        raise ValueError(f"unknown capture position {name!r}") from None


def finger_at(code: int) -> Position:
    """The finger with ANSI/NIST-ITL position code ``code`` (1..10)."""
    if not 1 <= code <= len(FINGERS):
        raise ValueError(f"finger position code must be 1..10, got {code}")
    return FINGERS[code - 1]


def positions_of(modality: Modality) -> tuple[Position, ...]:
    """Every position captured with ``modality``, in capture order."""
    return tuple(p for p in ALL_POSITIONS if p.modality is modality)


class ExceptionKind(StrEnum):
    """Why a planned position has no normal capture. The same words in the API, the workflow,
    the sealed record and the centre."""

    AMPUTATED = "amputated"
    BANDAGED = "bandaged"
    UNUSABLE = "unusable"  # the finger or eye is there but gives no usable capture
    BLIND = "blind"
    EYE_ABSENT = "eye_absent"
    SIGNATURE_LINE = "signature_line"  # a line is accepted as the signature
    CANNOT_SIGN = "cannot_sign"
    NOT_REQUIRED = "not_required"  # the resident's category skips this modality

    @property
    def message_code(self) -> str:
        return f"EXCEPTION_{self.name}"


# The kinds an operator may mark, per modality (NOT_REQUIRED comes from the category policy).
EXCEPTION_KINDS: dict[Modality, frozenset[ExceptionKind]] = {
    Modality.FINGERPRINT: frozenset(
        {ExceptionKind.AMPUTATED, ExceptionKind.BANDAGED, ExceptionKind.UNUSABLE}
    ),
    Modality.IRIS: frozenset(
        {ExceptionKind.BLIND, ExceptionKind.EYE_ABSENT, ExceptionKind.UNUSABLE}
    ),
    Modality.SIGNATURE: frozenset({ExceptionKind.SIGNATURE_LINE, ExceptionKind.CANNOT_SIGN}),
    Modality.FACE: frozenset(),
}


class Category(StrEnum):
    """Resident categories; each has one policy in ``domain.categories``."""

    REGULAR = "regular"
    ELDERLY = "elderly"
    DISABLED = "disabled"
    BEDRIDDEN = "bedridden"
    MENTAL_DISORDER = "mental_disorder"
    STUDENT = "student"

    @property
    def message_code(self) -> str:
        return f"CATEGORY_{self.name}"


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"

    @property
    def nik_day_offset(self) -> int:
        """Added to the day of birth in a NIK's digits 7-8 (40 for women)."""
        return 40 if self is Sex.FEMALE else 0

    @property
    def message_code(self) -> str:
        return f"SEX_{self.name}"


def nik_birth_date_part(birth_date: date, sex: Sex) -> str:
    """Digits 7..12 of a NIK: DDMMYY, with 40 added to the day for women."""
    day = birth_date.day + Sex(sex).nik_day_offset
    return f"{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}"


def age_on(birth_date: date, today: date) -> int:
    """Completed years of age on ``today``."""
    years = today.year - birth_date.year
    return years - ((today.month, today.day) < (birth_date.month, birth_date.day))
