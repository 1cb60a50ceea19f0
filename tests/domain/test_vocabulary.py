"""The domain vocabulary, the category policies and their mapping onto the station.v1 API."""

from __future__ import annotations

from datetime import date

import pytest

from domain.categories import POLICIES, report_categories
from domain.messages import catalogue, languages
from domain.vocabulary import (
    ALL_POSITIONS,
    EXCEPTION_KINDS,
    FINGERS,
    Category,
    ExceptionKind,
    Modality,
    Position,
    Sex,
    nik_birth_date_part,
    positions_of,
)
from station import convert
from station.report import CATEGORY_ROWS, MonthlyReport, row_name
from station.v1 import common_pb2, enrollment_pb2


def test_every_position_maps_to_the_api_and_back():
    assert set(convert.POSITION_TO_PB) == set(Position)
    for position in Position:
        number = convert.POSITION_TO_PB[position]
        assert common_pb2.Position.Name(number) == f"POSITION_{position.name}"
        assert convert.POSITION_FROM_PB[number] is position
    # Fingers carry their ANSI/NIST-ITL code as their API number too.
    assert [convert.POSITION_TO_PB[f] for f in FINGERS] == [f.finger_code for f in FINGERS]


def test_every_api_enum_value_has_a_domain_meaning():
    """A value added to the .proto without a domain counterpart fails here."""
    for name in common_pb2.Position.keys()[1:]:
        assert convert.POSITION_FROM_PB[common_pb2.Position.Value(name)].name == name[9:]
    for name in common_pb2.ResidentCategory.keys()[1:]:
        assert Category[name.removeprefix("RESIDENT_CATEGORY_")] in convert.CATEGORY_TO_PB
    for name in common_pb2.Sex.keys()[1:]:
        assert Sex[name.removeprefix("SEX_")] in convert.SEX_TO_PB
    for name in enrollment_pb2.ExceptionKind.keys()[1:]:
        kind = ExceptionKind[name.removeprefix("EXCEPTION_KIND_")]
        assert convert.EXCEPTION_FROM_PB[enrollment_pb2.ExceptionKind.Value(name)] is kind
    for name in common_pb2.Modality.keys()[1:]:
        assert Modality[name.removeprefix("MODALITY_")] in convert.MODALITY_TO_PB


def test_operator_exception_kinds_fit_their_modality():
    markable = set().union(*EXCEPTION_KINDS.values())
    assert set(convert.EXCEPTION_TO_PB) == markable
    assert ExceptionKind.NOT_REQUIRED not in markable  # only a category policy skips
    assert EXCEPTION_KINDS[Modality.FACE] == frozenset()


def test_positions_and_modalities():
    assert ALL_POSITIONS[0] is Position.FACE and ALL_POSITIONS[-1] is Position.SIGNATURE
    assert positions_of(Modality.IRIS) == (Position.RIGHT_EYE, Position.LEFT_EYE)
    assert len(positions_of(Modality.FINGERPRINT)) == 10
    assert {p.modality for p in Position} == set(Modality)


def test_nik_birth_date_part_adds_40_for_women():
    assert nik_birth_date_part(date(1990, 3, 12), Sex.MALE) == "120390"
    assert nik_birth_date_part(date(1990, 3, 12), Sex.FEMALE) == "520390"


@pytest.mark.parametrize("category", list(Category))
def test_every_category_has_one_complete_policy(category):
    policy = POLICIES[category]
    assert policy.category is category
    assert policy.positions and policy.positions[0] is Position.FACE
    assert not set(policy.positions) & set(policy.skipped_positions)
    assert set(policy.positions) | set(policy.skipped_positions) == set(Position)
    assert policy.attempts >= 1
    assert category in convert.CATEGORY_TO_PB
    assert category.value in CATEGORY_ROWS
    for language in languages():
        assert category.message_code in catalogue().sentences[language]
        assert row_name(category.value, language)


def test_report_rows_follow_the_policy_table_and_keep_unknown_categories():
    assert tuple(p.category.value for p in report_categories()) == CATEGORY_ROWS
    report = MonthlyReport(2026, 11)
    report.add("elderly", "recorded")
    report.add("a-category-from-a-newer-kit", "recorded")
    rows = dict(report.rows())
    assert rows["elderly"]["recorded"] == 1
    assert rows["unknown"]["recorded"] == 1
    assert rows["total"]["recorded"] == 2
    assert "Lansia" in report.to_table("id") and "Unknown" in report.to_table("en")


def test_mental_disorder_skips_irises_only():
    policy = POLICIES[Category.MENTAL_DISORDER]
    assert policy.skipped == {Modality.IRIS}
    assert policy.skipped_positions == (Position.RIGHT_EYE, Position.LEFT_EYE)
