"""Which check judges a preview frame and which the kept capture."""

from __future__ import annotations

from datetime import date

import cv2
import numpy as np

from capture.assess import assessor_lookup, finaliser_lookup
from capture.subject import Subject
from domain.vocabulary import Category, Modality, Position, Sex
from quality.config import QualityConfig
from simulator.synth.face import FaceKnobs, render_face

SUBJECT = Subject("3171011506870001", "Siti", date(1987, 6, 15), Sex.FEMALE, Category.REGULAR)


def _group_standing_back() -> np.ndarray:
    """Three people well back from the camera, each head under a tenth of the frame."""
    frame = np.empty((480, 640, 3), np.uint8)
    frame[:] = (38, 32, 196)
    for i in range(3):
        person = cv2.resize(
            render_face(640, 480, FaceKnobs(), seed=i), (200, 150), interpolation=cv2.INTER_AREA
        )
        frame[170:320, 15 + 210 * i : 215 + 210 * i] = person
    return frame


def test_the_kept_face_photo_counts_the_people_standing_back_and_the_preview_does_not() -> None:
    config = QualityConfig()
    frame = _group_standing_back()
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
