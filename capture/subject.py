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
    """The subject data cannot be accepted; ``reason`` is machine-readable."""

    def __init__(self, reason: str, message: Message) -> None:
        super().__init__(message.render())
        self.reason = reason
        self.message = message


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


def validate_subject(subject: Subject, today: date) -> None:
    """Raise SubjectInvalid with an operator sentence when the subject cannot be enrolled."""
    nik = subject.nik
    if len(nik) != 16 or not nik.isascii() or not nik.isdigit():
        raise SubjectInvalid("NIK_INVALID", msg("NIK_INVALID_LENGTH", length=len(nik)))
    if nik[:6] == "000000":
        raise SubjectInvalid("NIK_INVALID", msg("NIK_INVALID_REGION"))
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
