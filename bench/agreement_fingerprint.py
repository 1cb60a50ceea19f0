"""Fingerprint quality against NIST NFIQ 2 on real prints (``../shared/calibration``).

Rows (skipped with a note when the calibration set is absent; set ``REKAM_CALIBRATION`` to
its folder to use another copy):

- ``quality.fingerprint_fast_vs_nfiq2_spearman``: rank correlation of the per-frame score with
  the NFIQ 2 scores NIST's binary gave (the manifest's ``nfiq2_v2_3_0``). The shipped model was
  fitted on these prints, so this is its fit; the ``_heldout`` rows below are the expectation
  on prints it has not seen;
- ``quality.fingerprint_decision_agreement``: share of prints where the per-frame score's
  pass/fail at ``min_score`` agrees with NFIQ 2's at ``min_nfiq2`` (what auto-capture
  predicts of the decision; the decision itself is NFIQ 2's);
- ``quality.fingerprint_false_reasons``: prints NFIQ 2 rates 45 or more that the live score
  calls too light, dry or partial;
- ``quality.fingerprint_fast_vs_nfiq2_spearman_heldout``, ``..._decision_agreement_heldout``
  and ``quality.fingerprint_degraded_vs_nfiq2_spearman_heldout``: the model refitted with each
  print (and its degraded copies) held out (``bench.train_fingerprint_live.cross_validate``;
  needs scikit-learn, a development dependency), on the original prints and on the real prints
  with their degraded copies;
- ``quality.fingerprint_nfiq2_native_refit_spearman_heldout``: the same held-out fit on NFIQ 2's
  own native quality measures (its random forest's exact inputs), the ceiling of any score
  fitted on these prints alone;
- ``quality.nfiq2_ms``: median milliseconds of one NFIQ 2 score (nbis-python, with minutiae).

Latent prints are left out: NFIQ 2 is defined for plain live-scan and ink prints.
"""

from __future__ import annotations

import csv
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from bench.calibration import calibration_dir
from bench.report import Row
from quality.config import FingerprintConfig
from quality.fingerprint import assess_fingerprint
from quality.nfiq2 import nfiq2

OUT_OF_SCOPE_GROUPS = {"fingernet_nistsd27"}  # latent (crime-scene) prints
UNTRUE_IF_GOOD = {"FINGER_TOO_LIGHT", "FINGER_DRY", "FINGER_PARTIAL"}


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


def bench_agreement() -> list[Row]:
    folder = calibration_dir() / "fingerprint"
    names = (
        "quality.fingerprint_fast_vs_nfiq2_spearman",
        "quality.fingerprint_decision_agreement",
        "quality.fingerprint_false_reasons",
        "quality.nfiq2_ms",
        "quality.fingerprint_fast_vs_nfiq2_spearman_heldout",
        "quality.fingerprint_decision_agreement_heldout",
        "quality.fingerprint_degraded_vs_nfiq2_spearman_heldout",
        "quality.fingerprint_nfiq2_native_refit_spearman_heldout",
    )
    if not (folder / "manifest.csv").exists():
        note = f"skipped: no calibration set at {folder}"
        return [Row(name, float("nan"), "", "", note) for name in names]
    config = FingerprintConfig()
    prints = load_prints(folder)
    fast, reference, agree, false_reasons, times = [], [], 0, 0, []
    for _file, image, nist in prints:
        result = assess_fingerprint(image, config)
        live = result.score
        fast.append(live)
        reference.append(nist)
        agree += (live >= config.min_score) == (nist >= config.min_nfiq2)
        false_reasons += nist >= 45 and bool({r.code for r in result.reasons} & UNTRUE_IF_GOOD)
        started = time.perf_counter()
        nfiq2(image)
        times.append((time.perf_counter() - started) * 1000.0)
    count = f"{len(prints)} real prints"
    rows = [
        Row(names[0], spearman(fast, reference), "rho", ">= 0.85", count + ", fitted on them"),
        Row(names[1], agree / len(prints), "share", ">= 0.9", count + ", fitted on them"),
        Row(names[2], false_reasons, "prints", "<= 0", count),
        Row(names[3], statistics.median(times), "ms", "", count),
    ]
    return rows + _held_out(names[4:])


def _held_out(names: tuple[str, ...]) -> list[Row]:
    try:
        from bench.train_fingerprint_live import (
            cross_validate,
            examples,
            native_measures_ceiling,
        )
    except ImportError as exc:  # scikit-learn is a development dependency
        return [Row(name, float("nan"), "", "", f"skipped: {exc}") for name in names]
    config = FingerprintConfig()
    figures = cross_validate(examples(calibration_dir()), config.min_score, config.min_nfiq2)
    note = f"{figures['original_prints']} prints, each held out of the fit"
    degraded = f"{figures['examples']} examples, each print's family held out"
    return [
        Row(names[0], figures["original_prints_spearman"], "rho", ">= 0.85", note),
        Row(names[1], figures["original_prints_decision_agreement"], "share", ">= 0.9", note),
        Row(names[2], figures["real_and_degraded_spearman"], "rho", "", degraded),
        Row(
            names[3],
            native_measures_ceiling(calibration_dir()),
            "rho",
            "",
            "the same trees on NFIQ 2's own 69 native measures: the ceiling of a fit on these",
        ),
    ]


BENCHES = {"agreement_fingerprint": bench_agreement}
