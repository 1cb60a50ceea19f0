"""Face quality against a landmark reference on real photos (``../shared/calibration/face``).

The reference is ``bench/data/face_reference.csv``, made once by ``bench/face_reference.py`` with
dlib's frontal face detector and its 68-point landmark model (both from PyPI packages): for each
photo the number of people, the eye centres of the largest face, and whether that face is a
*clear frontal* one by a rule fixed from the landmarks alone (see that module). Nothing in the
face check was fitted to these photos; every photo is assessed as it is, at its own size.

Rows: ``quality.face_eyes_found`` (share of clear frontal faces whose eyes are found),
``quality.face_inter_eye_error`` (median error of the inter-eye distance against the reference),
``quality.face_inter_eye_within_10pct``, ``quality.face_groups_counted`` (group photos read as
MULTIPLE_FACES), ``quality.face_groups_no_face``, ``quality.face_singles_as_multiple`` and
``quality.face_no_face_ms`` (the cost of a frame with nobody in it). Skipped with a note when
the photos are absent (they are not part of the project).
"""

from __future__ import annotations

import csv
import math
import statistics
import sys
from pathlib import Path

import cv2

from bench.calibration import calibration_dir
from bench.report import Row

REFERENCE = Path(__file__).resolve().parent / "data" / "face_reference.csv"


def _reference() -> list[dict[str, str]]:
    with REFERENCE.open() as handle:
        return list(csv.DictReader(handle))


def face_agreement() -> list[Row]:
    from quality.face import assess_face

    photos = calibration_dir() / "face"
    if not (photos / "manifest.csv").is_file():
        print(f"face agreement skipped: no photos at {photos}", file=sys.stderr)
        return []
    clear = found = 0
    errors: list[float] = []
    groups = counted = no_face = singles = singles_multiple = 0
    for row in _reference():
        image = cv2.imread(str(photos / row["file"]), cv2.IMREAD_COLOR)
        if image is None:
            print(f"face agreement: cannot read {row['file']}", file=sys.stderr)
            continue
        result = assess_face(image, None)
        codes = {r.code for r in result.reasons}
        if int(row["faces"]) >= 2:
            groups += 1
            counted += "MULTIPLE_FACES" in codes
            no_face += "NO_FACE" in codes
        elif int(row["faces"]) == 1:
            singles += 1
            singles_multiple += "MULTIPLE_FACES" in codes
        if row["clear_frontal"] != "1":
            continue
        clear += 1
        if result.measures.get("eyes_found"):
            found += 1
            reference = float(row["inter_eye_px"])
            errors.append(abs(result.measures["inter_eye_px"] - reference) / reference)
    if not clear:
        return []
    within = sum(e <= 0.10 for e in errors)
    return [
        Row(
            "quality.face_eyes_found",
            100.0 * found / clear,
            "%",
            ">= 95",
            f"{found} of {clear} clear frontal faces (dlib 68-landmark reference)",
        ),
        Row(
            "quality.face_inter_eye_error",
            100.0 * statistics.median(errors) if errors else math.inf,
            "%",
            "<= 10",
            f"median |found - reference| / reference over {len(errors)} faces",
        ),
        Row(
            "quality.face_inter_eye_within_10pct",
            100.0 * within / max(len(errors), 1),
            "%",
            "",
            f"{within} of {len(errors)} faces within 10% of the reference",
        ),
        Row(
            "quality.face_groups_counted",
            100.0 * counted / max(groups, 1),
            "%",
            "",
            f"{counted} of {groups} group photos read as MULTIPLE_FACES",
        ),
        Row(
            "quality.face_groups_no_face",
            float(no_face),
            "photos",
            "<= 0",
            f"group photos read as NO_FACE, of {groups}",
        ),
        Row(
            "quality.face_singles_as_multiple",
            float(singles_multiple),
            "photos",
            "<= 0",
            f"one-person photos read as MULTIPLE_FACES, of {singles}",
        ),
        Row(
            "quality.face_no_face_ms",
            _no_face_ms(search_small_faces=False),
            "ms",
            "<= 20",
            "median per 640x480 preview frame with nobody in it (two scenes, noise), one core",
        ),
        Row(
            "quality.face_no_face_kept_ms",
            _no_face_ms(search_small_faces=True),
            "ms",
            "",
            "the same frames judged as a kept photo (the finer search for small faces, once)",
        ),
    ]


def _no_face_ms(search_small_faces: bool) -> float:
    """The cost of a frame with no face, with or without the finer search for small faces."""
    import numpy as np
    from skimage import data

    from bench.quality import median_ms, one_core
    from quality.face import assess_face

    scenes = [
        cv2.resize(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), (640, 480))
        for image in (data.coffee(), data.chelsea())
    ]
    scenes.append(np.random.default_rng(0).integers(40, 216, (480, 640, 3), dtype=np.uint8))
    with one_core():
        return median_ms(
            lambda image: assess_face(image, 1987, search_small_faces=search_small_faces), scenes
        )


BENCHES = {"agreement_face": face_agreement}
