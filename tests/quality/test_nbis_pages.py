"""NFIQ 2's embedded model leaves the process's memory once decoded, and NBIS still works.

Each check runs in a fresh interpreter, where no extractor has been made yet: nbis-python's
library is mapped, an extractor made straight from nbis (which reads the embedded model), the
library's resident pages measured from /proc/self/smaps, the pages released, and NFIQ 2 and
MINDTCT + Bozorth3 run again on NIST's example prints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHILD = r"""
import glob, json
import cv2, nbis
from quality import nbis_engine
from quality.matching import bozorth3, extract
from quality.nfiq2 import nfiq2

def resident_kb():
    path = nbis_engine.library_path()
    return sum(int(m["Rss"].split()[0]) for m in nbis_engine.mappings(path) if "Rss" in m)

prints = [cv2.imread(p, cv2.IMREAD_GRAYSCALE) for p in sorted(glob.glob(%r))]
settings = nbis.NbisExtractorSettings(
    min_quality=0.0, get_center=False, check_fingerprint=False, compute_nfiq2=True, ppi=None
)
raw = nbis.new_nbis_extractor(settings)
before_kb = resident_kb()
scores_before = [int(raw.extract_minutiae(cv2.imencode(".png", p)[1].tobytes()).quality().score)
                 for p in prints]
released = nbis_engine.release_embedded_model()
after_kb = resident_kb()
scores_after = [nfiq2(p).score for p in prints]  # makes the station's own extractors
templates = [extract(p) for p in prints]
print(json.dumps({
    "before_kb": before_kb, "released": released, "after_kb": after_kb,
    "end_kb": resident_kb(), "scores_before": scores_before, "scores_after": scores_after,
    "self_match": bozorth3(templates[0], templates[0]),
    "cross_match": bozorth3(templates[0], templates[1]),
}))
"""


def test_the_embedded_model_pages_are_released_and_nbis_still_scores() -> None:
    fixtures = str(Path(__file__).parent / "fixtures" / "nist" / "*.png")
    out = subprocess.run(
        [sys.executable, "-c", CHILD % fixtures],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["before_kb"] > 20_000  # the base64 model was read in: the pages are resident
    assert found["released"] > 20_000 * 1024
    assert found["after_kb"] < found["before_kb"] - 20_000
    assert found["end_kb"] < found["before_kb"] - 20_000  # the station's extractors release too
    assert found["scores_after"] == found["scores_before"]
    assert found["self_match"] > 100 and found["cross_match"] < 40
