"""Fingerprint comparison: the kit's same-finger check and the simulated centre's ABIS.

Band-limited phase-only correlation (after Ito et al., "A fingerprint matching algorithm using
phase-only correlation", IEICE 2004): each print is contrast-normalised, masked to its ridge
area and reduced to half resolution; the probe is rotated over a small range of angles and, for
each angle, the cross-power spectrum with the gallery print is normalised to unit magnitude and
restricted to the ridge-frequency band. A genuine pair gives a sharp correlation peak at the
translation between the captures; an impostor pair gives only noise. Translation is found for
free, rotation by the search, and phase is insensitive to the contrast changes of dryness,
pressure and sensor noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from domain.vocabulary import CARD_FINGERS, Position

SIZE = 176  # working canvas (half resolution): room for 300x288 sensors plus 20 px shifts
DEFAULT_ANGLES = tuple(float(a) for a in np.arange(-7.0, 7.01, 1.0))
BAND = (0.08, 0.36)  # cycles per half-resolution pixel; ridges (~9 px at 500 ppi) sit at ~0.22
FINGER_THRESHOLD = 0.18
# Fingers compared first; if none of them comes close, the other fingers are not compared.
SCREENING_FINGERS = (*CARD_FINGERS, Position.RIGHT_THUMB, Position.LEFT_THUMB)


def prepare(image: np.ndarray) -> np.ndarray:
    """Contrast-normalise a uint8 500 ppi print and place it on the half-resolution canvas.

    Returns a float32 SIZE x SIZE array: zero outside the ridge area.
    """
    if image.ndim != 2:
        raise ValueError("fingerprint must be a 2-D grey image")
    grey = image.astype(np.float32)
    mean = cv2.GaussianBlur(grey, (0, 0), 6)
    centred = grey - mean
    std = np.sqrt(cv2.GaussianBlur(centred * centred, (0, 0), 6))
    normalised = centred / (std + 1.0)
    foreground = (std > max(6.0, 0.35 * float(np.percentile(std, 90)))).astype(np.float32)
    foreground = cv2.erode(foreground, np.ones((9, 9), np.uint8))
    weight = cv2.GaussianBlur(foreground, (0, 0), 5)
    small = cv2.resize(normalised * weight, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    canvas = np.zeros((SIZE, SIZE), np.float32)
    h, w = min(small.shape[0], SIZE), min(small.shape[1], SIZE)
    sy, sx = (small.shape[0] - h) // 2, (small.shape[1] - w) // 2
    oy, ox = (SIZE - h) // 2, (SIZE - w) // 2
    canvas[oy : oy + h, ox : ox + w] = small[sy : sy + h, sx : sx + w]
    return canvas


def foreground_fraction(prepared: np.ndarray) -> float:
    """Share of the canvas covered by ridges (too little: the print cannot be matched)."""
    return float(np.mean(np.abs(prepared) > 0.2))


def _band_mask() -> np.ndarray:
    fy = np.fft.fftfreq(SIZE)[:, None]
    fx = np.fft.rfftfreq(SIZE)[None, :]
    radius = np.sqrt(fx * fx + fy * fy)
    return ((radius >= BAND[0]) & (radius <= BAND[1])).astype(np.float32)


_BAND = _band_mask()
_BAND_COUNT = float(_BAND.sum())


def _spectrum(prepared: np.ndarray) -> np.ndarray:
    return np.fft.rfft2(prepared).astype(np.complex64)


def _rotate(prepared: np.ndarray, angle: float) -> np.ndarray:
    if angle == 0.0:
        return prepared
    matrix = cv2.getRotationMatrix2D((SIZE / 2, SIZE / 2), angle, 1.0)
    return cv2.warpAffine(prepared, matrix, (SIZE, SIZE), flags=cv2.INTER_LINEAR)


@dataclass
class FingerTemplate:
    """A prepared print and its spectra (gallery side: angle 0; probe side: every angle)."""

    prepared: np.ndarray
    spectra: list[np.ndarray] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        return self.prepared.astype(np.float16).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> FingerTemplate:
        prepared = np.frombuffer(data, np.float16).astype(np.float32).reshape(SIZE, SIZE)
        return cls(prepared, [_spectrum(prepared)])


@dataclass(frozen=True)
class MatchResult:
    """Comparison of two records: per-finger scores and the decision."""

    score: float
    matched_fingers: int
    compared_fingers: int
    per_finger: dict[str, float]

    @property
    def same_person(self) -> bool:
        return self.matched_fingers >= min(2, self.compared_fingers) > 0


class FingerprintMatcher:
    """Scores pairs of prints (0..1) and decides whether two records are the same person."""

    def __init__(
        self,
        angles: tuple[float, ...] = DEFAULT_ANGLES,
        finger_threshold: float = FINGER_THRESHOLD,
    ) -> None:
        self.angles = angles
        self.finger_threshold = finger_threshold

    def gallery_template(self, image: np.ndarray) -> FingerTemplate:
        prepared = prepare(image)
        return FingerTemplate(prepared, [_spectrum(prepared)])

    def probe_template(self, image: np.ndarray | FingerTemplate) -> FingerTemplate:
        prepared = image.prepared if isinstance(image, FingerTemplate) else prepare(image)
        return FingerTemplate(prepared, [_spectrum(_rotate(prepared, a)) for a in self.angles])

    def score(self, probe: FingerTemplate, gallery: FingerTemplate) -> float:
        """Best band-limited POC peak over the probe's rotations (about 0.02 for strangers)."""
        reference = gallery.spectra[0]
        best = 0.0
        for spectrum in probe.spectra:
            cross = spectrum * np.conj(reference)
            cross /= np.abs(cross) + 1e-9
            surface = np.fft.irfft2(cross * _BAND, s=(SIZE, SIZE))
            peak = float(surface.max()) * SIZE * SIZE / _BAND_COUNT / 2.0
            best = max(best, peak)
        return best

    def compare_images(self, probe: np.ndarray, gallery: np.ndarray) -> float:
        return self.score(self.probe_template(probe), self.gallery_template(gallery))

    def compare_records(
        self, probe: dict[str, FingerTemplate], gallery: dict[str, FingerTemplate]
    ) -> MatchResult:
        """Compare prints of the same finger positions; ``probe`` must be probe templates.

        The screening fingers go first; when none of them scores above half the threshold,
        the records are different people and the rest is skipped.
        """
        common = [p for p in probe if p in gallery]
        screening = [p for p in common if p in SCREENING_FINGERS] or common[:2]
        per_finger: dict[str, float] = {}
        for position in screening:
            per_finger[position] = self.score(probe[position], gallery[position])
        if max(per_finger.values(), default=0.0) >= self.finger_threshold / 2:
            for position in common:
                if position not in per_finger:
                    per_finger[position] = self.score(probe[position], gallery[position])
        matched = sum(1 for s in per_finger.values() if s >= self.finger_threshold)
        best = max(per_finger.values(), default=0.0)
        return MatchResult(best, matched, len(per_finger), per_finger)
