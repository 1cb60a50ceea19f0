"""Fingerprint quality after ISO/IEC 29794-4 and NFIQ 2, in numpy.

Measures (each normalised to 0..1, 1 = good, before weighting):
- ``orientation_certainty``: 1 - lambda_min/lambda_max of the block gradient covariance (OCL),
  scaled between the raw values of ridgeless skin and of clear ridges;
- ``local_clarity``: how cleanly pixels fall on the ridge or valley side of the block's own
  ridge-valley profile (LCS);
- ``frequency_domain``: how much of the profile's spectrum sits in its dominant ridge frequency
  (FDA);
- ``ridge_valley_uniformity``: how steady the ridge/valley width ratio is across blocks (RVU);
- ``orientation_flow``: how smoothly the ridge direction changes between neighbouring blocks (OFL);
- ``contrast``: valley minus ridge grey level;
- ``mean_level``: whether the foreground's mean grey lies in the range of a well-pressed finger.
Raw figures (foreground area and centroid, mean, ridge period, ...) are reported too. The image
is uint8 grey at 500 ppi, dark ridges on a light background, any size from 96x96 up.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from quality.base import QualityResult, Reason
from quality.config import FingerprintConfig
from quality.reasons import reason

_TILE = 16
# The ridge-valley profile of a 32x32 block is read across the ridges (|t| < _HALF_LENGTH) in a
# strip along them (|s| < _HALF_WIDTH), which stays inside the block at any angle.
_HALF_LENGTH = 14
_HALF_WIDTH = 7
_MIN_SIDE = 96


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


def assess_fingerprint(image: np.ndarray, config: FingerprintConfig | None = None) -> QualityResult:
    """Score one fingerprint image 0..100 with its measures and reasons.

    Raises ValueError when ``image`` is not a uint8 2-D array of at least 96x96 pixels.
    """
    config = config or FingerprintConfig()
    grey = _validated(image)
    size = config.block_size
    # Centre-crop to whole blocks.
    h, w = grey.shape
    crop_h, crop_w = (h // size) * size, (w // size) * size
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    img = grey[top : top + crop_h, left : left + crop_w].astype(np.float32)

    measures: dict[str, float] = {}
    tiles = _blocks(img, _TILE)
    tile_std = tiles.std(axis=(2, 3))
    tile_mean = tiles.mean(axis=(2, 3))
    background = float(np.percentile(tile_mean, 95))
    # Ridged tiles, and tiles pressed so hard that they are dark but flat.
    tile_fg = (tile_std > config.foreground_min_std) | (
        tile_mean < background - config.dark_tile_drop
    )
    fg_fraction = float(tile_fg.mean())
    fg_area = float(tile_fg.sum()) * _TILE * _TILE
    measures["foreground_fraction"] = fg_fraction
    measures["foreground_area"] = fg_area
    if fg_area < config.no_finger_area:
        measures["score_raw"] = 0.0
        return QualityResult("fingerprint", 0, measures, [reason("NO_FINGER")])

    # Foreground centroid, relative to the image centre (fraction of the side).
    ty, tx = np.nonzero(tile_fg)
    centre_x = (tx.mean() + 0.5) * _TILE / crop_w - 0.5
    centre_y = (ty.mean() + 0.5) * _TILE / crop_h - 0.5
    measures["foreground_centre_x"] = float(centre_x)
    measures["foreground_centre_y"] = float(centre_y)
    measures["mean"] = float(tile_mean[tile_fg].mean())
    measures["mean_level"] = min(
        _ramp(measures["mean"], config.mean_dark_bad, config.mean_dark_good),
        _ramp(measures["mean"], config.mean_light_bad, config.mean_light_good),
    )

    # A block counts as foreground when at least three of its four tiles do.
    ratio = size // _TILE
    fg_blocks = _blocks(tile_fg.astype(np.float32), ratio).sum(axis=(2, 3)) >= max(
        1, ratio * ratio - 1
    )
    if not fg_blocks.any():
        measures["score_raw"] = 0.0
        return QualityResult("fingerprint", 0, measures, [reason("NO_FINGER")])

    # Gradient covariance per block: orientation and its certainty.
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3)
    gxx = _block_sum(gx * gx, size)
    gyy = _block_sum(gy * gy, size)
    gxy = _block_sum(gx * gy, size)
    half_trace = (gxx + gyy) / 2
    root = np.sqrt(((gxx - gyy) / 2) ** 2 + gxy**2)
    l_max, l_min = half_trace + root, half_trace - root
    ocl = np.where(l_max > 1e-6, 1 - l_min / np.maximum(l_max, 1e-6), 0.0)
    normal = 0.5 * np.arctan2(2 * gxy, gxx - gyy)  # gradient direction, across the ridges
    measures["orientation_certainty_raw"] = float(ocl[fg_blocks].mean())
    measures["orientation_certainty"] = _ramp(
        measures["orientation_certainty_raw"], config.ridgeless_certainty, config.clear_certainty
    )

    # Orientation flow: angle between each block and the mean of its neighbours.
    cos2, sin2 = np.cos(2 * normal).astype(np.float32), np.sin(2 * normal).astype(np.float32)
    weight = fg_blocks.astype(np.float32)
    kernel = np.ones((3, 3), np.float32)
    kernel[1, 1] = 0
    mean_c = cv2.filter2D(cos2 * weight, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    mean_s = cv2.filter2D(sin2 * weight, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    has_neighbour = np.hypot(mean_c, mean_s) > 1e-3
    diff = np.abs(np.angle(np.exp(1j * (2 * normal - np.arctan2(mean_s, mean_c))))) / 2
    flow_blocks = fg_blocks & has_neighbour
    mean_flow_deg = float(np.degrees(diff[flow_blocks]).mean()) if flow_blocks.any() else 90.0
    measures["orientation_flow_degrees"] = mean_flow_deg
    measures["orientation_flow"] = float(np.clip(1 - (mean_flow_deg - 6.0) / 24.0, 0, 1))

    # Ridge-valley profile of each foreground block, read across its ridges.
    rows, cols = np.nonzero(fg_blocks)
    block_pixels = _blocks(img, size)[rows, cols]  # (n, size, size)
    n = len(rows)
    cos_n = np.cos(normal[rows, cols]).astype(np.float32)[:, None, None]
    sin_n = np.sin(normal[rows, cols]).astype(np.float32)[:, None, None]
    u, v = _profile_geometry(size)
    t = u * cos_n + v * sin_n
    s = -u * sin_n + v * cos_n
    inside = (np.abs(t) < _HALF_LENGTH) & (np.abs(s) < _HALF_WIDTH)
    bins = 2 * _HALF_LENGTH
    bin_index = np.floor(t + _HALF_LENGTH).astype(np.int64)
    flat = (np.arange(n)[:, None, None] * bins + bin_index)[inside]
    values = block_pixels[inside]
    counts = np.bincount(flat, minlength=n * bins).reshape(n, bins)
    sums = np.bincount(flat, weights=values, minlength=n * bins).reshape(n, bins)
    profile = sums / np.maximum(counts, 1)
    level = profile.mean(axis=1, keepdims=True)

    # Frequency domain: share of the profile's spectrum at the dominant ridge frequency.
    spectrum = np.abs(np.fft.rfft(profile - level, axis=1))[:, 1:]
    k_lo = max(1, math.ceil(bins / config.max_ridge_period))
    k_hi = min(spectrum.shape[1], math.floor(bins / config.min_ridge_period))
    band = spectrum[:, k_lo - 1 : k_hi]
    peak = np.argmax(band, axis=1) + k_lo - 1  # index into spectrum (frequency k = peak + 1)
    idx = np.arange(n)
    left_amp = spectrum[idx, np.maximum(peak - 1, 0)]
    right_amp = spectrum[idx, np.minimum(peak + 1, spectrum.shape[1] - 1)]
    fda = (spectrum[idx, peak] + 0.3 * (left_amp + right_amp)) / np.maximum(
        spectrum.sum(axis=1), 1e-6
    )
    # Energy outside plausible ridge periods (noise, stripes, checks) is no fingerprint.
    band_share = band.sum(axis=1) / np.maximum(spectrum.sum(axis=1), 1e-6)
    measures["frequency_domain_raw"] = float(fda.mean())
    measures["ridge_band_share"] = float(band_share.mean())
    measures["frequency_domain"] = float(
        np.clip((fda.mean() - 0.2) / 0.22, 0, 1) * np.clip(band_share.mean() / 0.55, 0, 1)
    )
    measures["ridge_period"] = float(np.median(bins / (peak + 1)))

    # Local clarity: pixels on the wrong side of the block's threshold for their profile bin.
    ridge_bin = profile < level  # dark bins are ridges
    pixel_is_ridge_bin = np.take_along_axis(
        ridge_bin, np.clip(bin_index, 0, bins - 1).reshape(n, -1), axis=1
    ).reshape(t.shape)
    threshold = np.broadcast_to(level[:, :, None], t.shape)
    dark = block_pixels < threshold
    ridge_px = inside & pixel_is_ridge_bin
    valley_px = inside & ~pixel_is_ridge_bin
    alpha = (valley_px & dark).sum(axis=(1, 2)) / np.maximum(valley_px.sum(axis=(1, 2)), 1)
    beta = (ridge_px & ~dark).sum(axis=(1, 2)) / np.maximum(ridge_px.sum(axis=(1, 2)), 1)
    lcs = 1 - (alpha + beta) / 2
    measures["local_clarity_raw"] = float(lcs.mean())
    measures["local_clarity"] = float(np.clip((lcs.mean() - 0.6) / 0.33, 0, 1))

    # Ridge-valley uniformity: spread of the ridge/valley width ratio across blocks.
    ridge_share = ridge_bin.mean(axis=1)
    ratio_rv = ridge_share / np.maximum(1 - ridge_share, 1e-3)
    rvu_std = float(np.std(ratio_rv))
    measures["ridge_valley_uniformity_std"] = rvu_std
    measures["ridge_valley_uniformity"] = float(np.clip(1 - (rvu_std - 0.15) / 0.5, 0, 1))

    # Contrast: valley minus ridge mean grey in each block.
    ridge_mean = (profile * ridge_bin).sum(1) / np.maximum(ridge_bin.sum(1), 1)
    valley_mean = (profile * ~ridge_bin).sum(1) / np.maximum((~ridge_bin).sum(1), 1)
    contrast = float(np.median(valley_mean - ridge_mean))
    measures["contrast_grey"] = contrast
    measures["contrast"] = _ramp(contrast, 0.0, config.full_contrast)

    weights = config.weights
    total = sum(weights.values()) or 1.0
    combined = sum(weight * measures[name] for name, weight in weights.items()) / total
    area_factor = min(1.0, fg_area / config.foreground_good_area)
    ridge_factor = min(1.0, measures["ridge_band_share"] / 0.45)
    raw = combined * area_factor * ridge_factor
    measures["score_raw"] = raw
    score = round(100 * float(np.clip((raw - 0.12) / 0.85, 0, 1)))
    reasons = _reasons(measures, score, config)
    return QualityResult("fingerprint", score, measures, reasons)


def _reasons(m: dict[str, float], score: int, config: FingerprintConfig) -> list[Reason]:
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
