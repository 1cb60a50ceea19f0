"""Make ``bench/data/face_reference.csv``: the landmark reference for ``bench.agreement_face``.

Not part of the product and not run by the bench: it needs dlib and its 68-point landmark model,
which ship on PyPI (``dlib-bin==20.0.1.post1``, ``face-recognition-models==0.3.0``), installed in a
separate environment::

    python -m venv /tmp/ref && /tmp/ref/bin/pip install dlib-bin==20.0.1.post1 \
        face-recognition-models==0.3.0 opencv-python-headless numpy
    /tmp/ref/bin/python bench/face_reference.py ../shared/calibration \
        > bench/data/face_reference.csv

For each photo: the faces dlib's frontal detector finds (image upsampled once), and for the
largest one the eye centres (mean of landmarks 36-41 and 42-47), the inter-eye distance and the
measures that decide whether it is a *clear frontal* face. The rule is fixed from the reference
alone, before the product's detector is run, and is the usual one for frontal-portrait sets:

- the frontal detector found it and all 68 landmarks lie inside the frame;
- yaw: the nose tip (landmark 30) is within 0.15 inter-eye distances of the eyes' midpoint;
- roll within 15 degrees; inter-eye distance at least 40 px (ICAO asks for 60 at capture);
- both eyes open: eye aspect ratio (EAR, Soukupova & Cech 2016) at least 0.2.

``faces`` counts detections whose width is at least a quarter of the largest one (people in the
photo, not faces in a poster behind them).
"""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

import cv2
import dlib
import face_recognition_models
import numpy as np


def _ear(points: np.ndarray) -> float:
    vertical = np.linalg.norm(points[1] - points[5]) + np.linalg.norm(points[2] - points[4])
    return float(vertical / (2.0 * np.linalg.norm(points[0] - points[3])))


def main(root: Path) -> None:
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(
        [
            "file",
            "faces",
            "left_x",
            "left_y",
            "right_x",
            "right_y",
            "inter_eye_px",
            "yaw_ratio",
            "roll_degrees",
            "ear_min",
            "inside",
            "clear_frontal",
        ]
    )
    manifest = root / "face" / "manifest.csv"
    with manifest.open() as handle:
        files = [row["file"] for row in csv.DictReader(handle)]
    for name in files:
        image = cv2.imread(str(root / "face" / name), cv2.IMREAD_COLOR)
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        boxes = list(detector(rgb, 1))
        if not boxes:
            writer.writerow([name, 0, *[""] * 9, 0])
            continue
        widest = max(b.width() for b in boxes)
        faces = sum(1 for b in boxes if b.width() >= 0.25 * widest)
        box = max(boxes, key=lambda b: b.width())
        shape = predictor(rgb, box)
        pts = np.array([(p.x, p.y) for p in shape.parts()], dtype=float)
        left, right = pts[36:42].mean(axis=0), pts[42:48].mean(axis=0)
        inter_eye = float(np.linalg.norm(right - left))
        middle = (left + right) / 2
        yaw = float((pts[30][0] - middle[0]) / inter_eye)
        roll = math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))
        ear = min(_ear(pts[36:42]), _ear(pts[42:48]))
        h, w = image.shape[:2]
        inside = bool(
            (pts[:, 0] >= 0).all()
            and (pts[:, 0] < w).all()
            and (pts[:, 1] >= 0).all()
            and (pts[:, 1] < h).all()
        )
        clear = inside and abs(yaw) <= 0.15 and abs(roll) <= 15 and inter_eye >= 40 and ear >= 0.2
        writer.writerow(
            [
                name,
                faces,
                f"{left[0]:.1f}",
                f"{left[1]:.1f}",
                f"{right[0]:.1f}",
                f"{right[1]:.1f}",
                f"{inter_eye:.1f}",
                f"{yaw:.3f}",
                f"{roll:.1f}",
                f"{ear:.3f}",
                int(inside),
                int(clear),
            ]
        )


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/calibration"))
