"""The same finger captured twice in one record: a wrong finger, or a sequence gone astray."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quality.matching import BOZORTH3_THRESHOLD, FingerprintMatcher


@dataclass(frozen=True)
class SameFinger:
    """The new print matches the one already kept at ``position`` with ``score``."""

    position: str
    score: float


class SameFingerCheck:
    """Compares a new print with the record's other fingers (MINDTCT minutiae, Bozorth3)."""

    def __init__(self, threshold: int = BOZORTH3_THRESHOLD) -> None:
        self.matcher = FingerprintMatcher(finger_threshold=threshold)
        self.threshold = threshold

    def find(self, image: np.ndarray, others: dict[str, np.ndarray]) -> SameFinger | None:
        """The best-matching other finger at or above the threshold, or None."""
        if not others:
            return None
        probe = self.matcher.template(image)
        best: SameFinger | None = None
        for position, other in others.items():
            score = self.matcher.score(probe, self.matcher.template(other))
            if score >= self.threshold and (best is None or score > best.score):
                best = SameFinger(position, score)
        return best
