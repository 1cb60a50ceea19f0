"""Personas: deterministic, distinct, with demographics that follow the NIK rules."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from domain.vocabulary import Sex
from quality.iris import assess_iris
from simulator.personas import KINDS, make_nik, make_persona
from simulator.resident import SimulatedResident

ON = date(2025, 3, 1)


def test_nik_encodes_region_birth_date_and_sex() -> None:
    assert make_nik("317101", date(1987, 5, 9), Sex.MALE, 12) == "3171010905870012"
    assert make_nik("317101", date(1987, 5, 9), Sex.FEMALE, 12) == "3171014905870012"


@pytest.mark.parametrize("kind", KINDS)
def test_persona_demographics(kind: str) -> None:
    persona = make_persona(kind, 3, on=ON)
    resident: SimulatedResident = persona  # structural: the Protocol's four methods exist
    for method in ("fingerprint", "face_frame", "iris_frame", "signature"):
        assert callable(getattr(resident, method))
    assert len(persona.nik) == 16 and persona.nik.isdigit()
    day = int(persona.nik[6:8]) - (40 if persona.sex is Sex.FEMALE else 0)
    assert day == persona.birth_date.day
    assert persona.nik[8:12] == persona.birth_date.strftime("%m%y")
    assert len(persona.name.split()) == 2
    assert persona.category in {"regular", "elderly", "disabled", "student", "mental_disorder"}


def test_student_is_sixteen_and_elderly_is_old() -> None:
    assert make_persona("student", 1, on=ON).age_on(ON) == 16
    assert make_persona("elderly", 1, on=ON).age_on(ON) >= 70


def test_same_seed_same_person_other_seed_other_person() -> None:
    a, b, c = (make_persona("adult", s, on=ON) for s in (5, 5, 6))
    assert (a.nik, a.name) == (b.nik, b.name)
    assert np.array_equal(a.fingerprint(2, 1), b.fingerprint(2, 1))
    assert np.array_equal(a.iris_frame(1280, 480, 0), b.iris_frame(1280, 480, 0))
    assert a.signature() == b.signature()
    assert a.nik != c.nik
    assert not np.array_equal(a.fingerprint(2, 0), c.fingerprint(2, 0))
    assert not np.array_equal(a.iris_frame(1280, 480, 0), c.iris_frame(1280, 480, 0))


def test_amputee_has_no_right_index_or_middle() -> None:
    persona = make_persona("amputee", 2, on=ON)
    assert persona.fingerprint(2, 0) is None and persona.fingerprint(3, 0) is None
    assert persona.fingerprint(7, 0).shape == (288, 256)
    with pytest.raises(ValueError):
        persona.fingerprint(11, 0)


@pytest.mark.parametrize("kind", ["blind", "mental_disorder"])
def test_no_usable_iris_for_blind_and_mentally_ill(kind: str) -> None:
    frame = make_persona(kind, 4, on=ON).iris_frame(1280, 480, 0)
    for half in (frame[:, :640], frame[:, 640:]):
        assert assess_iris(half).score == 0


def test_frames_are_cached_copies_with_the_requested_size() -> None:
    persona = make_persona("adult", 8, on=ON)
    first = persona.face_frame(640, 480, 0)
    first[:] = 0  # the caller owns its copy
    again = persona.face_frame(640, 480, 0)
    assert again.shape == (480, 640, 3) and again.any()
    assert np.array_equal(again, persona.face_frame(640, 480, 4))
    assert persona.iris_frame(640, 240, 1).shape == (240, 640)


def test_face_backdrop_matches_birth_year() -> None:
    for seed in range(4):
        persona = make_persona("adult", seed, on=ON)
        corner = persona.face_frame(640, 480, 0)[5:30, 5:30].reshape(-1, 3).mean(axis=0)
        is_red = corner[2] > corner[0]
        assert is_red == bool(persona.birth_year % 2)


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError):
        make_persona("alien", 1)
