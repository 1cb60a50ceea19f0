"""Iris quality after ISO/IEC 29794-6 on one uint8 grey NIR eye image.

Segmentation: the pupil is the darkest compact blob (found at reduced resolution), refined with
the strongest dark-to-bright edge along rays from its centre; the iris boundary is the strongest
dark-to-bright edge on the lateral rays (away from the eyelids), fitted with a circle. Measures:
radii and centres, pupil/iris ratio, iris-sclera and iris-pupil contrast, concentricity, margin
adequacy, usable iris area, grey-scale utilisation and sharpness. Pixel measures are in the
original image's pixels.
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
# ISO/IEC 29794-6 style sharpness kernel: 8x8, -1 around, +3 in the central 4x4 (zero sum).
_SHARPNESS_KERNEL = np.full((8, 8), -1.0, np.float32)
_SHARPNESS_KERNEL[2:6, 2:6] = 3.0
_SHARPNESS_C = 180.0


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
    mask = (small < darkest + 28).astype(np.uint8)
    mask = cv2.morphologyEx(
        mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    )
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
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
    strength = window[np.arange(len(rows)), best]
    radii = (best + r_lo + 2).astype(np.float64)
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


def _segment(grey: np.ndarray, config: IrisConfig) -> dict[str, float] | None:
    _height, width = grey.shape
    factor = min(1.0, config.analysis_width / width)
    coarse = _find_pupil(grey, factor)
    if coarse is None:
        return None
    px, py, pr = coarse
    angles = np.arange(_ANGLES) * (2 * math.pi / _ANGLES)
    all_rows = np.arange(_ANGLES)
    # Pupil boundary: strongest dark-to-bright step near the coarse radius, all around.
    polar = _polar(grey, (px, py), 1.6 * pr + 8)
    pupil_radii = _edge_radii(polar, all_rows, int(0.6 * pr), int(1.4 * pr))
    ok = ~np.isnan(pupil_radii)
    fitted = _fit_circle(
        px + pupil_radii[ok] * np.cos(angles[ok]), py + pupil_radii[ok] * np.sin(angles[ok])
    )
    if fitted is None:
        return None
    px, py, pr = fitted
    # Iris boundary on the lateral rays (within 40 degrees of horizontal, clear of the lids).
    lateral = all_rows[np.abs(np.cos(angles)) > math.cos(math.radians(40))]
    max_r = min(6.0 * pr, 0.6 * width)
    polar = _polar(grey, (px, py), max_r)
    iris_radii = _edge_radii(polar, lateral, int(1.15 * pr), int(max_r) - 6)
    ok = ~np.isnan(iris_radii)
    if ok.sum() < 8:
        return None
    median = float(np.median(iris_radii[ok]))
    ok &= np.abs(iris_radii - median) < 0.12 * median
    sel = lateral[ok]
    circle = _fit_circle(
        px + iris_radii[ok] * np.cos(angles[sel]), py + iris_radii[ok] * np.sin(angles[sel])
    )
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
    if not pr < ir:
        return QualityResult("iris", 0, m, [reason("EYE_NOT_FOUND")])

    # Grey levels of pupil, iris and sclera from a polar strip around the iris centre.
    polar = _polar(grey, (ix, iy), 1.35 * ir)
    radii = np.arange(polar.shape[1], dtype=np.float32)[None, :]
    angles = np.arange(_ANGLES) * (2 * math.pi / _ANGLES)
    lateral = np.abs(np.cos(angles)) > math.cos(math.radians(30))
    pupil_level = float(
        np.median(
            grey[int(py - pr / 2) : int(py + pr / 2) + 1, int(px - pr / 2) : int(px + pr / 2) + 1]
        )
    )
    ring = (radii > pr + 0.15 * (ir - pr)) & (radii < 0.92 * ir)
    iris_pixels = polar[:, :][np.broadcast_to(ring, polar.shape)]
    iris_level = float(np.median(polar[lateral][:, ring[0]]))
    outside = (radii[0] > 1.1 * ir) & (radii[0] < 1.3 * ir)
    sclera_level = float(np.median(polar[lateral][:, outside])) if outside.any() else iris_level
    m.update(pupil_level=pupil_level, iris_level=iris_level, sclera_level=sclera_level)
    m["iris_sclera_contrast"] = (
        100 * abs(sclera_level - iris_level) / max(sclera_level + iris_level - 2 * pupil_level, 1.0)
    )
    m["iris_pupil_contrast"] = (
        100 * abs(iris_level - pupil_level) / max(iris_level + pupil_level, 1.0)
    )

    # Usable area: iris-ring pixels that look like iris (not lid, lashes or reflections).
    low = pupil_level + 0.45 * (iris_level - pupil_level)
    high = (
        iris_level + 0.4 * (sclera_level - iris_level)
        if sclera_level > iris_level + 10
        else iris_level + 30
    )
    # Judge occlusion on the locally averaged strip, so iris texture does not look like lid.
    smooth = cv2.blur(polar, (9, 5))[np.broadcast_to(ring, polar.shape)]
    usable = (smooth > low) & (smooth < high)
    m["usable_iris_area"] = float(usable.mean()) if usable.size else 0.0
    # Specular reflections (windows, spectacles): ring pixels brighter than the sclera.
    glare_level = max(sclera_level, iris_level) + config.reflection_margin
    m["reflection_fraction"] = float((smooth > glare_level).mean()) if smooth.size else 0.0
    hist = np.bincount(iris_pixels[usable].astype(np.uint8), minlength=256).astype(np.float64)
    prob = hist[hist > 0] / max(hist.sum(), 1.0)
    m["grey_scale_bits"] = float(-(prob * np.log2(prob)).sum())

    m["pupil_iris_ratio"] = pr / ir
    m["concentricity"] = math.hypot(px - ix, py - iy) / ir
    margins = ((ix - ir) / ir, (width - ix - ir) / ir, (iy - ir) / ir, (height - iy - ir) / ir)
    m["margin_left"], m["margin_right"], m["margin_up"], m["margin_down"] = margins
    m["margin_adequacy"] = float(
        np.clip(min(min(margins[:2]) / config.min_margin, min(margins[2:]) / 0.2), 0, 1)
    )

    # Sharpness on the iris's bounding box.
    x0, x1 = int(max(0, ix - ir)), int(min(width, ix + ir))
    y0, y1 = int(max(0, iy - ir)), int(min(height, iy + ir))
    roi = grey[y0:y1, x0:x1].astype(np.float32)
    response = cv2.filter2D(roi, -1, _SHARPNESS_KERNEL)[4:-4:4, 4:-4:4] if roi.size else roi
    power = float(np.mean(response**2)) / 64.0 if response.size else 0.0
    m["sharpness"] = 100 * power**2 / (power**2 + _SHARPNESS_C**2)

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
            _ramp(ratio, config.max_pupil_iris_ratio + 0.1, config.max_pupil_iris_ratio - 0.1),
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
    check(m["margin_adequacy"] ** 0.5, 1.0, m["margin_adequacy"] < 1.0, "IRIS_NOT_CENTRED")
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
        _ramp(m["sharpness"], 0.3 * config.min_sharpness, 1.6 * config.min_sharpness),
        1.5,
        m["sharpness"] < config.min_sharpness,
        "IRIS_BLURRED",
    )
    score = 100.0
    for value, weight in parts:
        score *= max(value, 0.0) ** weight
    return QualityResult("iris", round(score), m, reasons)
