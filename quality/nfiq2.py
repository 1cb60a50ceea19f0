"""NIST NFIQ 2 (ISO/IEC 29794-4:2024 unified quality score) for the kept fingerprint capture.

NFIQ 2 is computed by ``nbis-python`` (NBIS + NFIQ 2 v2.3.0 with NIST's ``nist_plain_tir-ink``
model; it reproduces NIST's own binary). It takes 70-300 ms per print, so it judges the capture
a live loop ends with, once; the per-frame score (``quality.fingerprint``) drives the preview
and auto-capture.

:func:`final_fingerprint_quality` turns the live result of the kept frame into the decision's
result: ``score`` is the NFIQ 2 score, the live measures stay and gain ``nfiq2``, ``live_score``
and NFIQ 2's actionable feedback; reasons come from that feedback (and, for a print below the
threshold, from the live measures that explain it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from quality.base import QualityResult, Reason
from quality.config import FingerprintConfig
from quality.nbis_engine import NBIS_LOCK, extractor
from quality.reasons import reason

# CBEFF quality algorithm identifiers of NFIQ 2, as NIST's reference implementation declares
# them (usnistgov/NFIQ2, NFIQ2/NFIQ2Algorithm/src/nfiq2/nfiq2_cbeff.cpp,
# NFIQ2::Identifiers::CBEFF): the quality algorithm vendor is the CBEFF biometric organisation
# 0x0101 (ISO/IEC JTC 1/SC 37, registered with IBIA), and NFIQ 2.3 ("NFIQ2Rev3") is algorithm
# 0x39. NFIQ 2.0, 2.1 and 2.2 are 0x21, 0x37 and 0x38.
CBEFF_VENDOR = 0x0101
CBEFF_ALGORITHM = 0x39  # NFIQ 2.3, the version nbis-python 0.1.9 embeds

# NFIQ 2's actionable feedback and the thresholds NIST ships with it (nfiq2_constants.hpp,
# NFIQ2::ActionableQualityFeedbackThreshold).
UNIFORM_IMAGE = "UniformImage"  # grey-level standard deviation; below 1.0: a uniform image
EMPTY_IMAGE = "EmptyImageOrContrastTooLow"  # mean grey; above 250.0: empty or too faint
MINUTIAE = "FingerprintImageWithMinutiae"  # minutiae found; below 5: no usable fingerprint
USABLE_MINUTIAE = 5.0
FOREGROUND = "SufficientFingerprintForeground"  # foreground pixels; below 50000: too little
FEEDBACK_MEASURES = {
    UNIFORM_IMAGE: "nfiq2_grey_std",
    EMPTY_IMAGE: "nfiq2_grey_mean",
    MINUTIAE: "nfiq2_minutiae",
    FOREGROUND: "nfiq2_foreground_px",
}


@dataclass(frozen=True)
class Nfiq2:
    """An NFIQ 2 result: the unified score 0..100, the actionable feedback and the native
    quality measures (the random forest's inputs), by NIST's names.

    ``error`` is set (and ``score`` 0) when NFIQ 2 could not score the image at all."""

    score: int
    feedback: dict[str, float] = field(default_factory=dict)
    error: str = ""
    native: dict[str, float] = field(default_factory=dict)


def _get_extractor():
    """MINDTCT with NFIQ 2 (ppi left to NBIS: 500, NFIQ 2's only resolution)."""
    return extractor(compute_nfiq2=True, ppi=None)


def nfiq2(image: np.ndarray) -> Nfiq2:
    """NFIQ 2 of a uint8 grey 500 ppi fingerprint image."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 2:
        raise ValueError("NFIQ 2 needs a 2-D uint8 grey image")
    ok, png = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise ValueError("could not encode the fingerprint for NFIQ 2")
    with NBIS_LOCK:
        extractor = _get_extractor()
        try:
            result = extractor.extract_minutiae(png.tobytes()).quality()
        except Exception as exc:  # nbis raises its own NbisError variants
            return Nfiq2(0, error=f"{type(exc).__name__}: {exc}")
    feedback = {item.name: float(item.value) for item in result.actionable}
    native = {item.name: float(item.value) for item in result.features}
    return Nfiq2(int(result.score), feedback, native=native)


def feedback_reasons(result: Nfiq2, passes: bool) -> list[Reason]:
    """The operator reasons NFIQ 2's actionable feedback supports.

    An empty or uniform image is no finger; fewer than five minutiae are ridges NFIQ 2 cannot
    read. Too little foreground is given only for a print that fails: NIST's 50000-pixel mark
    is more than a small sensor's whole platen holds, so on its own it says nothing."""
    found: list[Reason] = []
    fb = result.feedback
    if fb.get(UNIFORM_IMAGE, 100.0) < 1.0 or fb.get(EMPTY_IMAGE, 0.0) > 250.0:
        found.append(reason("NO_FINGER"))
        return found
    if not passes and fb.get(FOREGROUND, 1e9) < 50000.0:
        found.append(reason("FINGER_PARTIAL"))
    if fb.get(MINUTIAE, 100.0) < USABLE_MINUTIAE:
        found.append(reason("FINGER_UNCLEAR_RIDGES"))
    return found


def final_fingerprint_quality(
    image: np.ndarray,
    live: QualityResult,
    threshold: int,
    config: FingerprintConfig | None = None,
) -> QualityResult:
    """The kept capture's result: NFIQ 2 as the score, judged against ``threshold``."""
    del config  # the NFIQ 2 thresholds are NIST's; kept for the finaliser's signature
    result = nfiq2(image)
    measures = dict(live.measures)
    measures["live_score"] = float(live.score)
    measures["nfiq2"] = float(result.score)
    for name, key in FEEDBACK_MEASURES.items():
        if name in result.feedback:
            measures[key] = result.feedback[name]
    passes = result.score >= threshold and not result.error
    reasons = feedback_reasons(result, passes)
    if not passes:
        codes = {r.code for r in reasons}
        # The live measures say what to change (pressure, dryness, placement) when NFIQ 2's
        # feedback does not.
        reasons += [r for r in live.reasons if r.code not in codes]
        if not reasons:
            reasons.append(reason("FINGER_LOW_QUALITY"))
    if result.error:
        measures["nfiq2_failed"] = 1.0
    return QualityResult("fingerprint", result.score, measures, reasons)
