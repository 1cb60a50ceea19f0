"""The resident being enrolled, and the checks on what the operator typed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.categories import MINIMUM_RECORDING_AGE
from domain.vocabulary import Category, Sex, age_on, nik_birth_date_part
from drivers.errors import OperatorText


class SubjectInvalid(ValueError):
    """The subject data cannot be accepted; ``reason`` is machine-readable."""

    def __init__(self, reason: str, text: OperatorText) -> None:
        super().__init__(text.en)
        self.reason = reason
        self.text = text


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
        raise SubjectInvalid(
            "NIK_INVALID",
            OperatorText(
                f"The NIK must be exactly 16 digits; got {len(nik)} characters. "
                "Copy it again from the family card (Kartu Keluarga).",
                f"NIK harus tepat 16 angka; yang diisi {len(nik)} karakter. "
                "Salin lagi dari Kartu Keluarga.",
            ),
        )
    if nik[:6] == "000000":
        raise SubjectInvalid(
            "NIK_INVALID",
            OperatorText(
                "The NIK's first six digits (region code) cannot be zero.",
                "Enam angka pertama NIK (kode wilayah) tidak boleh nol.",
            ),
        )
    if not subject.name.strip():
        raise SubjectInvalid(
            "NAME_MISSING",
            OperatorText("Enter the resident's name.", "Isi nama penduduk."),
        )
    if subject.sex not in tuple(Sex):
        raise SubjectInvalid(
            "SEX_MISSING",
            OperatorText("Choose the resident's sex.", "Pilih jenis kelamin penduduk."),
        )
    if subject.birth_date > today:
        raise SubjectInvalid(
            "BIRTH_DATE_INVALID",
            OperatorText("The birth date is in the future.", "Tanggal lahir ada di masa depan."),
        )
    expected = nik_birth_date_part(subject.birth_date, Sex(subject.sex))
    if nik[6:12] != expected:
        raise SubjectInvalid(
            "NIK_BIRTH_DATE_MISMATCH",
            OperatorText(
                f"The NIK's digits 7-12 ({nik[6:12]}) do not match the birth date and sex "
                f"({expected} expected). Check both against the family card.",
                f"Angka ke-7 s.d. 12 NIK ({nik[6:12]}) tidak cocok dengan tanggal lahir dan "
                f"jenis kelamin (seharusnya {expected}). Periksa keduanya di Kartu Keluarga.",
            ),
        )
    if age_on(subject.birth_date, today) < MINIMUM_RECORDING_AGE:
        raise SubjectInvalid(
            "TOO_YOUNG",
            OperatorText(
                f"Residents are recorded from age {MINIMUM_RECORDING_AGE}.",
                f"Perekaman dilakukan mulai usia {MINIMUM_RECORDING_AGE} tahun.",
            ),
        )
