"""Fingerprint quality against NIST NFIQ 2 on real prints (``../shared/calibration``).

The live score is NIST's own NFIQ 2 forest over NFIQ 2's native measures computed fast
(``quality.nfiq2_native``); nothing in it is fitted to these prints, so every figure here is
held out. Rows (skipped with a note when the calibration set is absent; set
``REKAM_CALIBRATION`` to its folder to use another copy):

- ``quality.fingerprint_fast_vs_nfiq2_spearman``: rank correlation of the per-frame score with
  the NFIQ 2 scores NIST's binary gave (the manifest's ``nfiq2_v2_3_0``);
  ``..._spearman_heldout`` repeats it under the name the fitted models used for prints held out
  of their fit: nothing is fitted, so it is the same figure;
- ``quality.fingerprint_decision_agreement`` (and ``..._heldout``, the same): share of prints
  where the per-frame score's pass/fail at ``min_score`` agrees with NFIQ 2's at ``min_nfiq2``
  (what auto-capture predicts of the decision; the decision itself is NFIQ 2's);
- ``quality.fingerprint_false_reasons``: prints NFIQ 2 rates 45 or more that the live score
  calls too light, dry or partial;
- ``quality.fingerprint_degraded_vs_nfiq2_spearman_heldout``: the same rank correlation over
  the real prints and nine degraded copies of each (blur, motion, light and heavy pressure,
  noise, half a finger, dry, wet), the copies scored by NFIQ 2 through nbis-python, a copy
  NFIQ 2 fails to score (its minutia extractor finds no template) counting as 0;
  ``quality.fingerprint_degraded_scored_vs_nfiq2_spearman`` leaves those failures out;
- ``quality.fingerprint_native_measures_exact``: share of the 65 measures computed the way NFIQ 2
  does that equal NFIQ 2's own values (relative 1e-6) over all prints;
- ``quality.fingerprint_forest_reproduces_nfiq2``: share of prints whose NFIQ 2 score the
  shipped forest reproduces exactly from NFIQ 2's own 69 measures (it must be 1);
- ``quality.fingerprint_fast_with_nfiq2_minutiae_spearman``: the live score with NFIQ 2's own
  four minutiae measures in place of their estimates: what a perfect minutiae stand-in reaches;
- ``quality.fingerprint_minutiae_count_pearson``: the estimated minutiae count against FingerJet
  FX's count;
- ``quality.nfiq2_ms``: median milliseconds of one NFIQ 2 score (nbis-python, with minutiae).

Latent prints are left out: NFIQ 2 is defined for plain live-scan and ink prints.
"""

from __future__ import annotations

import csv
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from bench.calibration import calibration_dir
from bench.report import Row
from quality.config import FingerprintConfig
from quality.fingerprint import assess_fingerprint, live_nfiq2, within_nfiq2_limits
from quality.nfiq2 import nfiq2
from quality.nfiq2_forest import FEATURE_ORDER, forest_score
from quality.nfiq2_native import MINUTIAE_MEASURES, native_measures

OUT_OF_SCOPE_GROUPS = {"fingernet_nistsd27"}  # latent (crime-scene) prints
UNTRUE_IF_GOOD = {"FINGER_TOO_LIGHT", "FINGER_DRY", "FINGER_PARTIAL"}
NAMES = (
    "quality.fingerprint_fast_vs_nfiq2_spearman",
    "quality.fingerprint_decision_agreement",
    "quality.fingerprint_false_reasons",
    "quality.nfiq2_ms",
    "quality.fingerprint_fast_vs_nfiq2_spearman_heldout",
    "quality.fingerprint_decision_agreement_heldout",
    "quality.fingerprint_degraded_vs_nfiq2_spearman_heldout",
    "quality.fingerprint_degraded_scored_vs_nfiq2_spearman",
    "quality.fingerprint_native_measures_exact",
    "quality.fingerprint_forest_reproduces_nfiq2",
    "quality.fingerprint_fast_with_nfiq2_minutiae_spearman",
    "quality.fingerprint_minutiae_count_pearson",
)


