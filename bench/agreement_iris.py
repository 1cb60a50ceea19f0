"""Iris quality on real NIR eyes: segmentation plausibility, pass rate and blur rejection.

Runs on ``../shared/calibration/iris`` (or ``$REKAM_CALIBRATION/iris``), the eyes listed in
its ``manifest.csv``, when present; otherwise returns one skipped row with a note. The real
eyes have no ground-truth circles, so
"plausible geometry" is what ISO/IEC 29794-6 and the image allow: an eye found, a pupil/iris
radius ratio within the standard's range (0.2..0.7), the iris centre inside the image, an iris
radius no larger than half the image's shorter side and a pupil/iris centre offset of at most
0.2 iris radius. The images are good-quality captures, so most should pass; every one blurred
with a Gaussian of sigma 3 pixels should be refused.

Fitting used subjects S1001..S1009 only; the rows marked "held-out" are subjects S1011..S1019
and the other NIR eyes, never looked at while fitting.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import cv2
import numpy as np

from bench.calibration import calibration_dir
from bench.report import Row

CALIBRATION = calibration_dir() / "iris"
FITTED_SUBJECTS = {"S1001", "S1003", "S1005", "S1007", "S1009"}
BLUR_SIGMA = 3.0


def _eyes(root: Path) -> list[tuple[str, np.ndarray, bool]]:
    """(file, grey image, fitted?) for every eye in the manifest."""
    eyes = []
    with (root / "manifest.csv").open(newline="") as handle:
        for entry in csv.DictReader(handle):
            image = cv2.imread(str(root / entry["file"]), cv2.IMREAD_GRAYSCALE)
            if image is None:
                continue
            name = Path(entry["file"]).stem
            eyes.append((entry["file"], image, name[:5] in FITTED_SUBJECTS))
    return eyes


def plausible(measures: dict[str, float], shape: tuple[int, ...]) -> bool:
    """The circles obey ISO/IEC 29794-6's pupil/iris ratio range and fit the image."""
    if "iris_radius" not in measures or "pupil_radius" not in measures:
        return False
    height, width = shape[:2]
    ir, pr = measures["iris_radius"], measures["pupil_radius"]
    ix, iy = measures["iris_x"], measures["iris_y"]
    offset = math.hypot(measures["pupil_x"] - ix, measures["pupil_y"] - iy)
    return (
        0.2 <= pr / ir <= 0.7
        and 0 <= ix < width
        and 0 <= iy < height
        and ir <= 0.5 * min(height, width)
        and offset <= 0.2 * ir
    )


def evaluate(root: Path = CALIBRATION) -> dict[str, dict[str, float]]:
    """Per subset ("all", "fitted", "held-out"): the four rates and the eye count."""
    from quality.iris import assess_iris

    totals: dict[str, dict[str, float]] = {}
    for _file, image, fitted in _eyes(root):
        result = assess_iris(image)
        codes = [r.code for r in result.reasons]
        blurred = cv2.GaussianBlur(image, (0, 0), BLUR_SIGMA)
        blurred_result = assess_iris(blurred)
        outcome = {
            "eyes": 1.0,
            "plausible": float(plausible(result.measures, image.shape)),
            "not_found": float("EYE_NOT_FOUND" in codes),
            "passed": float(result.score >= 50 and not codes),
            "blur_rejected": float(blurred_result.score < 50 or bool(blurred_result.reasons)),
        }
        for subset in ("all", "fitted" if fitted else "held-out"):
            bucket = totals.setdefault(subset, dict.fromkeys(outcome, 0.0))
            for key, value in outcome.items():
                bucket[key] += value
    return {
        subset: {
            key: (value if key == "eyes" else value / bucket["eyes"])
            for key, value in bucket.items()
        }
        for subset, bucket in totals.items()
    }


def agreement_iris() -> list[Row]:
    """quality.iris_* agreement rows on the real NIR eyes (all and held-out)."""
    if not (CALIBRATION / "manifest.csv").exists():
        return [
            Row(
                "quality.iris_agreement_eyes",
                0.0,
                "eyes",
                "",
                f"skipped: {CALIBRATION} absent (set REKAM_CALIBRATION)",
            )
        ]
    from quality.config import IrisConfig

    min_score = IrisConfig().min_score
    figures = evaluate()
    rows = []
    for subset, suffix in (("all", ""), ("held-out", "_heldout")):
        f = figures.get(subset)
        if not f:
            continue
        eyes = f"{int(f['eyes'])} real NIR eyes ({subset})"
        rows += [
            Row(
                f"quality.iris_plausible_geometry{suffix}",
                f["plausible"],
                "fraction",
                ">= 0.95",
                f"{eyes}: ISO 29794-6 pupil/iris ratio, iris inside image",
            ),
            Row(
                f"quality.iris_not_found_rate{suffix}",
                f["not_found"],
                "fraction",
                "<= 0.03",
                f"{eyes}: EYE_NOT_FOUND",
            ),
            Row(
                f"quality.iris_pass_rate_real{suffix}",
                f["passed"],
                "fraction",
                ">= 0.75",
                f"{eyes}: score >= {min_score}, no reason",
            ),
            Row(
                f"quality.iris_blur_rejected{suffix}",
                f["blur_rejected"],
                "fraction",
                ">= 0.9",
                f"{eyes} blurred with Gaussian sigma {BLUR_SIGMA:g} px: refused",
            ),
        ]
    return rows


BENCHES = {"agreement_iris": agreement_iris}
