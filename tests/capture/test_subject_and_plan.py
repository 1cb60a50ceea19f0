from datetime import date

import pytest

from capture.subject import Subject, SubjectInvalid, validate_subject
from domain.categories import NOT_PRINT_ELIGIBLE_FLAG, policy_for
from domain.vocabulary import (
    EYES,
    FINGERS,
    Category,
    Modality,
    Position,
    Sex,
    age_on,
    finger_at,
    nik_birth_date_part,
    position,
)

TODAY = date(2026, 11, 23)


def make(**overrides) -> Subject:
    fields = dict(
        nik="3174051203900001",
        name="Siti",
        birth_date=date(1990, 3, 12),
        sex="male",
        category=Category.REGULAR,
    )
    fields.update(overrides)
    return Subject(**fields)


def test_valid_subject_passes():
    validate_subject(make(), TODAY)


def test_female_nik_day_has_forty_added():
    assert nik_birth_date_part(date(1990, 3, 12), Sex.FEMALE) == "520390"
    validate_subject(make(nik="3174055203900001", sex="female"), TODAY)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"nik": "12345"}, "NIK_INVALID"),
        ({"nik": "317405120390000x"}, "NIK_INVALID"),
        ({"nik": "３１７４０５１２０３９０００１"}, "NIK_INVALID"),  # full-width digits
        ({"nik": "0000001203900001"}, "NIK_INVALID"),
        ({"nik": "3174051303900001"}, "NIK_BIRTH_DATE_MISMATCH"),
        ({"name": "  "}, "NAME_MISSING"),
        ({"sex": ""}, "SEX_MISSING"),
        ({"birth_date": date(2027, 1, 1), "nik": "3174050101270001"}, "BIRTH_DATE_INVALID"),
        ({"birth_date": date(2011, 1, 1), "nik": "3174050101110001"}, "TOO_YOUNG"),
    ],
)
def test_invalid_subjects_are_refused_with_a_reason(overrides, reason):
    with pytest.raises(SubjectInvalid) as caught:
        validate_subject(make(**overrides), TODAY)
    assert caught.value.reason == reason
    assert caught.value.message.render("en") and caught.value.message.render("id")


def test_student_under_17_is_flagged_not_print_eligible():
    sixteen = date(2010, 1, 5)
    assert age_on(sixteen, TODAY) == 16
    assert policy_for(Category.STUDENT).record_flags(sixteen, TODAY) == [NOT_PRINT_ELIGIBLE_FLAG]
    assert policy_for(Category.STUDENT).record_flags(date(2009, 1, 5), TODAY) == []


def test_mental_disorder_plan_skips_iris_and_others_take_everything():
    assert not set(EYES) & set(policy_for(Category.MENTAL_DISORDER).positions)
    for category in Category:
        positions = policy_for(category).positions
        assert positions[0] == "face"
        assert set(FINGERS) <= set(positions)
        assert positions[-1] == "signature"


def test_only_relaxed_categories_relax_fingerprints():
    assert Modality.FINGERPRINT in policy_for(Category.ELDERLY).relaxed
    assert not policy_for(Category.REGULAR).relaxed
    assert not policy_for(Category.STUDENT).relaxed


def test_positions():
    assert Position.RIGHT_THUMB.finger_code == 1 and Position.LEFT_LITTLE.finger_code == 10
    assert [finger_at(code) for code in range(1, 11)] == list(FINGERS)
    assert position("left_eye").modality is Modality.IRIS
    with pytest.raises(ValueError):
        position("nose")
    with pytest.raises(ValueError):
        _ = Position.FACE.finger_code
    with pytest.raises(ValueError):
        finger_at(11)
