"""Iris quality after ISO/IEC 29794-6 on one uint8 grey NIR eye image.

Segmentation: illuminator glints in the pupil are filled in; the pupil is the darkest compact
blob (found at reduced resolution, at several dark levels), refined twice with the strongest
dark-to-bright edge along rays from its centre; the iris boundary is Daugman's
integro-differential search on the left and right arcs (clear of the lids), its radius bounded
by the pupil (pupil/iris ratios 0.15..0.85) and by the image, refined ray by ray and fitted
with a circle. The lids are measured (how far the iris runs up and down before they hide it)
and count as occlusion, never as the boundary. Measures: radii and centres, pupil/iris ratio,
iris-sclera and iris-pupil contrast, concentricity, margins, usable iris area, grey-scale
utilisation and focus. Pixel measures are in the original image's pixels.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from quality.base import QualityResult, Reason
from quality.config import IrisConfig
from quality.reasons import reason

_MIN_SIDE = 64
_ANGLES = 180
# Focus: Daugman's 8x8 band-pass kernel (-1 around, +3 in the central 4x4, zero sum), its
# response power x over the iris, scored f(x) = 100 x^2 / (x^2 + c^2) (J. Daugman, "How iris
# recognition works", IEEE TCSVT 14(1), 2004, focus assessment; ISO/IEC 29794-6 scores its
# sharpness with the same form). c, the power scoring 50, is IrisConfig.sharpness_half_power.
_SHARPNESS_KERNEL = np.full((8, 8), -1.0, np.float32)
_SHARPNESS_KERNEL[2:6, 2:6] = 3.0
# The outer boundary is searched for pupil/iris ratios in this range (wider than the
# standard's 0.2..0.7 so that a dilated or constricted pupil is measured, then refused).
_SEARCH_MIN_RATIO = 0.15
_SEARCH_MAX_RATIO = 0.85
_STEP_CAP = 24.0  # grey levels: cap on one ray's step in the arc operator
_MIN_ARC_STEP = 3.0  # mean capped step (left + right) below which there is no iris edge


def _validated(image: object) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise ValueError("iris image must be a numpy array")
    if image.dtype != np.uint8:
        raise ValueError(f"iris image must be uint8 grey, not {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim != 2:
        raise ValueError(f"iris image must be 2-D grey, got shape {image.shape}")
    if min(image.shape) < _MIN_SIDE:
        raise ValueError(f"iris image too small: {image.shape}")
    return image


def _visible_run(is_iris: np.ndarray, start: int, stop: int) -> float:
    """Median over the rays of the radius where, going outwards from ``start``, the iris
    first gives way to something else for 4 pixels running (``stop`` when it never does)."""
    if stop - start < 4 or not is_iris.size:
        return float(stop)
    hidden = ~is_iris[:, start:stop]
    runs = np.cumsum(hidden, axis=1, dtype=np.int32)
    runs[:, 4:] -= runs[:, :-4].copy()
    blocked = runs >= 4
    first = np.where(blocked.any(axis=1), np.argmax(blocked, axis=1) - 3, stop - start)
    return float(start + np.median(first))


def _median(values: np.ndarray, default: float) -> float:
    return float(np.median(values)) if values.size else default


def _ramp(value: float, bad: float, good: float) -> float:
    if good == bad:
        return 1.0 if value >= good else 0.0
    return float(np.clip((value - bad) / (good - bad), 0.0, 1.0))


def _find_pupil(grey: np.ndarray, factor: float) -> tuple[float, float, float] | None:
    """Coarse pupil (x, y, r) in original pixels from the darkest compact blob."""
    small = cv2.resize(grey, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    small = cv2.medianBlur(small, 5)
    darkest = float(np.percentile(small, 0.5))
    if darkest > 80:
        return None
    middle = float(np.median(small))
    # Several dark levels: an unevenly lit pupil is whole only at the higher ones.
    levels = sorted({darkest + 28, darkest + 0.3 * (middle - darkest)})
    open_kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    contours = []
    for level in levels:
        mask = cv2.morphologyEx((small < level).astype(np.uint8), cv2.MORPH_OPEN, open_kernel)
        contours += cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]
    best = None
    min_area = math.pi * (6 * factor / 0.5) ** 2
    max_area = 0.25 * small.shape[0] * small.shape[1]
    for contour in contours:
        area = cv2.contourArea(cv2.convexHull(contour))
        bx, by, bw, bh = cv2.boundingRect(contour)
        touches_edge = bx == 0 or by == 0 or bx + bw >= small.shape[1] or by + bh >= small.shape[0]
        if area < min_area or area > max_area or touches_edge:
            continue
        (x, y), r = cv2.minEnclosingCircle(contour)
        circularity = area / (math.pi * r * r + 1e-6)
        if circularity < 0.55:
            continue
        fit = circularity * math.sqrt(area)
        if best is None or fit > best[0]:
            best = (fit, x / factor, y / factor, math.sqrt(area / math.pi) / factor)
    return None if best is None else best[1:]


def _polar(grey: np.ndarray, centre: tuple[float, float], max_radius: float) -> np.ndarray:
    """(angles, radii) float32 polar resampling, one pixel per radius step."""
    size = (max(2, int(max_radius)), _ANGLES)
    polar = cv2.warpPolar(grey, size, centre, max_radius, cv2.INTER_LINEAR + cv2.WARP_POLAR_LINEAR)
    return polar.astype(np.float32)


def _edge_radii(polar: np.ndarray, rows: np.ndarray, r_lo: int, r_hi: int) -> np.ndarray:
    """Per selected angle row, the radius of the strongest dark-to-bright step in [r_lo, r_hi)."""
    band = cv2.GaussianBlur(polar[rows], (0, 0), sigmaX=2.0, sigmaY=0.8)
    grad = band[:, 4:] - band[:, :-4]  # step over 4 px, centred at +2
    r_lo, r_hi = max(r_lo, 0), min(r_hi, grad.shape[1])
    if r_hi - r_lo < 3:
        return np.full(len(rows), np.nan)
    window = grad[:, r_lo:r_hi]
    best = np.argmax(window, axis=1)
    idx = np.arange(len(rows))
    strength = window[idx, best]
    # Sub-pixel: the vertex of the parabola through the peak and its neighbours.
    left = window[idx, np.maximum(best - 1, 0)]
    right = window[idx, np.minimum(best + 1, window.shape[1] - 1)]
    curve = left - 2 * strength + right
    shift = np.where(curve < 0, 0.5 * (left - right) / np.where(curve < 0, curve, -1.0), 0.0)
    radii = best + r_lo + 2 + np.clip(shift, -0.5, 0.5).astype(np.float64)
    radii[strength < 6.0] = np.nan
    return radii


def _fit_circle(xs: np.ndarray, ys: np.ndarray) -> tuple[float, float, float] | None:
    """Least-squares (Kasa) circle through the points."""
    if len(xs) < 6:
        return None
    a = np.column_stack([xs, ys, np.ones_like(xs)])
    b = xs**2 + ys**2
    (p, q, c), *_ = np.linalg.lstsq(a, b, rcond=None)
    cx, cy = p / 2, q / 2
    r2 = c + cx**2 + cy**2
    return (float(cx), float(cy), float(math.sqrt(r2))) if r2 > 0 else None


def _deglare(grey: np.ndarray, factor: float) -> np.ndarray:
    """The image with the small specular spots that sit in a dark surround (illuminator glints
    in the pupil) and their halos set to the surround's dark level, so that they neither
    break the pupil nor look like its edge. Used for segmentation only."""
    bright = (grey > 200).astype(np.uint8)
    if not bright.any():
        return grey
    size = max(5, round(11 / factor))  # the largest glint, in original pixels
    count, labels, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=8)
    small_ids = np.flatnonzero(
        (stats[:, cv2.CC_STAT_WIDTH] <= size)
        & (stats[:, cv2.CC_STAT_HEIGHT] <= size)
        & (stats[:, cv2.CC_STAT_AREA] >= max(4.0, (0.3 * size) ** 2))  # not iris speckle
    )
    small_ids = small_ids[small_ids > 0]
    if not small_ids.size:
        return grey
    keep = np.zeros(count, bool)
    keep[small_ids] = True
    grow = max(3, size // 2) | 1
    spots = cv2.dilate(keep[labels].astype(np.uint8), np.ones((grow, grow), np.uint8))
    # The surround's level: a minimum over the glint size, at reduced resolution.
    reduced = cv2.resize(grey, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    window = max(3, round(size * factor) | 1)
    floor = cv2.resize(
        cv2.erode(reduced, np.ones((window, window), np.uint8)),
        (grey.shape[1], grey.shape[0]),
        interpolation=cv2.INTER_NEAREST,
    )
    spots = spots.astype(bool) & (floor < np.percentile(reduced, 1.0) + 40)
    if not spots.any():
        return grey
    out = grey.copy()
    out[spots] = floor[spots]
    return out


def _arc_profile(polar: np.ndarray, rows: np.ndarray, limit: float) -> np.ndarray:
    """Daugman's integro-differential operator on an arc: the mean smoothed radial
    dark-to-bright step over the given angle rows, per radius (zero past ``limit``).

    Each ray's step is capped, so a few strong lash or lid edges cannot outweigh a boundary
    that is present on most rays.
    """
    band = cv2.GaussianBlur(polar[rows], (0, 0), sigmaX=2.0, sigmaY=0.8)
    grad = np.zeros_like(band)
    grad[:, 2:-2] = band[:, 4:] - band[:, :-4]
    profile = np.clip(grad, 0.0, _STEP_CAP).mean(axis=0)
    profile[int(max(limit, 0)) :] = 0.0
    return profile


def _iris_circle(
    grey: np.ndarray, px: float, py: float, pr: float, config: IrisConfig
) -> tuple[float, float, float] | None:
    """Outer iris boundary: the strongest circular dark-to-bright step on the left and right
    arcs (clear of the lids), with radii bounded by the pupil (the pupil/iris ratio range)
    and by the image, refined ray by ray and fitted with a circle."""
    height, width = grey.shape
    r_lo = max(pr / _SEARCH_MAX_RATIO, pr + 4.0)
    r_hi = min(pr / _SEARCH_MIN_RATIO, 0.5 * max(height, width))
    if r_hi <= r_lo + 4:
        return None
    polar = _polar(grey, (px, py), r_hi + 4)
    angles = np.arange(_ANGLES) * (2 * math.pi / _ANGLES)
    up = np.radians(config.arc_above_deg)
    down = np.radians(config.arc_below_deg)
    sin = np.sin(angles)
    lateral_sin = (sin >= -math.sin(up)) & (sin <= math.sin(down))
    right = np.flatnonzero(lateral_sin & (np.cos(angles) > 0))
    left = np.flatnonzero(lateral_sin & (np.cos(angles) < 0))
    prof_r = _arc_profile(polar, right, width - px - 2)
    prof_l = _arc_profile(polar, left, px - 2)
    # Candidate radii (every other pixel: the rays refine it below).
    radii = np.arange(math.ceil(r_lo), min(int(r_hi), polar.shape[1] - 1) + 1, 1)
    if radii.size < 2:
        return None
    left_step, right_step = prof_l[radii], prof_r[radii]
    # Joint left/right choice: the centres may differ by at most max_concentricity radii.
    total = left_step[:, None] + right_step[None, :]
    mean_r = (radii[:, None] + radii[None, :]) / 2
    total[np.abs(radii[:, None] - radii[None, :]) > 2 * config.max_concentricity * mean_r] = 0
    # One side may be hidden (image edge, lid); accept when the other side carries it.
    il, ir_ = divmod(int(np.argmax(total)), radii.size)
    if total[il, ir_] < _MIN_ARC_STEP or min(left_step[il], right_step[ir_]) < 0.25 * _MIN_ARC_STEP:
        return None
    rl, rr = int(radii[il]), int(radii[ir_])
    cx, cr = px + (rr - rl) / 2.0, (rl + rr) / 2.0
    # Ray-by-ray refinement near the coarse circle, then a least-squares circle.
    rows = np.concatenate([left, right])
    xs, ys = [], []
    for side_rows, r0 in ((left, rl), (right, rr)):
        found = _edge_radii(polar, side_rows, int(0.9 * r0), int(1.1 * r0) + 1)
        ok = ~np.isnan(found)
        xs.append(px + found[ok] * np.cos(angles[side_rows][ok]))
        ys.append(py + found[ok] * np.sin(angles[side_rows][ok]))
    del rows
    fitted = _fit_circle(np.concatenate(xs), np.concatenate(ys))
    if fitted is not None:
        fx, fy, fr = fitted
        if (
            all(map(math.isfinite, fitted))
            and abs(fr - cr) < 0.08 * cr
            and math.hypot(fx - cx, fy - py) < 0.08 * cr
        ):
            return fx, fy, fr
    return cx, py, cr


def _segment(grey: np.ndarray, config: IrisConfig) -> dict[str, float] | None:
    _height, width = grey.shape
    factor = min(1.0, config.analysis_width / width)
    grey = _deglare(grey, factor)
    coarse = _find_pupil(grey, factor)
    if coarse is None:
        return None
    px, py, pr = coarse
    angles = np.arange(_ANGLES) * (2 * math.pi / _ANGLES)
    all_rows = np.arange(_ANGLES)
    # Pupil boundary: strongest dark-to-bright step near the current circle, all around, with
    # rays far from the median radius (glints, lashes) left out; twice, since the dark blob can
    # be off-centre when the pupil is unevenly lit.
    cx, cy, cr = px, py, pr
    for lo, hi in ((0.8, 1.2), (0.88, 1.12)):
        polar = _polar(grey, (px, py), hi * pr + 8)
        radii = _edge_radii(polar, all_rows, int(lo * pr), int(hi * pr) + 1)
        ok = ~np.isnan(radii)
        if ok.sum() < 12:
            return None
        ok &= np.abs(radii - np.median(radii[ok])) < 0.15 * np.median(radii[ok])
        fitted = _fit_circle(
            px + radii[ok] * np.cos(angles[ok]), py + radii[ok] * np.sin(angles[ok])
        )
        if fitted is None or not all(map(math.isfinite, fitted)):
            return None
        if abs(fitted[2] - cr) > 0.4 * cr or math.hypot(fitted[0] - cx, fitted[1] - cy) > 0.4 * cr:
            break
        px, py, pr = fitted
    circle = _iris_circle(grey, px, py, pr, config)
    if circle is None:
        return None
    ix, iy, ir = circle
    return {
        "pupil_x": px,
        "pupil_y": py,
        "pupil_radius": pr,
        "iris_x": ix,
        "iris_y": iy,
        "iris_radius": ir,
    }


def assess_iris(image_grey: np.ndarray, config: IrisConfig | None = None) -> QualityResult:
    """Score one NIR eye image 0..100 with the segmented circles in ``measures``.

    Raises ValueError when the image is not uint8 2-D of at least 64x64 pixels.
    """
    config = config or IrisConfig()
    grey = _validated(image_grey)
    height, width = grey.shape
    seg = _segment(grey, config)
    if seg is None:
        return QualityResult("iris", 0, {}, [reason("EYE_NOT_FOUND")])
    m: dict[str, float] = dict(seg)
    px, py, pr = seg["pupil_x"], seg["pupil_y"], seg["pupil_radius"]
    ix, iy, ir = seg["iris_x"], seg["iris_y"], seg["iris_radius"]
    if not (all(map(math.isfinite, seg.values())) and 0 < pr < ir):
        return QualityResult("iris", 0, {}, [reason("EYE_NOT_FOUND")])

    # Grey levels of pupil, iris and sclera from a polar strip around the iris centre.
    polar = _polar(grey, (ix, iy), 1.35 * ir)
    radii = np.arange(polar.shape[1], dtype=np.float32)[None, :]
    angles = np.arange(_ANGLES) * (2 * math.pi / _ANGLES)
    lateral = np.abs(np.cos(angles)) > math.cos(math.radians(30))
    # The pupil's level is its lower quartile inside 0.8 of its radius: illuminator glints and
    # their glow (up to half the pupil on some cameras) are not pupil.
    y0, y1 = max(0, int(py - 0.8 * pr)), min(height, int(py + 0.8 * pr) + 1)
    x0, x1 = max(0, int(px - 0.8 * pr)), min(width, int(px + 0.8 * pr) + 1)
    yy, xx = np.mgrid[y0:y1, x0:x1]
    disc = grey[y0:y1, x0:x1][(yy - py) ** 2 + (xx - px) ** 2 < (0.8 * pr) ** 2]
    pupil_level = float(np.percentile(disc, 25)) if disc.size else 0.0
    ring = (radii > pr + 0.15 * (ir - pr)) & (radii < 0.92 * ir)
    iris_pixels = polar[np.broadcast_to(ring, polar.shape)]
    iris_level = _median(polar[lateral][:, ring[0]], pupil_level)
    outside = (radii[0] > 1.1 * ir) & (radii[0] < 1.3 * ir)
    sclera_level = _median(polar[lateral][:, outside], iris_level)
    m.update(pupil_level=pupil_level, iris_level=iris_level, sclera_level=sclera_level)
    m["iris_sclera_contrast"] = (
        100 * abs(sclera_level - iris_level) / max(sclera_level + iris_level - 2 * pupil_level, 1.0)
    )
    m["iris_pupil_contrast"] = (
        100 * abs(iris_level - pupil_level) / max(iris_level + pupil_level, 1.0)
    )

    # Usable area: iris-ring pixels that look like iris (not lid, lashes or reflections).
    low = pupil_level + 0.45 * (iris_level - pupil_level)
    # Inside the iris circle, brighter than the iris means lid skin or a reflection; NIR
    # lighting leaves the iris unevenly bright, so the cut sits well above its median.
    high = iris_level + max(0.4 * (sclera_level - iris_level), 20.0)
    # Judge occlusion on the locally averaged strip, so iris texture does not look like lid.
    blurred = cv2.blur(polar, (9, 5))
    smooth = blurred[np.broadcast_to(ring, polar.shape)]
    usable = (smooth > low) & (smooth < high)
    m["usable_iris_area"] = float(usable.mean()) if usable.size else 0.0
    # Eyelids: on the rays within 30 degrees of straight up and down, how far the iris runs
    # from the pupil before the lid (or the image edge) hides it, as a fraction of the radius.
    is_iris = (blurred > low) & (blurred < high)
    start = int(pr + 0.15 * (ir - pr))
    for name, sector in (("lid_up", np.sin(angles) < -0.866), ("lid_down", np.sin(angles) > 0.866)):
        m[name] = _visible_run(is_iris[sector], start, int(ir)) / ir
    # Specular reflections (windows, spectacles): ring pixels brighter than the sclera.
    glare_level = max(sclera_level, iris_level) + config.reflection_margin
    m["reflection_fraction"] = float((smooth > glare_level).mean()) if smooth.size else 0.0
    hist = np.bincount(iris_pixels[usable].astype(np.uint8), minlength=256).astype(np.float64)
    prob = hist[hist > 0] / max(hist.sum(), 1.0)
    m["grey_scale_bits"] = float(-(prob * np.log2(prob)).sum())

    m["pupil_iris_ratio"] = pr / ir
    m["concentricity"] = math.hypot(px - ix, py - iy) / ir
    # Margins of the visible iris: beside it the whole circle, above and below it the part the
    # lids leave open (an iris running under a lid and off the image is not badly framed).
    margins = (
        (ix - ir) / ir,
        (width - ix - ir) / ir,
        (iy - m["lid_up"] * ir) / ir,
        (height - iy - m["lid_down"] * ir) / ir,
    )
    m["margin_left"], m["margin_right"], m["margin_up"], m["margin_down"] = margins
    # ISO/IEC 29794-6 margin adequacy against the ISO/IEC 19794-6 margins (0.6 R beside, 0.2 R
    # above and below); the iris is refused as not centred below the configured margins.
    m["margin_adequacy"] = float(np.clip(min(min(margins[:2]) / 0.6, min(margins[2:]) / 0.2), 0, 1))
    m["margin_short"] = float(
        min(margins[:2]) < config.min_margin or min(margins[2:]) < config.min_margin_vertical
    )

    # Sharpness on the iris's bounding box.
    x0, x1 = int(max(0, ix - ir)), int(min(width, ix + ir))
    y0, y1 = int(max(0, iy - ir)), int(min(height, iy + ir))
    roi = grey[y0:y1, x0:x1].astype(np.float32)
    response = cv2.filter2D(roi, -1, _SHARPNESS_KERNEL)[4:-4:4, 4:-4:4] if roi.size else roi
    power = float(np.mean(response**2)) / 64.0 if response.size else 0.0
    m["sharpness_power"] = power
    m["sharpness"] = 100 * power**2 / (power**2 + config.sharpness_half_power**2)

    if not all(map(math.isfinite, m.values())):  # no measure may carry a NaN into the score
        return QualityResult("iris", 0, {}, [reason("EYE_NOT_FOUND")])
    return _score(m, ir, config)


def _score(m: dict[str, float], ir: float, config: IrisConfig) -> QualityResult:
    reasons: list[Reason] = []
    parts: list[tuple[float, float]] = []

    def check(ok_value: float, weight: float, failed: bool, code: str) -> None:
        parts.append((ok_value, weight))
        if failed and code not in {r.code for r in reasons}:
            reasons.append(reason(code))

    check(
        _ramp(ir, 0.6 * config.min_iris_radius, 1.1 * config.min_iris_radius),
        1.0,
        ir < config.min_iris_radius,
        "IRIS_TOO_SMALL",
    )
    check(
        _ramp(ir, 1.3 * config.max_iris_radius, config.max_iris_radius),
        1.0,
        ir > config.max_iris_radius,
        "IRIS_TOO_LARGE",
    )
    ratio = m["pupil_iris_ratio"]
    check(
        min(
            _ramp(ratio, config.min_pupil_iris_ratio - 0.08, config.min_pupil_iris_ratio + 0.1),
            _ramp(ratio, config.max_pupil_iris_ratio + 0.08, config.max_pupil_iris_ratio - 0.1),
        ),
        1.0,
        not config.min_pupil_iris_ratio <= ratio <= config.max_pupil_iris_ratio,
        "PUPIL_DILATION",
    )
    check(
        _ramp(m["concentricity"], 2.5 * config.max_concentricity, config.max_concentricity),
        0.5,
        m["concentricity"] > config.max_concentricity,
        "IRIS_OFF_AXIS",
    )
    check(m["margin_adequacy"] ** 0.5, 1.0, m["margin_short"] > 0, "IRIS_NOT_CENTRED")
    # The iris is hidden by the lids or by reflections, whichever covers more of it.
    hidden = 1.0 - m["usable_iris_area"]
    cover = "IRIS_REFLECTIONS" if m["reflection_fraction"] > hidden / 2 else "IRIS_OCCLUDED"
    check(
        _ramp(m["usable_iris_area"], 0.3, 0.9),
        1.5,
        m["usable_iris_area"] < config.min_usable_area,
        cover,
    )
    contrast_ok = min(
        _ramp(
            m["iris_sclera_contrast"],
            0.4 * config.min_iris_sclera_contrast,
            1.5 * config.min_iris_sclera_contrast,
        ),
        _ramp(
            m["iris_pupil_contrast"],
            0.4 * config.min_iris_pupil_contrast,
            1.3 * config.min_iris_pupil_contrast,
        ),
    )
    check(
        contrast_ok,
        1.0,
        m["iris_sclera_contrast"] < config.min_iris_sclera_contrast
        or m["iris_pupil_contrast"] < config.min_iris_pupil_contrast
        or m["grey_scale_bits"] < config.min_grey_scale_bits,
        "IRIS_LOW_CONTRAST",
    )
    check(
        _ramp(
            m["grey_scale_bits"], 0.6 * config.min_grey_scale_bits, 1.1 * config.min_grey_scale_bits
        ),
        0.5,
        False,
        "IRIS_LOW_CONTRAST",
    )
    check(
        # On a log scale: sharpness falls with the square of the power, so focus keeps
        # ranking blurred eyes long after a linear ramp would reach zero.
        _ramp(
            math.log10(max(m["sharpness"], 1e-6)),
            math.log10(config.min_sharpness) - 2.0,
            math.log10(1.6 * config.min_sharpness),
        ),
        1.5,
        m["sharpness"] < config.min_sharpness,
        "IRIS_BLURRED",
    )
    score = 100.0
    for value, weight in parts:
        score *= max(value, 0.0) ** weight
    if reasons:  # a refused measure refuses the eye: failed eyes rank below min_score
        score *= (config.min_score - 1) / 100
    return QualityResult("iris", round(score), m, reasons)
