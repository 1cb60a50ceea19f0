"""Synthetic fingerprints with known identity for the matcher and deduplication tests.

A finger is a phase field (after Larkin & Fletcher's phase model of fingerprints): a smooth
loop-and-arch phase plus spiral singularities that become ridge endings and bifurcations.
A capture samples that field through a rigid motion (rotation, translation), then changes
ridge width (pressure), breaks ridges (dryness) and adds sensor noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

WIDTH, HEIGHT = 256, 288


@dataclass(frozen=True)
class Finger:
    frequency: float
    centre: tuple[float, float]
    aspect: float
    arch: float
    wave: tuple[float, float, float]
    minutiae: tuple[tuple[float, float, int], ...]

    @classmethod
    def random(cls, seed: int) -> Finger:
        rng = np.random.default_rng(seed)
        minutiae = tuple(
            (rng.uniform(-110, 110), rng.uniform(-130, 130), int(rng.choice([-1, 1])))
            for _ in range(int(rng.integers(10, 18)))
        )
        return cls(
            frequency=1.0 / rng.uniform(8.5, 10.5),
            centre=(rng.uniform(-40, 40), rng.uniform(-70, 10)),
            aspect=rng.uniform(0.7, 1.3),
            arch=rng.uniform(-0.6, 0.6),
            wave=(rng.uniform(2, 8), rng.uniform(60, 140), rng.uniform(0, 2 * np.pi)),
            minutiae=minutiae,
        )

    def phase(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        cx, cy = self.centre
        amplitude, length, offset = self.wave
        yw = y + amplitude * np.sin(2 * np.pi * x / length + offset)
        radius = np.sqrt((x - cx) ** 2 + (self.aspect * (yw - cy)) ** 2)
        psi = 2 * np.pi * self.frequency * (radius + self.arch * yw)
        for mx, my, charge in self.minutiae:
            psi += charge * np.arctan2(y - my, x - mx)
        return psi


def capture(
    finger: Finger,
    seed: int,
    *,
    max_shift: float = 20.0,
    max_rotation: float = 5.0,
    noise: float = 12.0,
    dryness: float = 0.15,
) -> np.ndarray:
    """One 256x288 uint8 impression of ``finger`` (dark ridges on a light background)."""
    rng = np.random.default_rng(seed)
    angle = np.deg2rad(rng.uniform(-max_rotation, max_rotation))
    tx, ty = rng.uniform(-max_shift, max_shift, size=2)
    v, u = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    u -= WIDTH / 2
    v -= HEIGHT / 2
    cos_a, sin_a = np.cos(angle), np.sin(angle)
    x = cos_a * u - sin_a * v + tx
    y = sin_a * u + cos_a * v + ty
    ridges = np.cos(finger.phase(x, y))
    pressure = rng.uniform(-0.35, 0.35)
    image = cv2.GaussianBlur(((ridges > pressure) * 1.0).astype(np.float32), (0, 0), 0.9)
    if dryness > 0:
        blotches = cv2.GaussianBlur(rng.random((HEIGHT, WIDTH)).astype(np.float32), (0, 0), 3)
        cut = np.quantile(blotches, 1 - dryness)
        image = np.where(blotches > cut, image * 0.25, image)
    tip = (x / 120.0) ** 2 + ((y + 10) / 150.0) ** 2 < 1.0
    contrast = rng.uniform(120, 200)
    grey = 235 - contrast * image * tip + rng.normal(0, noise, image.shape)
    return np.clip(grey, 0, 255).astype(np.uint8)
