"""The live fingerprint score: NIST NFIQ 2 for every preview frame, fast enough for the frame rate.

NFIQ 2 (ISO/IEC 29794-4) takes 70-300 ms a print, so it judges only the print a capture keeps
(``quality.nfiq2``). Every frame is scored by NFIQ 2's own random forest (NIST's
``nist_plain_tir-ink`` model, ``quality.nfiq2_forest``) over NFIQ 2's native quality measures
computed fast in numpy (``quality.nfiq2_native``): 65 of the 69 the way NFIQ 2 computes them,
the four minutiae measures estimated. Nothing in the score is fitted to our prints: it carries
NIST's training, and it is on NFIQ 2's 0..100 scale.

Per 32x32 block the score's companions measure, for the reasons and the technician,

- orientation certainty (OCL, 1 - lambda_min/lambda_max of the gradient covariance);
- the ridge-valley profile read across the ridges: local clarity (LCS), the share of the
  profile's spectrum at its dominant ridge frequency (FDA), the share inside plausible ridge
  periods, ridge/valley contrast and the ridge period;
- grey mean and the area and placement of the blocks that hold ridges,

which name what to change (pressure, dryness, placement) for a print that fails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from quality.base import QualityResult, Reason
from quality.config import FingerprintConfig
from quality.nfiq2 import USABLE_MINUTIAE
from quality.nfiq2_forest import forest_score
from quality.nfiq2_native import native_measures
from quality.reasons import reason

_TILE = 16
_BLOCK = 32  # NFIQ 2's block at 500 ppi
# The ridge-valley profile of a 32x32 block is read across the ridges (|t| < _HALF_LENGTH) in a
# strip along them (|s| < _HALF_WIDTH), which stays inside the block at any angle.
_HALF_LENGTH = 14
_HALF_WIDTH = 7
_MIN_SIDE = 96
NFIQ2_MAX_COLUMNS = 800
NFIQ2_MAX_ROWS = 1000


def _validated(image: object) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise ValueError("fingerprint image must be a numpy array")
    if image.dtype != np.uint8:
        raise ValueError(f"fingerprint image must be uint8 grey, not {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim != 2:
        raise ValueError(f"fingerprint image must be 2-D grey, got shape {image.shape}")
    if min(image.shape) < _MIN_SIDE:
        raise ValueError(
            f"fingerprint image too small: {image.shape}, need {_MIN_SIDE}x{_MIN_SIDE}"
        )
    return image


def _blocks(array: np.ndarray, size: int) -> np.ndarray:
    """(rows, cols, size, size) view of ``array`` cut into ``size`` blocks."""
    by, bx = array.shape[0] // size, array.shape[1] // size
    return array[: by * size, : bx * size].reshape(by, size, bx, size).swapaxes(1, 2)


def _block_sum(array: np.ndarray, size: int) -> np.ndarray:
    return _blocks(array, size).sum(axis=(2, 3))


def _ramp(value: float, bad: float, good: float) -> float:
    """0 at ``bad``, 1 at ``good``, linear between."""
    return float(np.clip((value - bad) / (good - bad), 0.0, 1.0)) if good != bad else 1.0


def _profile_geometry(size: int) -> tuple[np.ndarray, np.ndarray]:
    centre = (size - 1) / 2
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    return xs - centre, ys - centre


@dataclass(frozen=True)
class BlockMaps:
    """Per-block measures of a print cut into 32x32 blocks (each array is rows x cols)."""

    ocl: np.ndarray
    normal: np.ndarray  # gradient direction (across the ridges), radians
    fda: np.ndarray
    band_share: np.ndarray
    lcs: np.ndarray
    contrast: np.ndarray
    period: np.ndarray
    ridge_share: np.ndarray  # share of the profile on the ridge (dark) side


def block_maps(img: np.ndarray, config: FingerprintConfig) -> BlockMaps:
    """The block measures of a float32 image whose sides are whole blocks."""
    size = _BLOCK
    pixels = _blocks(img, size)
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3)
    gxx = _block_sum(gx * gx, size)
    gyy = _block_sum(gy * gy, size)
    gxy = _block_sum(gx * gy, size)
    half_trace = (gxx + gyy) / 2
    root = np.sqrt(((gxx - gyy) / 2) ** 2 + gxy**2)
    l_max, l_min = half_trace + root, half_trace - root
    ocl = np.where(l_max > 1e-6, 1 - l_min / np.maximum(l_max, 1e-6), 0.0)
    normal = 0.5 * np.arctan2(2 * gxy, gxx - gyy)
    rows_n, cols_n = normal.shape

    # Ridge-valley profile of every block, read across its ridges.
    n = rows_n * cols_n
    flat_pixels = pixels.reshape(n, size, size)
    cos_n = np.cos(normal).astype(np.float32).reshape(n, 1, 1)
    sin_n = np.sin(normal).astype(np.float32).reshape(n, 1, 1)
    u, v = _profile_geometry(size)
    t = u * cos_n + v * sin_n
    s = -u * sin_n + v * cos_n
    inside = (np.abs(t) < _HALF_LENGTH) & (np.abs(s) < _HALF_WIDTH)
    bins = 2 * _HALF_LENGTH
    bin_index = np.floor(t + _HALF_LENGTH).astype(np.int64)
    flat = (np.arange(n)[:, None, None] * bins + bin_index)[inside]
    counts = np.bincount(flat, minlength=n * bins).reshape(n, bins)
    sums = np.bincount(flat, weights=flat_pixels[inside], minlength=n * bins).reshape(n, bins)
    profile = sums / np.maximum(counts, 1)
    level = profile.mean(axis=1, keepdims=True)

    # Frequency domain: share of the spectrum at the dominant ridge frequency, and in the band
    # of plausible ridge periods at all (noise, stripes and checks fall outside it).
    spectrum = np.abs(np.fft.rfft(profile - level, axis=1))[:, 1:]
    k_lo = max(1, math.ceil(bins / config.max_ridge_period))
    k_hi = min(spectrum.shape[1], math.floor(bins / config.min_ridge_period))
    band = spectrum[:, k_lo - 1 : k_hi]
    peak = np.argmax(band, axis=1) + k_lo - 1
    idx = np.arange(n)
    total = np.maximum(spectrum.sum(axis=1), 1e-6)
    side = spectrum[idx, np.maximum(peak - 1, 0)] + spectrum[
        idx, np.minimum(peak + 1, spectrum.shape[1] - 1)
    ]
    fda = (spectrum[idx, peak] + 0.3 * side) / total
    band_share = band.sum(axis=1) / total

    # Local clarity: pixels on the wrong side of the block's threshold for their profile bin.
    ridge_bin = profile < level  # dark bins are ridges
    pixel_is_ridge_bin = np.take_along_axis(
        ridge_bin, np.clip(bin_index, 0, bins - 1).reshape(n, -1), axis=1
    ).reshape(t.shape)
    dark = flat_pixels < level[:, :, None]
    ridge_px = inside & pixel_is_ridge_bin
    valley_px = inside & ~pixel_is_ridge_bin
    alpha = (valley_px & dark).sum(axis=(1, 2)) / np.maximum(valley_px.sum(axis=(1, 2)), 1)
    beta = (ridge_px & ~dark).sum(axis=(1, 2)) / np.maximum(ridge_px.sum(axis=(1, 2)), 1)
    ridge_mean = (profile * ridge_bin).sum(1) / np.maximum(ridge_bin.sum(1), 1)
    valley_mean = (profile * ~ridge_bin).sum(1) / np.maximum((~ridge_bin).sum(1), 1)

    def grid(values: np.ndarray) -> np.ndarray:
        return values.reshape(rows_n, cols_n)

    return BlockMaps(
        ocl=ocl,
        normal=normal,
        fda=grid(fda),
        band_share=grid(band_share),
        lcs=grid(1 - (alpha + beta) / 2),
        contrast=grid(valley_mean - ridge_mean),
        period=grid(bins / (peak + 1.0)),
        ridge_share=grid(ridge_bin.mean(axis=1)),
    )


def _flow_degrees(normal: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """Per block, the angle (degrees) between its ridge direction and its neighbours' mean."""
    cos2 = np.cos(2 * normal).astype(np.float32)
    sin2 = np.sin(2 * normal).astype(np.float32)
    weight = blocks.astype(np.float32)
    kernel = np.ones((3, 3), np.float32)
    kernel[1, 1] = 0
    mean_c = cv2.filter2D(cos2 * weight, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    mean_s = cv2.filter2D(sin2 * weight, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    diff = np.abs(np.angle(np.exp(1j * (2 * normal - np.arctan2(mean_s, mean_c))))) / 2
    return np.degrees(diff)


def _cropped(grey: np.ndarray) -> np.ndarray:
    """The image centre-cropped to whole blocks, as float32."""
    h, w = grey.shape
    crop_h, crop_w = (h // _BLOCK) * _BLOCK, (w // _BLOCK) * _BLOCK
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    return grey[top : top + crop_h, left : left + crop_w].astype(np.float32)


def within_nfiq2_limits(grey: np.ndarray) -> np.ndarray:
    """The frame centre-cropped to the largest image NFIQ 2 scores: its minutia extractor,
    FingerJet FX, takes at most 800 columns and 1000 rows, and NFIQ 2 fails on a larger image
    (the calibration set's wide rolled prints are centre-cropped the same way). A frame within
    the limits is returned whole."""
    h, w = grey.shape
    top, left = max(h - NFIQ2_MAX_ROWS, 0) // 2, max(w - NFIQ2_MAX_COLUMNS, 0) // 2
    return grey[top : top + NFIQ2_MAX_ROWS, left : left + NFIQ2_MAX_COLUMNS]


def live_nfiq2(image: np.ndarray) -> int:
    """NFIQ 2's forest on the fast native measures of ``image``.

    0, as NFIQ 2 gives when its minutia extractor finds no template, when the ridges hold fewer
    minutiae than NFIQ 2 calls a usable fingerprint (noise, stripes, smears: NIST's forest,
    trained on prints, rates their block measures as a print's), or when the image is near
    white throughout."""
    try:
        measures = native_measures(image)
    except ValueError:
        return 0
    if measures["FingerJetFX_MinutiaeCount"] < USABLE_MINUTIAE:
        return 0
    return forest_score(measures)


def assess_fingerprint(image: np.ndarray, config: FingerprintConfig | None = None) -> QualityResult:
    """Score one fingerprint image 0..100 (NFIQ 2's forest on the fast measures) with its
    measures and reasons.

    Raises ValueError when ``image`` is not a uint8 2-D array of at least 96x96 pixels.
    """
    config = config or FingerprintConfig()
    grey = _validated(image)
    img = _cropped(grey)
    crop_h, crop_w = img.shape

    measures: dict[str, float] = {}
    tiles = _blocks(img, _TILE)
    tile_std = tiles.std(axis=(2, 3))
    tile_mean = tiles.mean(axis=(2, 3))
    background = float(np.percentile(tile_mean, 95))
    # Ridged tiles, and tiles pressed so hard that they are dark but flat.
    tile_fg = (tile_std > config.foreground_min_std) | (
        tile_mean < background - config.dark_tile_drop
    )
    fg_area = float(tile_fg.sum()) * _TILE * _TILE
    measures["foreground_fraction"] = float(tile_fg.mean())
    measures["foreground_area"] = fg_area
    # A block counts as foreground when at least three of its four tiles do.
    ratio = _BLOCK // _TILE
    fg_blocks = _blocks(tile_fg.astype(np.float32), ratio).sum(axis=(2, 3)) >= ratio * ratio - 1
    if fg_area < config.no_finger_area or not fg_blocks.any():
        return QualityResult("fingerprint", 0, measures, [reason("NO_FINGER")])

    # Foreground centroid, relative to the image centre (fraction of the side).
    ty, tx = np.nonzero(tile_fg)
    measures["foreground_centre_x"] = float((tx.mean() + 0.5) * _TILE / crop_w - 0.5)
    measures["foreground_centre_y"] = float((ty.mean() + 0.5) * _TILE / crop_h - 0.5)
    measures["mean"] = float(tile_mean[tile_fg].mean())
    measures["mean_level"] = min(
        _ramp(measures["mean"], config.mean_dark_bad, config.mean_dark_good),
        _ramp(measures["mean"], config.mean_light_bad, config.mean_light_good),
    )

    measures.update(_foreground_measures(block_maps(img, config), fg_blocks, config))
    score = live_nfiq2(within_nfiq2_limits(grey))
    return QualityResult("fingerprint", score, measures, _reasons(measures, score, config))


def _foreground_measures(
    maps: BlockMaps, fg: np.ndarray, config: FingerprintConfig
) -> dict[str, float]:
    """The block measures over the foreground blocks, for reasons and for the technician."""
    m: dict[str, float] = {}
    m["orientation_certainty_raw"] = float(maps.ocl[fg].mean())
    m["orientation_certainty"] = _ramp(
        m["orientation_certainty_raw"], config.ridgeless_certainty, config.clear_certainty
    )
    # Orientation flow: angle between each block and the mean of its neighbours.
    kernel = np.ones((3, 3), np.float32)
    kernel[1, 1] = 0
    neighbours = cv2.filter2D(fg.astype(np.float32), -1, kernel, borderType=cv2.BORDER_CONSTANT)
    flow = fg & (neighbours > 0)
    degrees = _flow_degrees(maps.normal, fg)
    m["orientation_flow_degrees"] = float(degrees[flow].mean()) if flow.any() else 90.0
    m["frequency_domain_raw"] = float(maps.fda[fg].mean())
    m["ridge_band_share"] = float(maps.band_share[fg].mean())
    m["ridge_period"] = float(np.median(maps.period[fg]))
    m["local_clarity_raw"] = float(maps.lcs[fg].mean())
    m["local_clarity"] = float(np.clip((m["local_clarity_raw"] - 0.6) / 0.33, 0, 1))
    ridge_share = maps.ridge_share[fg]
    m["ridge_valley_uniformity_std"] = float(
        np.std(ridge_share / np.maximum(1 - ridge_share, 1e-3))
    )
    m["contrast_grey"] = float(np.median(maps.contrast[fg]))
    m["contrast"] = _ramp(m["contrast_grey"], 0.0, config.full_contrast)
    return m


def _reasons(m: dict[str, float], score: int, config: FingerprintConfig) -> list[Reason]:
    """What to change, for a print that fails; a passing print has nothing to change.

    Light, dry and partial prints are common and healthy on optical sensors (a mean grey of
    190-235 is normal there), so these measures only explain a low score, never overrule it."""
    if score >= config.min_score:
        return []
    found: list[Reason] = []
    off_centre = max(abs(m["foreground_centre_x"]), abs(m["foreground_centre_y"])) > 0.2
    partial = m["foreground_area"] < config.partial_area
    if partial or off_centre:
        found.append(reason("FINGER_PARTIAL"))
    if m["mean"] < config.too_dark_mean:
        found.append(reason("FINGER_TOO_HEAVY"))
    elif m["mean"] > config.light_mean and m["orientation_certainty_raw"] < config.dry_certainty:
        found.append(reason("FINGER_DRY"))
    elif m["mean"] > config.light_mean and (
        m["contrast_grey"] < config.too_light_contrast or partial
    ):
        found.append(reason("FINGER_TOO_LIGHT"))
    elif m["local_clarity"] < 0.5 and m["contrast"] < 0.6:
        found.append(reason("FINGER_SMUDGED"))
    if score < config.min_score and not found:
        found.append(reason("FINGER_UNCLEAR_RIDGES"))
    return found
