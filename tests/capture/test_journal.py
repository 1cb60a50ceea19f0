"""The encrypted journal of enrollments in progress."""

from __future__ import annotations

import os
from datetime import date

import numpy as np

from capture.enrollment import Enrollment, ExceptionMark, Sample
from capture.journal import EnrollmentJournal, load_or_create_key
from capture.subject import Subject
from domain.categories import policy_for
from domain.vocabulary import Category
from drivers.base import PenPoint, SignatureTrace
from quality.base import QualityResult, Reason
from quality.reasons import reason


def enrollment_with_samples() -> Enrollment:
    subject = Subject("3174051203900001", "Siti", date(1990, 3, 12), "male", Category.ELDERLY)
    enrollment = Enrollment(subject=subject, plan=policy_for(Category.ELDERLY), operator="ani")
    rng = np.random.default_rng(1)
    enrollment.samples["face"] = Sample(
        "face",
        QualityResult("face", 91, {"sharpness": np.float32(0.5)}),
        50,
        "cam",
        image=rng.integers(0, 255, (48, 64, 3), dtype=np.uint8),
        approved=True,
    )
    enrollment.candidates["right_thumb"] = Sample(
        "right_thumb",
        QualityResult("fingerprint", 31, {}, [Reason("WORN", (("score", 31),))]),
        40,
        "fp",
        image=rng.integers(0, 255, (288, 256), dtype=np.uint8),
        attempts=2,
    )
    enrollment.samples["signature"] = Sample(
        "signature",
        QualityResult("signature", 80),
        50,
        "pad",
        trace=SignatureTrace([PenPoint(0, 10, 20, 300, True)], 15360, 9600, 1023),
    )
    enrollment.exceptions["right_index"] = ExceptionMark(
        "right_index", "amputated", "since 2019", "sup-budi", b"\xff\xd8proof"
    )
    enrollment.attempts = {"right_thumb": 2}
    return enrollment


def test_round_trip_restores_everything(tmp_path):
    key = load_or_create_key(tmp_path / "keys" / "journal.key")
    assert oct(os.stat(tmp_path / "keys" / "journal.key").st_mode & 0o777) == "0o600"
    journal = EnrollmentJournal(tmp_path / "journal", key)
    original = enrollment_with_samples()
    journal.save(original)
    journal.save(original)  # saving again writes no new sample files
    [restored] = EnrollmentJournal(tmp_path / "journal", key).load_all()
    assert restored.enrollment_id == original.enrollment_id
    assert restored.subject == original.subject
    assert np.array_equal(restored.samples["face"].image, original.samples["face"].image)
    assert restored.samples["face"].approved
    thumb = restored.candidates["right_thumb"]
    assert np.array_equal(thumb.image, original.candidates["right_thumb"].image)
    assert thumb.quality.reasons[0].code == "WORN" and thumb.attempts == 2
    assert restored.samples["signature"].trace.points[0].pressure == 300
    assert restored.exceptions["right_index"].proof_photo == b"\xff\xd8proof"
    assert restored.attempts == {"right_thumb": 2}
    assert restored.missing() == original.missing()


def test_a_reason_keeps_its_parameters_and_its_sentence(tmp_path):
    key = load_or_create_key(tmp_path / "journal.key")
    journal = EnrollmentJournal(tmp_path / "journal", key)
    enrollment = enrollment_with_samples()
    backdrop = reason("WRONG_BACKGROUND_COLOUR", birth_year=1987, expected="red")
    enrollment.samples["face"].quality.reasons.append(backdrop)
    journal.save(enrollment)
    [restored] = EnrollmentJournal(tmp_path / "journal", key).load_all()
    [kept] = restored.samples["face"].quality.reasons
    assert kept == backdrop
    assert kept.message.render("id") == (
        "Warna latar belakang salah untuk tahun lahir 1987: gunakan merah."
    )


def test_files_are_encrypted_and_removed_when_done(tmp_path):
    key = load_or_create_key(tmp_path / "journal.key")
    journal = EnrollmentJournal(tmp_path / "journal", key)
    enrollment = enrollment_with_samples()
    journal.save(enrollment)
    folder = tmp_path / "journal" / enrollment.enrollment_id
    for path in folder.iterdir():
        content = path.read_bytes()
        assert b"\x89PNG" not in content and b"Siti" not in content and b"proof" not in content
    journal.remove(enrollment.enrollment_id)
    assert not folder.exists()


def test_wrong_key_or_damaged_file_is_set_aside_not_fatal(tmp_path):
    journal = EnrollmentJournal(tmp_path / "journal", load_or_create_key(tmp_path / "a.key"))
    enrollment = enrollment_with_samples()
    journal.save(enrollment)
    other = EnrollmentJournal(tmp_path / "journal", load_or_create_key(tmp_path / "b.key"))
    assert other.load_all() == []
    state = tmp_path / "journal" / enrollment.enrollment_id / "state.bin"
    data = bytearray(state.read_bytes())
    data[-1] ^= 0x01
    state.write_bytes(bytes(data))
    assert journal.load_all() == []
