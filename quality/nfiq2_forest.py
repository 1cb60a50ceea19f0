"""NIST's NFIQ 2 random forest, which maps NFIQ 2's 69 native quality measures to its score.

The forest is NIST's own ``nist_plain_tir-ink`` model (NFIQ 2 v2.3: 100 trees, trained by NIST
on plain optical and ink prints), the one nbis-python embeds and NFIQ 2 decides with. It ships
as NIST's OpenCV YAML, gzipped (``quality/models/nist_plain_tir-ink.yaml.gz``, written by
``bench/extract_nfiq2_forest.py``), is checked against the MD5 NIST publishes for it, and is
evaluated by OpenCV's random trees exactly as NFIQ 2 does (``RandomForestML::evaluate``): the
score is the number of trees, of 100, that vote for the "good" class.

Fed NFIQ 2's own native measures, it reproduces NFIQ 2's score exactly; fed the fast measures of
``quality.nfiq2_native``, it scores every preview frame with NIST's training, not ours.
"""

from __future__ import annotations

import gzip
import hashlib
from functools import cache
from pathlib import Path

import cv2
import numpy as np

MODEL_PATH = Path(__file__).with_name("models") / "nist_plain_tir-ink.yaml.gz"
# The MD5 NFIQ 2 v2.3.0 reports for its nist_plain_tir-ink model (the calibration set's README
# records it beside NIST's scores).
MODEL_MD5 = "b4a1e7586b3be906f9770e4b77768038"
FOREST_NODE = "my_random_trees"

# The forest's inputs in NIST's order (RandomForestML.cpp, rfFeatureOrder).
FEATURE_ORDER = (
    *(f"FDA_Bin10_{i}" for i in range(10)),
    "FDA_Bin10_Mean",
    "FDA_Bin10_StdDev",
    "FingerJetFX_MinCount_COMMinRect200x200",
    "FingerJetFX_MinutiaeCount",
    "FJFXPos_Mu_MinutiaeQuality_2",
    "FJFXPos_OCL_MinutiaeQuality_80",
    "ImgProcROIArea_Mean",
    *(f"LCS_Bin10_{i}" for i in range(10)),
    "LCS_Bin10_Mean",
    "LCS_Bin10_StdDev",
    "MMB",
    "Mu",
    *(f"OCL_Bin10_{i}" for i in range(10)),
    "OCL_Bin10_Mean",
    "OCL_Bin10_StdDev",
    *(f"OF_Bin10_{i}" for i in range(10)),
    "OF_Bin10_Mean",
    "OF_Bin10_StdDev",
    "OrientationMap_ROIFilter_CoherenceRel",
    "OrientationMap_ROIFilter_CoherenceSum",
    *(f"RVUP_Bin10_{i}" for i in range(10)),
    "RVUP_Bin10_Mean",
    "RVUP_Bin10_StdDev",
)


class ForestError(RuntimeError):
    """The shipped forest is missing or is not NIST's."""


@cache
def nist_forest(path: Path = MODEL_PATH) -> cv2.ml.RTrees:
    """NIST's forest, read once and checked against NIST's MD5."""
    try:
        text = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as exc:
        raise ForestError(f"cannot read the NFIQ 2 forest {path}: {exc}") from exc
    if hashlib.md5(text).hexdigest() != MODEL_MD5:
        raise ForestError(f"{path} is not NIST's nist_plain_tir-ink model (MD5 differs)")
    flags = cv2.FILE_STORAGE_READ | cv2.FILE_STORAGE_MEMORY
    storage = cv2.FileStorage(text.decode("ascii"), flags)
    forest = cv2.ml.RTrees_create()
    forest.read(storage.getNode(FOREST_NODE))
    if forest.getVarCount() != len(FEATURE_ORDER):
        raise ForestError(f"the NFIQ 2 forest takes {forest.getVarCount()} measures, not 69")
    return forest


def forest_score(measures: dict[str, float]) -> int:
    """NFIQ 2's score (0..100) of a print with these native measures."""
    sample = np.array([[measures[name] for name in FEATURE_ORDER]], dtype=np.float32)
    _, votes = nist_forest().predict(sample, flags=cv2.ml.STAT_MODEL_RAW_OUTPUT)
    return int(float(votes[0, 0]) + 0.5)
