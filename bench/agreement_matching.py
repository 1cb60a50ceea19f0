"""Minutiae matching (MINDTCT + Bozorth3) on real prints (``../shared/calibration/fingerprint``).

Pairs come from the sets whose files are named ``<finger>_<impression>``: two impressions of
one finger are a genuine pair, two fingers of the same set an impostor pair (pairs across sets
are left out: several sets are cut from the same FVC databases and could hold one finger
twice). FVC2002 DB1_B is the fitting part, every other set the held-out part. The threshold
is NIST's (40, configuration); the bench also fits the lowest threshold with no false match on
the fitting part and reports it on the held-out part, to show how far NIST's sits from it.
"""

from __future__ import annotations

import itertools
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from bench.calibration import calibration_dir
from bench.report import Row
from quality.matching import BOZORTH3_THRESHOLD, FingerTemplate, bozorth3, extract

NAMED_SETS = ("fvc2002_db1b", "fvc2002_db1b_b", "fingerprint_recognition", "afis")
FIT_SETS = ("fvc2002_db1b",)


def _finger(stem: str) -> str:
    return stem.rsplit("_", 1)[0]


def _pairs(folder: Path) -> dict[str, tuple[list[int], list[int]]]:
    """Per set: (genuine scores, impostor scores)."""
    out: dict[str, tuple[list[int], list[int]]] = {}
    for name in NAMED_SETS:
        files = sorted((folder / name).glob("*.png"))
        templates: dict[str, FingerTemplate] = {}
        for path in files:
            image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if image is not None and "_" in path.stem:
                templates[path.stem] = extract(image)
        genuine: list[int] = []
        impostor: list[int] = []
        for a, b in itertools.combinations(sorted(templates), 2):
            score = bozorth3(templates[a], templates[b])
            (genuine if _finger(a) == _finger(b) else impostor).append(score)
        out[name] = (genuine, impostor)
    return out


def _rates(genuine: list[int], impostor: list[int], threshold: float) -> tuple[float, float]:
    fnmr = float(np.mean(np.array(genuine) < threshold)) if genuine else float("nan")
    fmr = float(np.mean(np.array(impostor) >= threshold)) if impostor else float("nan")
    return fnmr, fmr


def _spread(scores: list[int]) -> str:
    if not scores:
        return "none"
    p = np.percentile(scores, [0, 10, 50, 90, 100])
    return "min/p10/median/p90/max " + "/".join(f"{v:.0f}" for v in p)


def _timing(folder: Path) -> tuple[float, float]:
    """Median ms per MINDTCT extraction and per Bozorth3 comparison (FVC2002 DB1_B prints)."""
    images = [
        cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        for p in sorted((folder / "fvc2002_db1b").glob("*.png"))[:12]
    ]
    extract_ms, templates = [], []
    for image in images:
        start = time.perf_counter()
        templates.append(extract(image))
        extract_ms.append((time.perf_counter() - start) * 1000)
    compare_ms = []
    for a, b in itertools.combinations(templates, 2):
        bozorth3(a, b)  # first call loads both templates
        start = time.perf_counter()
        bozorth3(a, b)
        compare_ms.append((time.perf_counter() - start) * 1000)
    return statistics.median(extract_ms), statistics.median(compare_ms)


def matching_agreement() -> list[Row]:
    folder = calibration_dir() / "fingerprint"
    if not folder.is_dir():
        print(f"matching agreement skipped: no prints at {folder}", file=sys.stderr)
        return [
            Row("quality.bozorth3_fnmr", float("nan"), "ratio", "", f"skipped: no {folder}"),
            Row("quality.bozorth3_fmr", float("nan"), "ratio", "", f"skipped: no {folder}"),
            Row("quality.bozorth3_ms", float("nan"), "ms", "", f"skipped: no {folder}"),
        ]
    by_set = _pairs(folder)
    fit_g = [s for n in FIT_SETS for s in by_set[n][0]]
    fit_i = [s for n in FIT_SETS for s in by_set[n][1]]
    held_g = [s for n in by_set if n not in FIT_SETS for s in by_set[n][0]]
    held_i = [s for n in by_set if n not in FIT_SETS for s in by_set[n][1]]
    for name, (g, i) in by_set.items():
        part = "fit" if name in FIT_SETS else "held-out"
        print(
            f"{name} ({part}): genuine n={len(g)} {_spread(g)}; impostor n={len(i)} {_spread(i)}",
            file=sys.stderr,
        )
    threshold = BOZORTH3_THRESHOLD
    fit_fnmr, fit_fmr = _rates(fit_g, fit_i, threshold)
    held_fnmr, held_fmr = _rates(held_g, held_i, threshold)
    fitted = max(fit_i, default=0) + 1  # lowest threshold with no false match on the fit part
    fitted_fnmr, fitted_fmr = _rates(held_g, held_i, fitted)
    extract_ms, compare_ms = _timing(folder)
    held_note = f"held out: {len(held_g)} genuine, {len(held_i)} impostor pairs"
    fit_note = f"fit part (FVC2002 DB1_B): {len(fit_g)} genuine, {len(fit_i)} impostor pairs"
    return [
        Row(
            "quality.bozorth3_fnmr",
            held_fnmr,
            "ratio",
            "",
            f"at NIST's {threshold}; {held_note}; genuine {_spread(held_g)}",
        ),
        Row(
            "quality.bozorth3_fmr",
            held_fmr,
            "ratio",
            "",
            f"at NIST's {threshold}; {held_note}; impostor {_spread(held_i)}",
        ),
        Row("quality.bozorth3_fnmr_fit", fit_fnmr, "ratio", "", f"at {threshold}; {fit_note}"),
        Row("quality.bozorth3_fmr_fit", fit_fmr, "ratio", "", f"at {threshold}; {fit_note}"),
        Row(
            "quality.bozorth3_fitted_threshold",
            fitted,
            "score",
            "",
            f"lowest with no false match on the fit part; held out FNMR {fitted_fnmr:.3f}, "
            f"FMR {fitted_fmr:.4f}",
        ),
        Row(
            "quality.bozorth3_ms",
            compare_ms,
            "ms",
            "",
            f"median per comparison; MINDTCT extraction {extract_ms:.0f} ms per print",
        ),
    ]


BENCHES = {"agreement_matching": matching_agreement}
