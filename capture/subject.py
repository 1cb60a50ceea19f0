"""The resident being enrolled, the checks on what the operator typed, and the check that the
kit's clock can be trusted to judge a resident's age."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.categories import MINIMUM_RECORDING_AGE
from domain.clock import KitClock
from domain.messages import Message, msg
from domain.vocabulary import Category, Sex, age_on, nik_birth_date_part


class SubjectInvalid(ValueError):
    """The subject data cannot be accepted; ``reason`` is machine-readable and ``metadata``
    says precisely what is wrong (e.g. which NIK check failed)."""

    def __init__(
        self, reason: str, message: Message, metadata: dict[str, str] | None = None
    ) -> None:
        super().__init__(message.render())
        self.reason = reason
        self.message = message
        self.metadata = metadata or {}


class ClockWrong(Exception):
    """The kit's clock cannot be trusted; ``message`` tells the operator to set it."""

    reason = "CLOCK_WRONG"

    def __init__(self, message: Message) -> None:
        super().__init__(message.render())
        self.message = message


def check_clock(clock: KitClock) -> None:
    """Raise ClockWrong when the kit's date cannot be trusted (see ``KitClock.problem``):
    ages, and the dates stamped into a record, would be wrong."""
    problem = clock.problem()
    if problem is not None:
        raise ClockWrong(problem)


@dataclass(frozen=True)
class Subject:
    nik: str
    name: str
    birth_date: date
    sex: Sex | str  # a Sex; "" when the operator chose none
    category: Category
    demographics_ref: str = ""


NIK_LENGTH = 16
NIK_DIGITS = frozenset("0123456789")


def check_nik(nik: str) -> None:
    """Raise SubjectInvalid (NIK_INVALID) naming the first check ``nik`` fails, in metadata
    ``nik_check``: DIGITS (with the 1-based ``index`` of the first character that is not an
    ASCII digit), LENGTH (with the ``length`` given), or REGION (region code all zeros)."""
    bad = next((i for i, ch in enumerate(nik) if ch not in NIK_DIGITS), None)
    if bad is not None:
        raise SubjectInvalid(
            "NIK_INVALID",
            msg("NIK_NOT_DIGIT", index=bad + 1, character=_shown(nik[bad])),
            {"nik_check": "DIGITS", "index": str(bad + 1)},
        )
    if len(nik) != NIK_LENGTH:
        raise SubjectInvalid(
            "NIK_INVALID",
            msg("NIK_INVALID_LENGTH", length=len(nik)),
            {"nik_check": "LENGTH", "length": str(len(nik))},
        )
    if nik[:6] == "000000":
        raise SubjectInvalid("NIK_INVALID", msg("NIK_INVALID_REGION"), {"nik_check": "REGION"})


def _shown(character: str) -> str:
    """A character as an operator can recognise it: itself in quotes when printable, else its
    code point (U+00A0)."""
    if character.isprintable() and not character.isspace():
        return f"'{character}'"
    return f"U+{ord(character):04X}"


def validate_subject(subject: Subject, today: date) -> None:
    """Raise SubjectInvalid with an operator sentence when the subject cannot be enrolled."""
    nik = subject.nik
    check_nik(nik)
    if not subject.name.strip():
        raise SubjectInvalid("NAME_MISSING", msg("NAME_MISSING"))
    if subject.sex not in tuple(Sex):
        raise SubjectInvalid("SEX_MISSING", msg("SEX_MISSING"))
    if subject.birth_date > today:
        raise SubjectInvalid("BIRTH_DATE_INVALID", msg("BIRTH_DATE_INVALID"))
    expected = nik_birth_date_part(subject.birth_date, Sex(subject.sex))
    if nik[6:12] != expected:
        raise SubjectInvalid(
            "NIK_BIRTH_DATE_MISMATCH",
            msg("NIK_BIRTH_DATE_MISMATCH", digits=nik[6:12], expected=expected),
        )
    if age_on(subject.birth_date, today) < MINIMUM_RECORDING_AGE:
        raise SubjectInvalid("TOO_YOUNG", msg("TOO_YOUNG", age=MINIMUM_RECORDING_AGE))
