"""NFIQ 2 judges the kept fingerprint: NIST's scores on NIST prints, the decision, the reasons."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.calibration import calibration_dir
from quality.config import FingerprintConfig
from quality.fingerprint import assess_fingerprint
from quality.nfiq2 import CBEFF_ALGORITHM, CBEFF_VENDOR, final_fingerprint_quality, nfiq2
from simulator.personas import make_persona
from simulator.synth.fingerprint import quantise_4bit

FIXTURES = Path(__file__).parent / "fixtures" / "nist"
CALIBRATION = calibration_dir() / "fingerprint"
# NIST's NFIQ 2 v2.3.0 binary on these prints (fixtures/nist/SOURCES.md).
NIST_SCORES = {"t14_fgp4_3.png": 48, "t14_fgp2_1.png": 30, "t4_fgp10_0.png": 12}
THRESHOLD = FingerprintConfig().min_nfiq2


def load(name: str) -> np.ndarray:
    image = cv2.imread(str(FIXTURES / name), cv2.IMREAD_GRAYSCALE)
    assert image is not None, name
    return image


@pytest.mark.parametrize("name", sorted(NIST_SCORES))
def test_nfiq2_reproduces_nists_scores_on_nist_prints(name):
    result = nfiq2(load(name))
    assert result.error == ""
    assert result.score == NIST_SCORES[name]
    assert result.feedback["FingerprintImageWithMinutiae"] >= 5


def test_the_decision_follows_nfiq2_not_the_live_score():
    good, poor = load("t14_fgp4_3.png"), load("t14_fgp2_1.png")
    kept = final_fingerprint_quality(good, assess_fingerprint(good), THRESHOLD)
    refused = final_fingerprint_quality(poor, assess_fingerprint(poor), THRESHOLD)
    assert kept.score == 48 and kept.passes(THRESHOLD) and kept.reasons == []
    assert refused.score == 30 and not refused.passes(THRESHOLD)
    assert refused.reasons, "a refused print says why"
    for result in (kept, refused):
        assert result.measures["nfiq2"] == result.score
        assert "live_score" in result.measures and "orientation_certainty" in result.measures
        assert result.measures["nfiq2_minutiae"] >= 5


def test_a_print_nfiq2_cannot_score_is_refused_with_a_reason():
    blank = np.full((300, 300), 250, np.uint8)
    live = assess_fingerprint(blank)
    result = final_fingerprint_quality(blank, live, THRESHOLD)
    assert result.score == 0 and not result.passes(THRESHOLD)
    assert result.measures["nfiq2_failed"] == 1.0
    assert [r.code for r in result.reasons] == ["NO_FINGER"]


def test_nfiq2_identifiers_are_nists():
    # usnistgov/NFIQ2 nfiq2_cbeff.cpp: vendor ISO/IEC JTC 1/SC 37, NFIQ 2.3 = NFIQ2Rev3.
    assert (CBEFF_VENDOR, CBEFF_ALGORITHM) == (0x0101, 0x39)


def test_synthetic_clean_prints_pass_and_worn_prints_do_not():
    adult, elderly = make_persona("adult", 21), make_persona("elderly", 21)
    clean = [nfiq2(quantise_4bit(adult.fingerprint(p, 1))).score for p in (1, 2, 6, 7)]
    worn = [nfiq2(quantise_4bit(elderly.fingerprint(p, a))).score for p in (1, 6) for a in (1, 2)]
    assert min(clean) >= THRESHOLD, clean
    assert max(worn) < THRESHOLD, worn


@pytest.mark.skipif(not (CALIBRATION / "manifest.csv").exists(), reason="no calibration set")
def test_nfiq2_matches_nist_on_the_calibration_prints():
    with (CALIBRATION / "manifest.csv").open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["nfiq2_v2_3_0"].isdigit()][::8]
    for row in rows:
        image = cv2.imread(str(CALIBRATION / row["file"]), cv2.IMREAD_GRAYSCALE)
        assert nfiq2(image).score == int(row["nfiq2_v2_3_0"]), row["file"]