def spearman(a: list[float], b: list[float]) -> float:
    """Spearman's rank correlation (average ranks for ties)."""
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def load_prints(folder: Path) -> list[tuple[str, np.ndarray, int]]:
    """(file, grey image, NIST's NFIQ 2 score) for every in-scope print of the manifest."""
    prints = []
    with (folder / "manifest.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["group"] in OUT_OF_SCOPE_GROUPS or not row["nfiq2_v2_3_0"].isdigit():
                continue
            image = cv2.imread(str(folder / row["file"]), cv2.IMREAD_GRAYSCALE)
            if image is not None:
                prints.append((row["file"], image, int(row["nfiq2_v2_3_0"])))
    return prints


def degraded(image: np.ndarray, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """The print as captures go wrong."""
    grey = image.astype(np.float32)
    platen = np.uint8(np.percentile(image, 97))
    yield cv2.GaussianBlur(image, (0, 0), 1.5)
    yield cv2.GaussianBlur(image, (0, 0), 3)
    yield cv2.filter2D(image, -1, np.ones((1, 9), np.float32) / 9)  # motion
    yield np.clip(255 - (255 - grey) * 0.45, 0, 255).astype(np.uint8)  # light
    yield np.clip(grey * 0.55, 0, 255).astype(np.uint8)  # heavy
    yield np.clip(grey + rng.normal(0, 25, image.shape), 0, 255).astype(np.uint8)  # noise
    half = image.copy()
    half[:, : image.shape[1] // 2] = platen
    yield half
    yield cv2.dilate(image, np.ones((3, 3), np.uint8))  # dry
    yield cv2.erode(image, np.ones((3, 3), np.uint8))  # wet


def bench_agreement() -> list[Row]:
    folder = calibration_dir() / "fingerprint"
    if not (folder / "manifest.csv").exists():
        note = f"skipped: no calibration set at {folder}"
        return [Row(name, float("nan"), "", "", note) for name in NAMES]
    config = FingerprintConfig()
    prints = load_prints(folder)
    fast, reference, agree, false_reasons, times = [], [], 0, 0, []
    for _file, image, nist in prints:
        result = assess_fingerprint(image, config)
        fast.append(result.score)
        reference.append(nist)
        agree += (result.score >= config.min_score) == (nist >= config.min_nfiq2)
        false_reasons += nist >= 45 and bool({r.code for r in result.reasons} & UNTRUE_IF_GOOD)
        started = time.perf_counter()
        nfiq2(image)
        times.append((time.perf_counter() - started) * 1000.0)
    count = f"{len(prints)} real prints, nothing fitted on them"
    rho, share = spearman(fast, reference), agree / len(prints)
    same = "the unfitted score: every print is held out"
    return [
        Row(NAMES[0], rho, "rho", ">= 0.85", count),
        Row(NAMES[1], share, "share", ">= 0.9", count),
        Row(NAMES[2], false_reasons, "prints", "<= 0", f"{len(prints)} real prints"),
        Row(NAMES[3], statistics.median(times), "ms", "", f"{len(prints)} real prints"),
        Row(NAMES[4], rho, "rho", ">= 0.85", same),
        Row(NAMES[5], share, "share", ">= 0.9", same),
        *_degraded_rows(prints),
        *_native_rows(prints),
    ]


def _degraded_rows(prints: list[tuple[str, np.ndarray, int]]) -> list[Row]:
    rng = np.random.default_rng(7)
    fast, reference, failed = [], [], []
    for _file, image, nist in prints:
        fast.append(live_nfiq2(within_nfiq2_limits(image)))
        reference.append(nist)
        failed.append(False)
        for copy in degraded(image, rng):
            result = nfiq2(copy)
            fast.append(live_nfiq2(within_nfiq2_limits(copy)))
            reference.append(result.score)
            failed.append(bool(result.error))
    scored = [(a, b) for a, b, f in zip(fast, reference, failed, strict=True) if not f]
    note = f"{len(fast)} real prints and degraded copies ({sum(failed)} NFIQ 2 cannot score: 0)"
    return [
        Row(NAMES[6], spearman(fast, reference), "rho", "", note),
        Row(
            NAMES[7],
            spearman([a for a, _ in scored], [b for _, b in scored]),
            "rho",
            "",
            f"the {len(scored)} of them NFIQ 2 scores (its extraction failures left out)",
        ),
    ]


def _native_rows(prints: list[tuple[str, np.ndarray, int]]) -> list[Row]:
    """How close each part comes to NFIQ 2: the measures, NIST's forest, the minutiae."""
    exact, total, reproduced, with_minutiae, reference = 0, 0, 0, [], []
    counts, fingerjet = [], []
    for _file, image, nist in prints:
        nist_measures = nfiq2(image).native
        fast = native_measures(image)
        for name in set(FEATURE_ORDER) - set(MINUTIAE_MEASURES):
            exact += bool(np.isclose(fast[name], nist_measures[name], rtol=1e-6, atol=1e-9))
            total += 1
        reproduced += forest_score(nist_measures) == nist
        mixed = fast | {name: nist_measures[name] for name in MINUTIAE_MEASURES}
        with_minutiae.append(forest_score(mixed))
        reference.append(nist)
        counts.append(fast["FingerJetFX_MinutiaeCount"])
        fingerjet.append(nist_measures["FingerJetFX_MinutiaeCount"])
    note = f"{len(prints)} real prints"
    return [
        Row(NAMES[8], exact / total, "share", "", f"{total} (print, measure) pairs"),
        Row(NAMES[9], reproduced / len(prints), "share", ">= 1", note),
        Row(NAMES[10], spearman(with_minutiae, reference), "rho", "", note),
        Row(NAMES[11], float(np.corrcoef(counts, fingerjet)[0, 1]), "r", "", note),
    ]


BENCHES = {"agreement_fingerprint": bench_agreement}
