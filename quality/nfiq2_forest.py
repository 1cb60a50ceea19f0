"""NIST's NFIQ 2 random forest, which maps NFIQ 2's 69 native quality measures to its score.

The forest is NIST's own ``nist_plain_tir-ink`` model (NFIQ 2 v2.3: 100 trees, trained by NIST
on plain optical and ink prints), the one nbis-python embeds and NFIQ 2 decides with. It ships
as NIST's OpenCV YAML, gzipped (``quality/models/nist_plain_tir-ink.yaml.gz``, written by
``bench/extract_nfiq2_forest.py``), and is checked against the MD5 NIST publishes for it.

It is read into flat arrays, one entry per node (138,428 nodes, about 2 MB), and evaluated in
numpy: a tree's split sends a sample left when the measure is <= the split's threshold, compared
in float32, as OpenCV's random trees (``DTreesImpl::predictTrees``) do for NFIQ 2. OpenCV's own
reading of the 20 MB YAML left about 30 MB of the daemon's memory behind; this reading takes a
quarter of a second and leaves about 3 MB. The tests hold the two evaluations equal.

The score is the number of trees, of 100, whose leaf votes for the "good" class
(``RandomForestML::evaluate``). Fed NFIQ 2's own native measures, it reproduces NFIQ 2's score;
fed the fast measures of ``quality.nfiq2_native``, it scores every preview frame with NIST's
training, not ours.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

MODEL_PATH = Path(__file__).with_name("models") / "nist_plain_tir-ink.yaml.gz"
# The MD5 NFIQ 2 v2.3.0 reports for its nist_plain_tir-ink model (the calibration set's README
# records it beside NIST's scores).
MODEL_MD5 = "b4a1e7586b3be906f9770e4b77768038"
FOREST_NODE = "my_random_trees"
TREES = 100
LEAF = -1

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

# One node of OpenCV's DTrees YAML (``DTreesImpl::writeTree``): its depth, its class value and,
# unless it is a leaf, its one split "var <= le goes left". Nodes come depth first, left first.
_NODE = re.compile(
    rb"depth:\s*(\d+)\s+value:\s*(\S+)\s+norm_class_idx:\s*\d+"
    rb"(?:\s+splits:\s+-\s*\{\s*var:\s*(\d+),\s*quality:\s*[^,]+,\s*le:\s*([^\s}]+)\s*\})?"
)


class ForestError(RuntimeError):
    """The shipped forest is missing or is not NIST's."""


@dataclass(frozen=True)
class Forest:
    """A classification forest as flat arrays, one entry per node.

    ``feature[n]`` is the measure node ``n`` splits on (``LEAF`` at a leaf); a sample goes to
    ``left[n]`` when that measure is <= ``threshold[n]`` (compared in float32, as OpenCV does),
    otherwise to ``right[n]``. ``vote[n]`` is a leaf's class (1 = good). ``roots`` are the
    trees' first nodes."""

    feature: np.ndarray  # int8
    threshold: np.ndarray  # float32
    left: np.ndarray  # int32
    right: np.ndarray  # int32
    vote: np.ndarray  # uint8
    roots: np.ndarray  # int32

    def good_votes(self, sample: np.ndarray) -> int:
        """How many trees' leaves vote "good" for one sample of the 69 measures."""
        values = np.asarray(sample, dtype=np.float32)
        at = self.roots.copy()
        while True:
            feature = self.feature[at]
            inner = feature != LEAF
            if not inner.any():
                return int(self.vote[at].sum())
            split = at[inner]
            goes_left = values[feature[inner]] <= self.threshold[split]
            at[inner] = np.where(goes_left, self.left[split], self.right[split])


def forest_from_yaml(text: bytes) -> Forest:
    """NIST's YAML (checked against NIST's MD5) as flat arrays."""
    if hashlib.md5(text).hexdigest() != MODEL_MD5:
        raise ForestError("the forest is not NIST's nist_plain_tir-ink model (MD5 differs)")
    trees_at = text.index(b"trees:", text.index(b"ntrees:") + 7)
    feature, threshold, vote, depth = [], [], [], []
    for match in _NODE.finditer(text, trees_at):
        depth.append(int(match[1]))
        vote.append(round(float(match[2])))
        feature.append(LEAF if match[3] is None else int(match[3]))
        threshold.append(0.0 if match[4] is None else float(match[4]))
    left = np.full(len(depth), LEAF, dtype=np.int32)
    right = np.full(len(depth), LEAF, dtype=np.int32)
    roots: list[int] = []
    open_splits: list[int] = []  # inner nodes still waiting for their right child
    for index, level in enumerate(depth):
        if level == 0:
            if open_splits:
                raise ForestError(f"tree {len(roots)} ends with a split left open")
            roots.append(index)
        else:
            parent = open_splits[-1] if open_splits else None
            if parent is None or depth[parent] != level - 1:
                raise ForestError(f"node {index} at depth {level} has no parent")
            if left[parent] == LEAF:
                left[parent] = index
            else:
                right[parent] = index
                open_splits.pop()
        if feature[index] != LEAF:
            open_splits.append(index)
    if open_splits or len(roots) != TREES:
        raise ForestError(f"{len(roots)} trees read, with {len(open_splits)} splits left open")
    return Forest(
        feature=np.array(feature, dtype=np.int8),
        threshold=np.array(threshold, dtype=np.float32),
        left=left,
        right=right,
        vote=np.array(vote, dtype=np.uint8),
        roots=np.array(roots, dtype=np.int32),
    )


@cache
def nist_forest(path: Path = MODEL_PATH) -> Forest:
    """NIST's forest, read once from its gzipped YAML and checked against NIST's MD5."""
    try:
        text = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as exc:
        raise ForestError(f"cannot read the NFIQ 2 forest {path}: {exc}") from exc
    return forest_from_yaml(text)


def forest_score(measures: dict[str, float]) -> int:
    """NFIQ 2's score (0..100) of a print with these native measures."""
    return nist_forest().good_votes(np.array([measures[name] for name in FEATURE_ORDER]))
