"""Every degradation knob of every synthetic modality: the score falls as the knob rises.

For each knob, a sweep of 8 levels over the range where it degrades the capture, several seeds:
Spearman's rho between degradation and score is <= -0.9, the clean end passes the default
threshold and the worst end fails it. The fingerprint score predicts NFIQ 2, so its sweeps are
held to NFIQ 2 on the same images: it ranks them as NFIQ 2 does, and falls about as steadily.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy.stats import spearmanr

from quality.config import FaceConfig, FingerprintConfig, IrisConfig, SignatureConfig
from quality.face import assess_face
from quality.fingerprint import assess_fingerprint
from quality.iris import assess_iris
from quality.nfiq2 import nfiq2
from quality.signature import assess_signature
from simulator.synth.face import FaceKnobs, render_face
from simulator.synth.fingerprint import FingerKnobs, FingerSpec, quantise_4bit, render_capture
from simulator.synth.iris import IrisKnobs, IrisSpec, render_eye
from simulator.synth.signature import SignatureKnobs, make_signature, to_pen_reports

LEVELS = 8
PAD = (10000, 4000)


def finger_image(seed: int, knobs: FingerKnobs) -> np.ndarray:
    return quantise_4bit(render_capture(FingerSpec.random(seed), 0, knobs))


def fingerprint_score(seed: int, knobs: FingerKnobs) -> int:
    return assess_fingerprint(finger_image(seed, knobs)).score


def face_score(seed: int, knobs: FaceKnobs, birth_year: int = 1987) -> int:
    return assess_face(render_face(640, 480, knobs, seed=seed), birth_year).score


def iris_score(seed: int, knobs: IrisKnobs) -> int:
    return assess_iris(render_eye(IrisSpec.random(seed), knobs)[0]).score


def signature_score(seed: int, knobs: SignatureKnobs) -> int:
    return assess_signature(to_pen_reports(make_signature(seed, knobs), *PAD), *PAD).score


# name -> (scorer(seed, level), first level, last level, seeds, threshold). Levels run from
# "clean" to "worst"; each scorer turns a level into the knob setting.
Sweep = tuple[Callable[[int, float], int], float, float, tuple[int, ...], int]
FINGER_SEEDS = (11, 12, 13)
FACE_SEEDS = (0, 1)
IRIS_SEEDS = (1, 2, 3)
FP, FACE, IRIS, SIG = (
    FingerprintConfig().min_score,
    FaceConfig().min_score,
    IrisConfig().min_score,
    SignatureConfig().min_score,
)
# The fingerprint sweeps: level 0..1 -> the finger's knobs.
FINGER_SWEEPS: dict[str, Callable[[float], FingerKnobs]] = {
    "fingerprint.heavy_pressure": lambda v: FingerKnobs(pressure=v),
    "fingerprint.light_pressure": lambda v: FingerKnobs(pressure=-v),
    "fingerprint.dryness": lambda v: FingerKnobs(dryness=v),
    "fingerprint.smudge": lambda v: FingerKnobs(smudge=v),
    "fingerprint.scars": lambda v: FingerKnobs(scars=v),
    "fingerprint.wear": lambda v: FingerKnobs(wear=v),
    "fingerprint.partial": lambda v: FingerKnobs(partial=v),
}
SWEEPS: dict[str, Sweep] = {
    **{
        name: (
            lambda s, v, knobs=knobs: fingerprint_score(s, knobs(v)),
            0.0,
            1.0,
            FINGER_SEEDS,
            FP,
        )
        for name, knobs in FINGER_SWEEPS.items()
    },
    "face.blur": (lambda s, v: face_score(s, FaceKnobs(blur=v)), 0.0, 5.0, FACE_SEEDS, FACE),
    "face.darkness": (
        lambda s, v: face_score(s, FaceKnobs(darkness=v)),
        0.0,
        0.8,
        FACE_SEEDS,
        FACE,
    ),
    "face.offset_x": (
        lambda s, v: face_score(s, FaceKnobs(offset_x=v)),
        0.0,
        0.3,
        FACE_SEEDS,
        FACE,
    ),
    "face.offset_y": (
        lambda s, v: face_score(s, FaceKnobs(offset_y=v)),
        0.0,
        0.3,
        FACE_SEEDS,
        FACE,
    ),
    "face.roll": (
        lambda s, v: face_score(s, FaceKnobs(roll_degrees=v)),
        0.0,
        20.0,
        FACE_SEEDS,
        FACE,
    ),
    "face.scale_down": (
        lambda s, v: face_score(s, FaceKnobs(scale=v)),
        1.0,
        0.45,
        FACE_SEEDS,
        FACE,
    ),
    "face.scale_up": (lambda s, v: face_score(s, FaceKnobs(scale=v)), 1.8, 2.8, FACE_SEEDS, FACE),
    "face.wrong_colour_red": (
        lambda s, v: face_score(s, FaceKnobs(wrong_colour=v), 1987),
        0.0,
        1.0,
        FACE_SEEDS,
        FACE,
    ),
    "face.wrong_colour_blue": (
        lambda s, v: face_score(s, FaceKnobs(background="blue", wrong_colour=v), 1990),
        0.0,
        1.0,
        FACE_SEEDS,
        FACE,
    ),
    "face.second_face": (
        lambda s, v: face_score(s, FaceKnobs(second_face=v)),
        0.0,
        1.2,
        FACE_SEEDS,
        FACE,
    ),
    "iris.occlusion": (
        lambda s, v: iris_score(s, IrisKnobs(occlusion=v)),
        0.3,
        0.95,
        IRIS_SEEDS,
        IRIS,
    ),
    "iris.blur": (lambda s, v: iris_score(s, IrisKnobs(blur=v)), 1.0, 6.0, IRIS_SEEDS, IRIS),
    "iris.reflections": (
        lambda s, v: iris_score(s, IrisKnobs(reflections=v)),
        0.0,
        1.0,
        IRIS_SEEDS,
        IRIS,
    ),
    "iris.radius_down": (
        lambda s, v: iris_score(s, IrisKnobs(scale=v)),
        0.9,
        0.45,
        IRIS_SEEDS,
        IRIS,
    ),
    "iris.pupil_dilated": (
        lambda s, v: iris_score(s, IrisKnobs(pupil_scale=v)),
        1.3,
        1.8,
        IRIS_SEEDS,
        IRIS,
    ),
    "iris.pupil_constricted": (
        lambda s, v: iris_score(s, IrisKnobs(pupil_scale=v)),
        0.75,
        0.4,
        IRIS_SEEDS,
        IRIS,
    ),
    "signature.size": (
        lambda s, v: signature_score(s, SignatureKnobs(size=v)),
        0.5,
        0.05,
        (0, 1, 2),
        SIG,
    ),
}


# How far a fingerprint sweep's rank correlation with the degradation may fall short of NFIQ 2's
# own on the same images: the score predicts NFIQ 2 (0.95 on real prints), and over 8 images
# one or two swapped neighbours move rho by up to 0.25.
NFIQ2_SLACK = 0.25
# The fingerprint score must rank a sweep's images as NFIQ 2 does at least this well.
NFIQ2_AGREEMENT = 0.7


def nfiq2_of_sweep(name: str, seed: int, levels: np.ndarray) -> list[int]:
    knobs = FINGER_SWEEPS[name]
    return [nfiq2(finger_image(seed, knobs(float(level)))).score for level in levels]


def steadiest_required(name: str, reference: list[int] | None) -> float:
    """The rank correlation with the degradation a sweep's score must reach (at most this).

    The fingerprint score predicts NFIQ 2, and NFIQ 2 itself falls unevenly along some sweeps
    (-0.3 to -1.0 on these fingers): it must fall about as steadily as NFIQ 2 does on the same
    images (within NFIQ2_SLACK), and need not beyond -0.85."""
    if reference is None:
        return -0.9
    steadiness = float(spearmanr(np.arange(len(reference)), reference).statistic)
    return min(-0.2, max(-0.85, steadiness) + NFIQ2_SLACK)


@pytest.mark.parametrize("name", sorted(SWEEPS))
def test_score_falls_monotonically_as_degradation_rises(name: str) -> None:
    scorer, first, last, seeds, threshold = SWEEPS[name]
    levels = np.linspace(first, last, LEVELS)
    degradation = np.arange(LEVELS)
    for seed in seeds:
        scores = [scorer(seed, float(level)) for level in levels]
        rho = spearmanr(degradation, scores).statistic
        shown = [round(float(v), 3) for v in levels]
        reference = nfiq2_of_sweep(name, seed, levels) if name in FINGER_SWEEPS else None
        assert rho <= steadiest_required(name, reference), (seed, shown, scores, reference)
        if reference is not None:
            follows = spearmanr(scores, reference).statistic
            assert follows >= NFIQ2_AGREEMENT, (seed, shown, scores, reference)
        assert scores[0] >= threshold > scores[-1], (seed, scores)
