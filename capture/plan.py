"""Capture plans: what each resident category must give, and where thresholds may be relaxed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from capture.positions import EYES, FACE, FINGERS, SIGNATURE
from drivers.base import Modality


class Category(StrEnum):
    REGULAR = "regular"
    ELDERLY = "elderly"
    DISABLED = "disabled"
    BEDRIDDEN = "bedridden"
    MENTAL_DISORDER = "mental_disorder"
    STUDENT = "student"


MINIMUM_RECORDING_AGE = 16
PRINT_ELIGIBLE_AGE = 17
NOT_PRINT_ELIGIBLE_FLAG = "NOT_PRINT_ELIGIBLE_UNTIL_17"


@dataclass(frozen=True)
class CapturePlan:
    """The positions a category requires, in capture order, and its capture rules."""

    category: Category
    positions: tuple[str, ...]
    attempts: int = 3
    # Modalities whose relaxed threshold may apply (recorded on the sample when used).
    relaxed: frozenset[Modality] = field(default_factory=frozenset)


_FULL = (FACE, *FINGERS, *EYES, SIGNATURE)
_NO_IRIS = (FACE, *FINGERS, SIGNATURE)

PLANS: dict[Category, CapturePlan] = {
    Category.REGULAR: CapturePlan(Category.REGULAR, _FULL),
    Category.STUDENT: CapturePlan(Category.STUDENT, _FULL),
    Category.ELDERLY: CapturePlan(
        Category.ELDERLY, _FULL, relaxed=frozenset({Modality.FINGERPRINT})
    ),
    Category.DISABLED: CapturePlan(
        Category.DISABLED, _FULL, relaxed=frozenset({Modality.FINGERPRINT, Modality.FACE})
    ),
    Category.BEDRIDDEN: CapturePlan(
        Category.BEDRIDDEN,
        _FULL,
        relaxed=frozenset({Modality.FINGERPRINT, Modality.FACE, Modality.IRIS}),
    ),
    Category.MENTAL_DISORDER: CapturePlan(
        Category.MENTAL_DISORDER, _NO_IRIS, relaxed=frozenset({Modality.FACE})
    ),
}


def age_on(birth_date: date, today: date) -> int:
    """Completed years of age on ``today``."""
    years = today.year - birth_date.year
    return years - ((today.month, today.day) < (birth_date.month, birth_date.day))


def plan_for(category: Category) -> CapturePlan:
    return PLANS[category]


def record_flags(category: Category, birth_date: date, today: date) -> list[str]:
    """Flags the record carries from the start (e.g. a student not yet print eligible)."""
    flags: list[str] = []
    if age_on(birth_date, today) < PRINT_ELIGIBLE_AGE:
        flags.append(NOT_PRINT_ELIGIBLE_FLAG)
    return flags
