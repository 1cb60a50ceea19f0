"""Which check judges a preview frame and which the kept capture."""

from __future__ import annotations

from datetime import date

from capture.assess import assessor_lookup, finaliser_lookup
from capture.subject import Subject
from domain.vocabulary import Category, Modality, Position, Sex
from quality.config import QualityConfig
from simulator.synth.face import render_group_standing_back

SUBJECT = Subject("3171011506870001", "Siti", date(1987, 6, 15), Sex.FEMALE, Category.REGULAR)


def test_the_kept_face_photo_counts_the_people_standing_back_and_the_preview_does_not() -> None:
    config = QualityConfig()
    frame = render_group_standing_back()
    live = assessor_lookup(config)(Position.FACE.value, SUBJECT)(frame)
    assert [r.code for r in live.reasons] == ["NO_FACE"]
    finalise = finaliser_lookup(config)(Modality.FACE, SUBJECT)
    kept = finalise(frame, live, config.face.min_score)
    codes = [r.code for r in kept.reasons]
    assert "MULTIPLE_FACES" in codes and "NO_FACE" not in codes
    assert kept.measures["faces"] >= 2


def test_prints_are_judged_by_nfiq2_and_signatures_by_their_live_check() -> None:
    lookup = finaliser_lookup(QualityConfig())
    assert lookup(Modality.FINGERPRINT, SUBJECT) is not None
    assert lookup(Modality.SIGNATURE, SUBJECT) is None
    assert lookup(Modality.IRIS, SUBJECT) is None
