"""NIST NFIQ 2's native quality measures, computed fast enough for every preview frame.

NFIQ 2 (ISO/IEC 29794-4) scores a print with a random forest over 69 native quality measures
(``quality.nfiq2_forest``). This module computes 65 of them the way NIST's NFIQ 2 v2.3
computes them (usnistgov/NFIQ2, ``NFIQ2Algorithm/src/features``), vectorised over blocks
instead of NIST's block loops, so that NIST's own forest can score every frame:

- frequency domain analysis (FDA), local clarity (LCS), ridge-valley uniformity (RVUP) and
  orientation flow (OF) on 32x32 blocks whose ridges are read along their orientation
  (``FeatureFunctions.cpp``: ``ridgesegment``, ``covcoef``, ``ridgeorient``,
  ``getRotatedBlock``, ``getRidgeValleyStructure``), summarised as NIST's 10-bin histograms
  with their mean and standard deviation;
- orientation certainty (OCL) of every whole 32x32 block;
- the region of interest (``ImgProcROIFeature``: erode, blur, Otsu, blur, Otsu, fill holes,
  keep the largest region), its mean grey and the coherence of its blocks (``QualityMap``);
- the mean grey of the image and of its blocks (Mu, MMB).

The other four are measures of the minutiae FingerJet FX OSE (NFIQ 2's minutia extractor)
finds, far too slow for a frame; :func:`minutiae_estimates` stands in for them.

Faithfulness details that matter, found by comparing with NFIQ 2's values on real prints
(``bench/agreement_fingerprint.py``): NFIQ 2 first crops the near-white frame (rows, then
columns, whose mean grey over the whole image exceeds 250); the 2-pixel padding of a rotated
block takes the image's pixels around the block (OpenCV pads a region of interest from its
parent image), not zeros; OF, the ROI coherence and the ROI blocks use 32-pixel blocks.
Orientation is NFIQ 2's ``atan2(c, a - b) / 2`` of the mean gradient products.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

BLOCK = 32  # NFIQ 2's block at 500 ppi
TILE = BLOCK // 2
SEGMENT_THRESHOLD = 0.1  # ridgesegment: block std over image std that holds ridges
NEAR_WHITE = 250.0
# Histogram bin limits (the last bin is open), from NIST's feature headers.
FDA_LIMITS = (0.268, 0.304, 0.33, 0.355, 0.38, 0.407, 0.44, 0.50, 1.0)
LCS_LIMITS = (0.0, 0.70, 0.74, 0.77, 0.79, 0.81, 0.83, 0.85, 0.87)
OCL_LIMITS = (0.337, 0.479, 0.579, 0.655, 0.716, 0.766, 0.81, 0.852, 0.898)
OF_LIMITS = (0.01715, 0.035, 0.0557, 0.081, 0.115, 0.1718, 0.2569, 0.4758, 0.748)
RVU_LIMITS = (0.5, 0.667, 0.8, 1.0, 1.25, 1.5, 2.0, 24.0, 30.0)
# The slanted block read along the ridges is 32x16; the window that holds it at any angle is
# ceil(sqrt(32² + 16²)) = 36 pixels, so blocks start 2 pixels in.
WINDOW = 36
OFFSET = 2
# LCS: ridge and valley widths (pixels at 500 ppi) over the normalising width 5 * 500 / 125.
WIDTH_NORM = 20.0
RIDGE_WIDTHS = (3.0 / WIDTH_NORM, 10.0 / WIDTH_NORM)
VALLEY_WIDTHS = (2.0 / WIDTH_NORM, 10.0 / WIDTH_NORM)
OF_MIN_ANGLE = math.radians(4.0)
OF_ANGLE_RANGE = math.radians(90.0 - 4.0)
ROI_SCALE = 4

MINUTIAE_MEASURES = (
    "FingerJetFX_MinCount_COMMinRect200x200",
    "FingerJetFX_MinutiaeCount",
    "FJFXPos_Mu_MinutiaeQuality_2",
    "FJFXPos_OCL_MinutiaeQuality_80",
)
# Minutiae FingerJet FX finds per 32x32 block of the region of interest in NIST's five example
# prints (usnistgov/NFIQ2, examples/output/SFinGe_Test0[1-5]_output.txt: MinutiaeCount over
# CoherenceSum / CoherenceRel, the ROI's block count): 69/196, 78/198, 68/200.5, 105/207 and
# 54/205. Taken from NIST's examples so that nothing here is fitted to the calibration prints.
MINUTIAE_PER_BLOCK = 0.37
CENTRE_SQUARE = 200  # NFIQ 2 counts the minutiae in a 200x200 square about their centre of mass
# FingerJet FX finds minutiae on ridges: the blocks whose orientation certainty exceeds the
# upper limit of NFIQ 2's lowest OCL histogram bin.
RIDGE_CERTAINTY = OCL_LIMITS[0]


def without_white_frame(image: np.ndarray) -> np.ndarray:
    """The image without its near-white border rows and columns (NFIQ 2's first step)."""
    rows = np.flatnonzero(image.mean(axis=1) <= NEAR_WHITE)
    cols = np.flatnonzero(image.mean(axis=0) <= NEAR_WHITE)
    if rows.size == 0 or cols.size == 0:
        raise ValueError("the image is blank: every row or column is near white")
    return image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def histogram(prefix: str, limits: tuple[float, ...], values: np.ndarray) -> dict[str, float]:
    """NFIQ 2's 10-bin histogram (counts) with the values' mean and standard deviation."""
    counts = np.bincount(np.searchsorted(limits, values, side="right"), minlength=10)
    found = {f"{prefix}{i}": float(count) for i, count in enumerate(counts)}
    found[f"{prefix}Mean"] = float(values.mean()) if values.size else 0.0
    found[f"{prefix}StdDev"] = float(values.std()) if values.size else 0.0
    return found


def _block_sums(stack: np.ndarray) -> np.ndarray:
    """Sums of each (k, h, w) layer over 32x32 blocks from (0, 0), the last row and column of
    blocks partial where the image is not a whole number of blocks."""
    rows = np.add.reduceat(stack, np.arange(0, stack.shape[1], BLOCK), axis=1)
    return np.add.reduceat(rows, np.arange(0, stack.shape[2], BLOCK), axis=2)


def _whole_block_sums(values: np.ndarray) -> np.ndarray:
    """Sums over the 32x32 blocks of an image that is a whole number of blocks."""
    by, bx = values.shape[0] // BLOCK, values.shape[1] // BLOCK
    return values.reshape(by, BLOCK, bx, BLOCK).sum(axis=(1, 3))


def _local_gradients(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and y gradients as NFIQ 2 takes them inside each 32x32 block from (0, 0): central
    differences inside a block, one-sided at its edges, none across a 1-pixel block."""
    return _along(img, 1), _along(img, 0)


def _along(img: np.ndarray, axis: int) -> np.ndarray:
    """The block-local gradient of ``img`` along ``axis``."""
    n = img.shape[axis]

    def at(index: object) -> tuple[object, ...]:
        return (slice(None), index) if axis == 1 else (index, slice(None))

    grad = np.empty_like(img)
    grad[at(slice(1, -1))] = (img[at(slice(2, None))] - img[at(slice(None, -2))]) / 2
    grad[at(0)] = img[at(1)] - img[at(0)]
    grad[at(-1)] = img[at(-1)] - img[at(-2)]
    starts = np.arange(0, n, BLOCK)
    ends = np.minimum(starts + BLOCK - 1, n - 1)
    inner = starts[(starts > 0) & (starts < n - 1)]
    grad[at(inner)] = img[at(inner + 1)] - img[at(inner)]
    inner = ends[(ends > 0) & (ends < n - 1)]
    grad[at(inner)] = img[at(inner)] - img[at(inner - 1)]
    grad[at(starts[starts == ends])] = 0.0
    return grad


class _Blocks:
    """Sums over the 32x32 blocks from (0, 0) that the segmentation, OCL, the ROI coherence and
    MMB all read: pixel counts, grey levels and their squares, and the gradient products."""

    def __init__(self, img: np.ndarray) -> None:
        h, w = img.shape
        gx, gy = _local_gradients(img)
        # The layers are zero beyond the image, up to whole blocks, so that partial blocks sum
        # what they hold.
        bh, bw = -(-h // BLOCK), -(-w // BLOCK)
        layers = np.zeros((6, bh * BLOCK, bw * BLOCK))
        grey, grey2, gxx, gyy, gxy, spread = (layer[:h, :w] for layer in layers)
        grey[:] = img
        np.multiply(img, img, out=grey2)
        np.multiply(gx, gx, out=gxx)
        np.multiply(gy, gy, out=gyy)
        np.multiply(gx, gy, out=gxy)
        np.subtract(gxx, gyy, out=spread)
        np.hypot(spread, 2 * gxy, out=spread)
        # Sums over 16x16 tiles; a block is 2x2 tiles, and so is a window about a lattice point.
        tiles = layers.reshape(6, 2 * bh, TILE, 2 * bw, TILE).sum(axis=(2, 4))
        sums = (
            tiles[:, 0::2, 0::2]
            + tiles[:, 1::2, 0::2]
            + tiles[:, 0::2, 1::2]
            + tiles[:, 1::2, 1::2]
        )
        self.grey, self.grey2, self.gxx, self.gyy, self.gxy, self.spread = sums
        self.tiles = tiles[[0, 2, 3, 4], : h // TILE, : w // TILE]  # whole tiles only
        heights = np.diff(np.append(np.arange(0, h, BLOCK), h))
        widths = np.diff(np.append(np.arange(0, w, BLOCK), w))
        self.count = np.outer(heights, widths).astype(np.float64)
        self.whole = (slice(0, h // BLOCK), slice(0, w // BLOCK))

    def segmented(self, img_std: float) -> np.ndarray:
        """ridgesegment's block mask: blocks whose grey-level spread, relative to the image's,
        exceeds the threshold."""
        mean = self.grey / self.count
        spread = np.sqrt(np.maximum(self.grey2 / self.count - mean * mean, 0.0))
        return spread > SEGMENT_THRESHOLD * img_std

    def certainty(self) -> np.ndarray:
        """Orientation certainty (OCL) of each block: 1 - lambda_min / lambda_max of its
        gradients' covariance, 0 for a block without gradients."""
        a, b, c = self.gxx, self.gyy, self.gxy
        root = np.sqrt((a - b) ** 2 + 4 * c * c)
        largest, smallest = (a + b + root) / 2, (a + b - root) / 2
        return np.where(largest != 0, 1.0 - smallest / np.where(largest != 0, largest, 1.0), 0.0)

    def coherence(self) -> np.ndarray:
        """QualityMap's coherence of each block's gradients."""
        along = np.hypot(self.gxx - self.gyy, 2 * self.gxy)
        return np.where(self.spread > 0, along / np.where(self.spread > 0, self.spread, 1.0), 0.0)


class _Grid:
    """The analysis blocks NFIQ 2 reads ridges in: 32x32 blocks starting 2 pixels in, each with
    its orientation and whether it lies wholly in the segmented (ridge) area."""

    def __init__(self, img: np.ndarray, segmented: np.ndarray) -> None:
        h, w = img.shape
        self.rows = np.arange(OFFSET, h - (BLOCK + OFFSET - 1), BLOCK)
        self.cols = np.arange(OFFSET, w - (BLOCK + OFFSET - 1), BLOCK)
        bottom, right = OFFSET + len(self.rows) * BLOCK, OFFSET + len(self.cols) * BLOCK
        inner = img[OFFSET:bottom, OFFSET:right]
        gx, gy = _local_gradients(inner)
        gxx, gyy = _whole_block_sums(gx * gx), _whole_block_sums(gy * gy)
        self.orientation = np.arctan2(_whole_block_sums(gx * gy), gxx - gyy) / 2
        self.inside = self._inside(segmented)

    def _inside(self, segmented: np.ndarray) -> np.ndarray:
        first_r, last_r = self.rows // BLOCK, (self.rows + BLOCK - 1) // BLOCK
        first_c, last_c = self.cols // BLOCK, (self.cols + BLOCK - 1) // BLOCK
        return (
            segmented[np.ix_(first_r, first_c)]
            & segmented[np.ix_(first_r, last_c)]
            & segmented[np.ix_(last_r, first_c)]
            & segmented[np.ix_(last_r, last_c)]
        )

    def windows(self, img: np.ndarray, size: int) -> np.ndarray:
        """(n, size, size) windows centred on the blocks inside the ridge area; the image is
        zero outside (OpenCV pads a region of interest with its parent's pixels, else 0)."""
        margin = (size - BLOCK) // 2
        padded = np.pad(img, margin)
        view = np.lib.stride_tricks.sliding_window_view(padded, (size, size))
        r, c = np.nonzero(self.inside)
        return view[self.rows[r], self.cols[c]]

    def angles(self) -> np.ndarray:
        return self.orientation[self.inside]


def _rotated_crop(
    windows: np.ndarray, angles: np.ndarray, rows: tuple[int, int], cols: tuple[int, int]
) -> np.ndarray:
    """The [rows, cols] part of each window rotated by its angle about the window's centre with
    nearest-neighbour sampling (OpenCV's getRotationMatrix2D and warpAffine; zero outside)."""
    n, size, _ = windows.shape
    centre = size / 2.0
    radians = np.radians(np.degrees(angles))  # NFIQ 2 hands OpenCV degrees
    alpha = np.cos(radians)[:, None, None]
    beta = np.sin(radians)[:, None, None]
    # getRotationMatrix2D, then the inverse warpAffine samples with, in its fixed point
    # (1/1024 pixel, rounded half to even, plus a half for the nearest pixel).
    m02 = (1 - alpha) * centre - beta * centre
    m12 = beta * centre + (1 - alpha) * centre
    det = 1.0 / (alpha * alpha + beta * beta)
    a11, a12, a21 = alpha * det, -beta * det, beta * det
    b1 = -a11 * m02 - a12 * m12
    b2 = -a21 * m02 - a11 * m12
    ys = np.arange(rows[0], rows[1])[:, None]
    xs = np.arange(cols[0], cols[1])[None, :]
    # Each coordinate is a per-row part plus a per-column part, each rounded on its own.
    sx = (np.rint((a12 * ys + b1) * 1024) + 512).astype(np.int64) + np.rint(a11 * xs * 1024).astype(
        np.int64
    )
    sy = (np.rint((a11 * ys + b2) * 1024) + 512).astype(np.int64) + np.rint(a21 * xs * 1024).astype(
        np.int64
    )
    sx >>= 10
    sy >>= 10
    inside = (sx >= 0) & (sx < size) & (sy >= 0) & (sy < size)
    flat = windows.reshape(n, size * size)
    index = np.clip(sy, 0, size - 1) * size + np.clip(sx, 0, size - 1)
    points = (rows[1] - rows[0]) * (cols[1] - cols[0])
    picked = np.take_along_axis(flat, index.reshape(n, points), 1).reshape(sx.shape)
    return np.where(inside, picked, 0)


def _ridge_valley(profile_block: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """getRidgeValleyStructure: column means, their least-squares line, and the ridge columns
    (darker than the line)."""
    v3 = profile_block.mean(axis=1)
    x = np.arange(1, v3.shape[1] + 1, dtype=np.float64)
    centred = x - x.mean()
    slope = (centred * (v3 - v3.mean(axis=1, keepdims=True))).sum(axis=1) / (centred**2).sum()
    intercept = v3.mean(axis=1) - slope * x.mean()
    # NFIQ 2 rounds the line's coefficients to 10 decimals.
    slope, intercept = np.round(slope, 10), np.round(intercept, 10)
    line = x * slope[:, None] + intercept[:, None]
    return v3, line, v3 < line


def fda_values(windows: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Frequency domain analysis of each block: the share of the profile's spectrum (across the
    ridges) at its dominant frequency and beside it."""
    crop = _rotated_crop(windows, angles + np.pi / 2, (OFFSET, 34), (10, 26))
    amplitude = np.abs(np.fft.fft(crop.mean(axis=2), axis=1))[:, 1:]
    peak = amplitude.argmax(axis=1)
    n = np.arange(len(peak))
    side = (
        amplitude[n, np.maximum(peak - 1, 0)]
        + amplitude[n, np.minimum(peak + 1, amplitude.shape[1] - 1)]
    )
    denominator = amplitude[:, : amplitude.shape[1] // 2].sum(axis=1)
    value = (amplitude[n, peak] + 0.3 * side) / np.where(denominator > 0, denominator, 1.0)
    edge = (peak == 0) | (peak + 1 >= amplitude.shape[1])
    return np.where(edge, 1.0, value)


def _run_widths(ridge: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """LCS's widths between changes of the ridge flags, normalised: sums and counts of the
    even-numbered and odd-numbered widths (the first from column 0 to the first change). Each
    width is normalised before the sum, as NFIQ 2 does, so that a mean on a plausibility limit
    falls on the same side of it."""
    change = ridge[:, 1:] != ridge[:, :-1]
    position = np.arange(change.shape[1])
    previous = np.maximum.accumulate(np.where(change, position, 0), axis=1)
    previous = np.concatenate([np.zeros((len(ridge), 1), np.int64), previous[:, :-1]], axis=1)
    width = np.where(change, position - previous, 0) / WIDTH_NORM
    even = change & ((np.cumsum(change, axis=1) - 1) % 2 == 0)
    odd = change & ~even
    # Summed in order (cumsum), as OpenCV's mean does.
    return (
        np.cumsum(width * even, axis=1)[:, -1],
        even.sum(1),
        np.cumsum(width * odd, axis=1)[:, -1],
        odd.sum(1),
    )


def lcs_values(windows: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Local clarity of each block: 1 - the mean share of ridge and valley pixels on the wrong
    side of the profile's line, or 0 when the ridge or valley widths are implausible."""
    crop = _rotated_crop(windows, angles, (10, 26), (OFFSET, 34))
    _v3, line, ridge = _ridge_valley(crop)
    even_sum, even_n, odd_sum, odd_n = _run_widths(ridge)
    # OpenCV's mean multiplies by the reciprocal of the count.
    even_mean = even_sum * np.where(even_n > 0, 1.0 / np.maximum(even_n, 1), 0.0)
    odd_mean = odd_sum * np.where(odd_n > 0, 1.0 / np.maximum(odd_n, 1), 0.0)
    starts_on_ridge = ridge[:, 0]
    ridge_w = np.where(starts_on_ridge, even_mean, odd_mean)
    valley_w = np.where(starts_on_ridge, odd_mean, even_mean)
    plausible = (
        (even_n + odd_n > 0)
        & (ridge_w >= RIDGE_WIDTHS[0])
        & (ridge_w <= RIDGE_WIDTHS[1])
        & (valley_w >= VALLEY_WIDTHS[0])
        & (valley_w <= VALLEY_WIDTHS[1])
    )
    brighter = crop >= line[:, None, :]
    ridge_cols = ridge[:, None, :]
    rows = crop.shape[1]
    bad_ridge = (brighter & ridge_cols).sum(axis=(1, 2)) / np.maximum(ridge.sum(1) * rows, 1)
    bad_valley = (~brighter & ~ridge_cols).sum(axis=(1, 2)) / np.maximum((~ridge).sum(1) * rows, 1)
    return np.where(plausible, 1.0 - (bad_ridge + bad_valley) / 2, 0.0)


def rvu_values(windows: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Ridge-valley uniformity: ratios of successive complete ridge and valley widths."""
    crop = _rotated_crop(windows, angles, (10, 26), (OFFSET, 34))
    _v3, _line, ridge = _ridge_valley(crop)
    change = ridge[:, 1:-1] != ridge[:, :-2]  # NFIQ 2 leaves out the last column
    count = change.sum(axis=1)
    position = np.where(change, np.arange(change.shape[1]), change.shape[1] + 1)
    position.sort(axis=1)
    first = position[:, 0]
    n = np.arange(len(ridge))
    begins_on_ridge = ridge[n, np.minimum(first + 1, ridge.shape[1] - 1)].astype(np.int64)
    width = np.diff(position, axis=1).astype(np.float64)  # width[j]: change j to j + 1
    j = np.arange(1, width.shape[1])
    ratio = width[:, 1:] / np.where(width[:, :-1] > 0, width[:, :-1], 1.0)  # width j / j - 1
    valid = (j[None, :] >= 2) & (j[None, :] <= count[:, None] - 2)
    invert = (count[:, None] - j[None, :] - begins_on_ridge[:, None]) % 2 == 0
    ratio = np.where(invert, 1.0 / np.where(ratio > 0, ratio, 1.0), ratio)
    return ratio[valid]


def ocl_values(blocks: _Blocks) -> np.ndarray:
    """Orientation certainty of every whole 32x32 block from (0, 0) with any gradient."""
    largest_nonzero = (blocks.gxx + blocks.gyy)[blocks.whole] != 0
    return blocks.certainty()[blocks.whole][largest_nonzero]


def of_values(grid: _Grid) -> np.ndarray:
    """Orientation flow: how far each block's orientation departs from its 8 neighbours'
    (NFIQ 2 takes plain angle differences, with zero angles beyond the grid)."""
    angle = grid.orientation
    padded = np.pad(angle, 1)
    inside = np.pad(grid.inside, 1)
    rows, cols = angle.shape
    difference = np.zeros_like(angle)
    all_inside = np.ones_like(grid.inside)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            difference += np.abs(padded[dy : dy + rows, dx : dx + cols] - angle)
            all_inside &= inside[dy : dy + rows, dx : dx + cols]
    difference /= 8
    used = all_inside & (difference > OF_MIN_ANGLE)
    return (difference[used] - OF_MIN_ANGLE) / OF_ANGLE_RANGE


def region_of_interest(image: np.ndarray) -> np.ndarray:
    """ImgProcROI's region: erode, blur, Otsu, blur, Otsu, fill holes, keep the largest region
    (by its bounding box). Returns the boolean mask of the finger.

    NFIQ 2 blurs with 41- and 91-pixel Gaussians (sigma 6.5 and 14); on a frame that costs more
    than everything else together, so the blurs, thresholds and regions are taken at a
    ``ROI_SCALE``-th of the resolution (its mean grey stays within a fraction of a grey level:
    bench/agreement_fingerprint.py)."""
    eroded = cv2.erode(image, np.ones((5, 5), np.uint8))
    h, w = image.shape
    small = cv2.resize(eroded, (w // ROI_SCALE, h // ROI_SCALE), interpolation=cv2.INTER_AREA)
    first_size, second_size = _odd(41 / ROI_SCALE), _odd(91 / ROI_SCALE)
    blurred = cv2.GaussianBlur(small, (first_size, first_size), 6.5 / ROI_SCALE)
    _, first = cv2.threshold(blurred, 0, 255, cv2.THRESH_OTSU)
    blurred = cv2.GaussianBlur(first, (second_size, second_size), 14.0 / ROI_SCALE)
    _, second = cv2.threshold(blurred, 0, 255, cv2.THRESH_OTSU)
    contours, hierarchy = cv2.findContours(
        cv2.bitwise_not(second), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE
    )
    if hierarchy is not None:
        for index, entry in enumerate(hierarchy[0]):
            if entry[3] != -1:  # a hole in the dark region
                cv2.drawContours(second, contours, index, 0, cv2.FILLED, 8, hierarchy)
    dark = (second == 0).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=4)
    if count > 2:
        box = stats[1:, cv2.CC_STAT_WIDTH] * stats[1:, cv2.CC_STAT_HEIGHT]
        dark = (labels == 1 + int(np.argmax(box))).astype(np.uint8)
    return cv2.resize(dark, (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)


def _odd(size: float) -> int:
    return round(size) | 1


def roi_measures(img: np.ndarray, roi: np.ndarray, blocks: _Blocks) -> dict[str, float]:
    """The ROI's mean grey and the coherence of its 32x32 blocks (their sum and mean)."""
    in_roi = _block_sums(roi[None].astype(np.float64))[0] > 0
    count = int(in_roi.sum())
    coherence = float(blocks.coherence()[in_roi].sum())
    return {
        "ImgProcROIArea_Mean": float(img[roi].mean()) if roi.any() else 255.0,
        "OrientationMap_ROIFilter_CoherenceSum": coherence,
        "OrientationMap_ROIFilter_CoherenceRel": coherence / count if count else 0.0,
    }


def native_measures(image: np.ndarray) -> dict[str, float]:
    """NFIQ 2's 69 native measures of a uint8 500 ppi print, the four minutiae measures
    estimated (:func:`minutiae_estimates`)."""
    cropped = without_white_frame(image)
    img = cropped.astype(np.float64)
    blocks = _Blocks(img)
    grid = _Grid(img, blocks.segmented(float(img.std())))
    angles = grid.angles()
    plain = grid.windows(img, WINDOW)
    padded = grid.windows(img, WINDOW + 4)
    measures = histogram("FDA_Bin10_", FDA_LIMITS, fda_values(padded, angles))
    measures |= histogram("LCS_Bin10_", LCS_LIMITS, lcs_values(plain, angles))
    measures |= histogram("RVUP_Bin10_", RVU_LIMITS, rvu_values(padded, angles))
    measures |= histogram("OCL_Bin10_", OCL_LIMITS, ocl_values(blocks))
    measures |= histogram("OF_Bin10_", OF_LIMITS, of_values(grid))
    roi = region_of_interest(cropped)
    measures |= roi_measures(img, roi, blocks)
    measures |= minutiae_estimates(roi, blocks, float(img.mean()), float(img.std()))
    measures["MMB"] = float((blocks.grey / blocks.count).mean())
    measures["Mu"] = float(img.mean())
    return measures


def minutiae_estimates(
    roi: np.ndarray, blocks: _Blocks, img_mean: float, img_std: float
) -> dict[str, float]:
    """Stand-ins for NFIQ 2's four FingerJet FX minutiae measures.

    The minutiae are taken as spread evenly over the ridges of the region of interest (its
    blocks whose orientation certainty says they hold ridges): their count is that area times
    the density of NIST's example prints (``MINUTIAE_PER_BLOCK``), the count about their centre
    of mass that density over the part inside a 200x200 square about the area's centre, and
    their two quality shares (FJFXMinutiaeQualityFeatures.cpp) are taken at the points of the
    16-pixel lattice in that area, each with the 32x32 window about it: the share whose window
    mean is between 0 and 0.5 standard deviations darker than the image (Mu_MinutiaeQuality_2)
    and the share whose window's orientation certainty exceeds 0.80 (OCL_MinutiaeQuality_80)."""
    h, w = roi.shape
    ridged = blocks.certainty() > RIDGE_CERTAINTY
    area = roi & np.repeat(np.repeat(ridged, BLOCK, axis=0), BLOCK, axis=1)[:h, :w]
    density = MINUTIAE_PER_BLOCK / (BLOCK * BLOCK)
    estimates = dict.fromkeys(MINUTIAE_MEASURES, 0.0)
    estimates["FingerJetFX_MinutiaeCount"] = float(round(area.sum() * density))
    if not area.any():
        return estimates
    ys, xs = np.nonzero(area)
    cy, cx = int(ys.mean()), int(xs.mean())
    half = CENTRE_SQUARE // 2
    square = area[max(cy - half, 0) : cy + half + 1, max(cx - half, 0) : cx + half + 1]
    estimates["FingerJetFX_MinCount_COMMinRect200x200"] = float(round(square.sum() * density))
    # Windows of 2x2 tiles about the inner lattice points (16 k, 16 l).
    tiles = blocks.tiles
    windows = tiles[:, :-1, :-1] + tiles[:, 1:, :-1] + tiles[:, :-1, 1:] + tiles[:, 1:, 1:]
    rows, cols = windows.shape[1:]
    points = area[TILE : TILE * (rows + 1) : TILE, TILE : TILE * (cols + 1) : TILE]
    if not points.any():
        return estimates
    grey, a, b, c = (layer[points] for layer in windows)
    darker = (img_mean - grey / (BLOCK * BLOCK)) / img_std
    estimates["FJFXPos_Mu_MinutiaeQuality_2"] = float(np.mean((darker > 0) & (darker <= 0.5)))
    root = np.sqrt((a - b) ** 2 + 4 * c * c)
    largest = a + b + root
    certainty = np.where(largest > 0, 2 * root / np.where(largest > 0, largest, 1.0), 0.0)
    estimates["FJFXPos_OCL_MinutiaeQuality_80"] = float(
        np.mean(np.floor(certainty * 100 + 0.5) > 80)
    )
    return estimates
