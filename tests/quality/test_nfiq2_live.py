"""The live score's parts checked against NIST's NFIQ 2 itself (nbis-python reproduces NIST's
binary): its forest, its native measures, and the score on NIST's and real prints."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.agreement_fingerprint import load_prints, spearman
from bench.calibration import calibration_dir
from bench.extract_nfiq2_forest import embedded_model, library
from quality.config import FingerprintConfig
from quality.fingerprint import assess_fingerprint, within_nfiq2_limits
from quality.nfiq2 import nfiq2
from quality.nfiq2_forest import (
    FEATURE_ORDER,
    FOREST_NODE,
    MODEL_MD5,
    MODEL_PATH,
    ForestError,
    forest_score,
    nist_forest,
)
from quality.nfiq2_native import MINUTIAE_MEASURES, native_measures
from simulator.synth.fingerprint import FingerKnobs, FingerSpec, quantise_4bit, render_capture

FIXTURES = Path(__file__).parent / "fixtures" / "nist"
# Measured the way NFIQ 2 measures them; the ROI's three are taken at a quarter resolution.
ROI_MEASURES = {
    "ImgProcROIArea_Mean",
    "OrientationMap_ROIFilter_CoherenceRel",
    "OrientationMap_ROIFilter_CoherenceSum",
}


def _prints() -> dict[str, np.ndarray]:
    found = {
        path.name: cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        for path in sorted(FIXTURES.glob("*.png"))
    }
    found["simulated"] = quantise_4bit(render_capture(FingerSpec.random(11), 0))
    found["simulated_dry"] = render_capture(FingerSpec.random(12), 1, FingerKnobs(dryness=0.6))
    return found


PRINTS = _prints()


@pytest.mark.parametrize("name", sorted(PRINTS))
def test_nists_forest_gives_nfiq2s_score_from_nfiq2s_own_measures(name: str) -> None:
    result = nfiq2(PRINTS[name])
    assert result.error == ""
    assert forest_score(result.native) == result.score


@pytest.mark.parametrize("name", sorted(PRINTS))
def test_the_fast_measures_are_nfiq2s(name: str) -> None:
    reference = nfiq2(PRINTS[name]).native
    fast = native_measures(PRINTS[name])
    assert set(fast) == set(reference)
    for measure in set(reference) - set(MINUTIAE_MEASURES) - ROI_MEASURES:
        assert fast[measure] == pytest.approx(reference[measure], rel=1e-6, abs=1e-9), measure
    for measure in ROI_MEASURES:
        assert fast[measure] == pytest.approx(reference[measure], rel=0.03), measure


def test_the_shipped_forest_is_the_one_nfiq2_decides_with() -> None:
    shipped = gzip.decompress(MODEL_PATH.read_bytes())
    assert hashlib.md5(shipped).hexdigest() == MODEL_MD5
    assert embedded_model(library().read_bytes()) == shipped


def _opencv_forest() -> cv2.ml.RTrees:
    """NIST's YAML read by OpenCV's random trees, as NFIQ 2 reads and evaluates it."""
    text = gzip.decompress(MODEL_PATH.read_bytes()).decode("ascii")
    storage = cv2.FileStorage(text, cv2.FILE_STORAGE_READ | cv2.FILE_STORAGE_MEMORY)
    forest = cv2.ml.RTrees_create()
    forest.read(storage.getNode(FOREST_NODE))
    return forest


def test_the_flat_forest_votes_as_opencvs_random_trees() -> None:
    """Samples placed on, just above and just below the forest's own thresholds (and a few
    missing measures), where a misread split or a wrong child would change the vote."""
    reference, flat = _opencv_forest(), nist_forest()
    assert reference.getVarCount() == len(FEATURE_ORDER)
    thresholds = [flat.threshold[flat.feature == measure] for measure in range(69)]
    thresholds = [t if len(t) else np.zeros(1, np.float32) for t in thresholds]
    rng = np.random.default_rng(2026)
    votes = []
    for index in range(900):
        sample = np.array([rng.choice(t) for t in thresholds], dtype=np.float32)
        if index % 3:
            sample = np.nextafter(sample, np.float32(np.inf if index % 3 == 1 else -np.inf))
        if index % 50 == 0:
            sample[rng.integers(0, 69, 5)] = np.nan
        _, expected = reference.predict(sample[None], flags=cv2.ml.STAT_MODEL_RAW_OUTPUT)
        votes.append(flat.good_votes(sample))
        assert votes[-1] == int(float(expected[0, 0]) + 0.5), index
    assert len(set(votes)) >= 20  # the samples reach many different leaves


def test_a_forest_that_is_not_nists_is_refused(tmp_path: Path) -> None:
    text = gzip.decompress(MODEL_PATH.read_bytes())
    altered = text.replace(b"var:41, quality:3.", b"var:40, quality:3.", 1)
    assert altered != text
    (tmp_path / "altered.yaml.gz").write_bytes(gzip.compress(altered))
    (tmp_path / "truncated.yaml.gz").write_bytes(MODEL_PATH.read_bytes()[:5000])
    with pytest.raises(ForestError, match="MD5"):
        nist_forest(tmp_path / "altered.yaml.gz")
    with pytest.raises(ForestError, match="cannot read"):
        nist_forest(tmp_path / "truncated.yaml.gz")


def test_frames_beyond_nfiq2s_limits_are_centre_cropped_to_them() -> None:
    frame = np.arange(1200 * 900, dtype=np.uint32).reshape(1200, 900).astype(np.uint8)
    cropped = within_nfiq2_limits(frame)
    assert cropped.shape == (1000, 800)
    assert np.array_equal(cropped, frame[100:1100, 50:850])
    small = frame[:288, :256]
    assert np.array_equal(within_nfiq2_limits(small), small)


def test_the_live_score_agrees_with_nists_nfiq2_on_real_prints() -> None:
    folder = calibration_dir() / "fingerprint"
    if not (folder / "manifest.csv").exists():
        pytest.skip("no calibration set")
    config = FingerprintConfig()
    prints = load_prints(folder)
    live = [assess_fingerprint(image).score for _file, image, _nist in prints]
    nist = [score for _file, _image, score in prints]
    pairs = zip(live, nist, strict=True)
    agree = np.mean([(a >= config.min_score) == (b >= config.min_nfiq2) for a, b in pairs])
    assert len(prints) >= 90
    assert spearman(live, nist) >= 0.85
    assert agree >= 0.9
