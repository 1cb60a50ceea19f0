"""A dirty platen: smudges and residue that a fingerprint sensor images as dark blots."""

from __future__ import annotations

import cv2
import numpy as np

DIRT_LEVEL = 60  # grey level a blot reads at (ridges read darker, clean glass near white)


def dirt_mask(height: int, width: int, coverage: float, seed: int = 0) -> np.ndarray:
    """A boolean mask of roughly ``coverage`` (0..1) of the platen covered with round blots."""
    coverage = min(max(float(coverage), 0.0), 1.0)
    mask = np.zeros((height, width), dtype=np.uint8)
    rng = np.random.default_rng(seed)
    target = coverage * height * width
    for _ in range(400):  # bounded: each blot adds area until the coverage is reached
        if np.count_nonzero(mask) >= target:
            break
        radius = int(rng.integers(4, 14))
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.circle(mask, centre, radius, 1, thickness=-1)
    return mask.astype(bool)


def apply_dirt(image: np.ndarray, coverage: float, seed: int = 0) -> np.ndarray:
    """``image`` (uint8 grey) with the blots of a dirty platen pressed into it."""
    dirty = image.copy()
    mask = dirt_mask(*image.shape[:2], coverage, seed)
    dirty[mask] = np.minimum(dirty[mask], DIRT_LEVEL)
    return dirty
