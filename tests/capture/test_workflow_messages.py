"""The workflow's refusals and advice as catalogue messages, in both languages, with position,
category and exception-kind names worded by the catalogue."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from capture.enrollment import EnrollmentStore
from capture.errors import WorkflowError
from capture.subject import Subject
from capture.workflow import EnrollmentWorkflow, retry_advice
from domain.vocabulary import Category
from quality.base import QualityResult
from quality.reasons import reason

TODAY = date(2026, 11, 23)


def _unused(*_: object) -> None:
    raise AssertionError("no device or quality engine is needed here")


def start(category: Category) -> tuple[EnrollmentWorkflow, str]:
    workflow = EnrollmentWorkflow(EnrollmentStore(), _unused, _unused, today=lambda: TODAY)
    subject = Subject("3174051203900001", "Siti", date(1990, 3, 12), "male", category)
    return workflow, workflow.start(subject, "op-ani").enrollment_id


def refusal(action) -> WorkflowError:
    with pytest.raises(WorkflowError) as caught:
        action()
    return caught.value


def test_a_position_outside_the_plan_names_the_position_and_the_category():
    workflow, enrollment_id = start(Category.MENTAL_DISORDER)
    error = refusal(lambda: next(workflow.capture(enrollment_id, "right_eye", threading.Event())))
    assert error.reason == "POSITION_NOT_IN_PLAN"
    assert error.message.render("en") == (
        "The right eye is not recorded for a resident of category mental disorder."
    )
    assert error.message.render("id") == "Untuk penduduk kategori ODGJ, mata kanan tidak direkam."


def test_a_wrong_exception_kind_lists_the_allowed_kinds():
    workflow, enrollment_id = start(Category.REGULAR)
    error = refusal(
        lambda: workflow.mark_exception(enrollment_id, "left_eye", "amputated", "", "sup", b"")
    )
    assert error.reason == "EXCEPTION_KIND_INVALID"
    assert error.message.render("en") == (
        "'amputated' is not an exception for the left eye; allowed: blind, eye absent, unusable."
    )
    assert error.message.render("id") == (
        "'diamputasi' bukan pengecualian untuk mata kiri; "
        "yang boleh: tunanetra, mata tidak ada, tidak dapat direkam."
    )


def test_an_incomplete_record_lists_what_is_missing():
    workflow, enrollment_id = start(Category.MENTAL_DISORDER)
    error = refusal(lambda: workflow.ready_to_seal(enrollment_id))
    assert error.reason == "MODALITY_MISSING"
    assert error.metadata["missing"].startswith("face,right_thumb,")
    english, indonesian = error.message.render("en"), error.message.render("id")
    assert english.startswith("The record is not complete. Missing: face photo, right thumb, ")
    assert english.endswith(", left little finger, signature.")
    assert indonesian.startswith("Rekaman belum lengkap. Belum ada: foto wajah, ibu jari kanan, ")
    assert indonesian.endswith(", jari kelingking kiri, tanda tangan.")


def test_retry_advice_joins_score_first_reason_and_next_step():
    quality = QualityResult("fingerprint", 31, reasons=[reason("FINGER_DRY")])
    advice = retry_advice(quality, attempts_left=2)
    assert advice.codes() == ("SCORE_BELOW_THRESHOLD", "QUALITY_FINGER_DRY", "TRY_AGAIN")
    assert advice.render("en") == (
        "Quality 31 is below the threshold. The ridges are broken (dry skin): breathe on or "
        "moisten the finger and try again. Try again (2 attempts left)."
    )
    assert retry_advice(quality, attempts_left=0).render("id") == (
        "Mutu 31 di bawah ambang. Guratan terputus (kulit kering): lembapkan jari lalu coba lagi. "
        "Simpan hasil terbaik (dengan alasan) atau tandai pengecualian."
    )
