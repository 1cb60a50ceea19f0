"""Face-photo quality: ICAO-style checks on one uint8 BGR camera frame.

Exactly one face (OpenCV Haar cascades shipped in ``cv2.data``; people standing back, as in a
group photo, are looked for at a finer scale when no face of the right size is found),
inter-eye distance (each eye searched on its half of the face, with the eyeglasses cascade when
the plain one misses), centring, head size, roll, sharpness, exposure, dynamic range,
illumination uniformity, eyes visible, and a plain, lit backdrop of the right colour: red for
residents born in an odd year, blue for an even year. Each check yields a sub-score 0..1; the
score is 100 x their weighted product, each failing rule leaving a floor of it so the score
stays graded; any reason keeps the score below the pass mark.
"""

from __future__ import annotations

import functools
import math
import threading

import cv2
import numpy as np

from quality.base import QualityResult, Reason
from quality.config import FaceConfig
from quality.reasons import reason

_MIN_SIDE = 64
_local = threading.local()  # CascadeClassifier objects are not shared between threads


# The head-size sub-score is 0 at this share of the minimum face width, 1 just above it.
SMALLEST_DETECTED = 0.8
_EYE_FACE_WIDTH = 120  # the face is scaled to this width for the eye search
_MIRROR_MATCH = 0.6  # normalised correlation of a mirrored eye that counts as the other eye


@functools.lru_cache(maxsize=1)
def _cascade_paths() -> tuple[str, str, str]:
    base = cv2.data.haarcascades
    return (
        base + "haarcascade_frontalface_default.xml",
        base + "haarcascade_eye.xml",
        base + "haarcascade_eye_tree_eyeglasses.xml",
    )


def _cascades() -> tuple[cv2.CascadeClassifier, ...]:
    found = getattr(_local, "cascades", None)
    if found is None:
        found = tuple(cv2.CascadeClassifier(path) for path in _cascade_paths())
        if any(cascade.empty() for cascade in found):
            raise RuntimeError("OpenCV Haar cascades are missing (opencv-python-headless 4.x)")
        _local.cascades = found
    return found


def expected_background(birth_year: int | None) -> str | None:
    """The backdrop colour for a birth year: "red" for odd years, "blue" for even ones."""
    if birth_year is None:
        return None
    return "red" if birth_year % 2 else "blue"


def _validated(image: object) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise ValueError("face image must be a numpy array")
    if image.dtype != np.uint8:
        raise ValueError(f"face image must be uint8 BGR, not {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"face image must be BGR (H, W, 3), got shape {image.shape}")
    if min(image.shape[:2]) < _MIN_SIDE:
        raise ValueError(f"face image too small: {image.shape[:2]}")
    return image


def _ramp(value: float, bad: float, good: float) -> float:
    """0 at ``bad``, 1 at ``good``, linear between (either direction)."""
    if good == bad:
        return 1.0 if value >= good else 0.0
    return float(np.clip((value - bad) / (good - bad), 0.0, 1.0))


_HUES = {"red": 0.0, "blue": 110.0}  # OpenCV hue (0..180) of a red and a blue backdrop


def _hsv(mean_bgr: np.ndarray) -> tuple[float, float, float]:
    pixel = np.uint8([[np.clip(mean_bgr, 0, 255)]])
    hue, saturation, value = cv2.cvtColor(pixel, cv2.COLOR_BGR2HSV)[0, 0].astype(float)
    return hue, saturation, value


def _hue_distance(hue: float, colour: str) -> float:
    """Circular distance (0..90) between an OpenCV hue and a named backdrop colour's hue."""
    diff = abs(hue - _HUES[colour]) % 180.0
    return min(diff, 180.0 - diff)


def _colour_match(hsv: tuple[float, float, float], colour: str, config: FaceConfig) -> float:
    """0..1: how plainly the backdrop is ``colour``: hue close to it, saturated enough, and
    bright enough (a dim saturated red-orange is brown, not red)."""
    hue, saturation, value = hsv
    hue_fit = _ramp(
        _hue_distance(hue, colour), config.background_hue_bad, config.background_hue_good
    )
    saturation_fit = _ramp(
        saturation, 0.5 * config.min_background_saturation, config.min_background_saturation
    )
    value_fit = _ramp(value, 0.6 * config.min_background_value, config.min_background_value)
    return hue_fit * saturation_fit * value_fit


def _colour_name(hsv: tuple[float, float, float], config: FaceConfig) -> str:
    """ "red", "blue" or "other" for the backdrop's mean colour."""
    best = max(_HUES, key=lambda colour: _colour_match(hsv, colour, config))
    return best if _colour_match(hsv, best, config) >= 0.5 else "other"


def _eye_candidates(
    cascade: cv2.CascadeClassifier, small: np.ndarray
) -> list[tuple[float, float, float]]:
    found = cascade.detectMultiScale(small, 1.1, 2, minSize=(14, 14), maxSize=(48, 48))
    return [(ex + ew / 2, ey + eh / 2, float(ew)) for ex, ey, ew, eh in found]


def _pick_eye(
    candidates: list[tuple[float, float, float]], side: tuple[float, float], expected_x: float
) -> tuple[float, float] | None:
    """One eye on one half of the face: the candidate nearest where an eye of a typical size
    sits, then the median of the detections that overlap it (the cascades fire several times,
    at several scales, around one eye; one box alone is off by a few pixels)."""
    on_side = [c for c in candidates if side[0] <= c[0] < side[1]]
    if not on_side:
        return None
    size = side[1] - side[0]  # half the face width
    best = min(on_side, key=lambda c: abs(c[0] - expected_x) + 0.5 * abs(c[2] - 0.5 * size))
    reach = best[2] / 2
    near = [c for c in on_side if abs(c[0] - best[0]) < reach and abs(c[1] - best[1]) < reach]
    return float(np.median([c[0] for c in near])), float(np.median([c[1] for c in near]))


def _mirror_eye(
    small: np.ndarray,
    picked: list[tuple[float, float] | None],
    halves: tuple[tuple[float, float], tuple[float, float]],
) -> list[tuple[float, float] | None]:
    """The missing eye where the mirror image of the found one matches best on the other half of
    the face (faces are near mirror-symmetric; a glint or a frame can hide one eye from the
    cascades), if it matches well; ``picked`` unchanged otherwise."""
    side = 0 if picked[0] is not None else 1
    ex, ey = picked[side]  # type: ignore[misc]
    r = int(0.1 * _EYE_FACE_WIDTH)
    x0, y0 = int(ex) - r, int(ey) - r
    if x0 < 0 or y0 < 0 or x0 + 2 * r > small.shape[1] or y0 + 2 * r > small.shape[0]:
        return picked
    template = cv2.flip(small[y0 : y0 + 2 * r, x0 : x0 + 2 * r], 1)
    lo, hi = halves[1 - side]
    top = max(0, y0 - r)
    band = small[top : min(small.shape[0], y0 + 3 * r), int(lo) : int(hi)]
    if band.shape[0] < 2 * r or band.shape[1] < 2 * r or template.std() < 1.0:
        return picked
    match = cv2.matchTemplate(band, template, cv2.TM_CCOEFF_NORMED)
    _, best, _, (mx, my) = cv2.minMaxLoc(match)
    if best < _MIRROR_MATCH:
        return picked
    found = list(picked)
    found[1 - side] = (lo + mx + r, top + my + r)
    return found


def _find_eyes(
    grey: np.ndarray, box: tuple[int, int, int, int]
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The two eye centres (image left first) in the upper part of the face box.

    Each half of the face is searched on its own, so one eye hidden by a glint or squeezed by a
    smile does not hide the other from the pairing; the eyeglasses cascade is asked only when
    the plain eye cascade misses an eye."""
    x, y, w, h = box
    top, bottom = max(0, y + int(0.15 * h)), y + int(0.6 * h)
    roi = grey[top:bottom, max(0, x) : x + w]
    if roi.size == 0 or roi.shape[1] < w // 2:
        return None
    # Run the eye cascades on the face scaled to 120 px wide: enough for eyes, and quick.
    factor = _EYE_FACE_WIDTH / w
    small = cv2.resize(
        roi,
        (max(1, int(roi.shape[1] * factor)), max(1, int(roi.shape[0] * factor))),
        interpolation=cv2.INTER_AREA,
    )
    eye_cascade, glasses_cascade = _cascades()[1:]
    half = _EYE_FACE_WIDTH / 2
    halves = ((0.0, half), (half, float(_EYE_FACE_WIDTH)))
    expected = (0.3 * _EYE_FACE_WIDTH, 0.7 * _EYE_FACE_WIDTH)
    candidates = _eye_candidates(eye_cascade, small)
    picked = [_pick_eye(candidates, s, e) for s, e in zip(halves, expected, strict=True)]
    if None in picked:
        candidates += _eye_candidates(glasses_cascade, small)
        picked = [_pick_eye(candidates, s, e) for s, e in zip(halves, expected, strict=True)]
    if picked.count(None) == 1:
        picked = _mirror_eye(small, picked, halves)
    left, right = picked
    if left is None or right is None:
        return None
    gap = right[0] - left[0]
    if not 0.25 * _EYE_FACE_WIDTH < gap < 0.7 * _EYE_FACE_WIDTH:
        return None
    if abs(right[1] - left[1]) > 0.3 * gap:
        return None
    return (
        (left[0] / factor + x, left[1] / factor + top),
        (right[0] / factor + x, right[1] / factor + top),
    )


def _small_faces(
    grey: np.ndarray,
    found: list[tuple[int, int, int, int]],
    smallest_found: float,
    config: FaceConfig,
) -> list[tuple[int, int, int, int]]:
    """Faces smaller than the first search can see, looked for at a finer scale only when that
    search found no face or one too small: people far from the camera (a group photo) are
    counted rather than read as no face. Boxes in frame pixels, other than those in ``found``."""
    width = grey.shape[1]
    if config.group_search_width <= config.detect_width or width <= config.detect_width:
        return []
    factor = min(1.0, config.group_search_width / width)
    fine = cv2.resize(grey, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    largest = max(25, int(smallest_found * factor * 1.25))
    detections = _cascades()[0].detectMultiScale(
        fine, config.group_search_scale_factor, 4, minSize=(24, 24), maxSize=(largest, largest)
    )
    extra = []
    for bx, by, bw, bh in detections:
        box = (int(bx / factor), int(by / factor), int(bw / factor), int(bh / factor))
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        if not any(x <= cx <= x + w and y <= cy <= y + h for x, y, w, h in found):
            extra.append(box)
    return extra


def assess_face(
    image_bgr: np.ndarray,
    birth_year: int | None = None,
    config: FaceConfig | None = None,
    *,
    search_small_faces: bool = True,
) -> QualityResult:
    """Score one face frame 0..100. ``birth_year`` selects the required backdrop colour (None:
    colour not checked). ``search_small_faces`` looks again, at a finer scale, for the faces of
    people standing back when the first search finds none or one too small; the preview skips
    it (it is the slow part of an empty frame) and the kept photo gets it.
    Raises ValueError when the frame is not uint8 BGR of at least 64x64."""
    config = config or FaceConfig()
    frame = _validated(image_bgr)
    height, width = frame.shape[:2]
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    factor = min(1.0, config.detect_width / width)
    small = cv2.resize(grey, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    face_cascade = _cascades()[0]
    min_side = max(24, int(config.min_detected_face_width * small.shape[1]))
    detections = face_cascade.detectMultiScale(
        small, config.detect_scale_factor, 4, minSize=(min_side, min_side)
    )
    boxes = [
        (int(bx / factor), int(by / factor), int(bw / factor), int(bh / factor))
        for bx, by, bw, bh in detections
    ]
    alone_or_none = len(boxes) < 2 and (not boxes or boxes[0][2] < config.min_face_width * width)
    if search_small_faces and alone_or_none:
        boxes += _small_faces(grey, boxes, min_side / factor, config)
    boxes.sort(key=lambda b: -b[2])
    measures: dict[str, float] = {"faces": float(len(boxes))}
    if not boxes:
        return QualityResult("face", 0, measures, [reason("NO_FACE")])
    x, y, w, h = boxes[0]
    reasons: list[Reason] = []
    parts: dict[str, tuple[float, float]] = {}  # name -> (sub-score, weight)
    if len(boxes) > 1:
        # Any other face fails the photo; a large one (someone next to the resident) the most.
        reasons.append(reason("MULTIPLE_FACES"))
        relative = boxes[1][2] / boxes[0][2]
        measures["second_face_relative_width"] = relative
        parts["single_face"] = (
            0.45 * _ramp(relative, config.second_face_worst, config.second_face_tolerated),
            1.0,
        )

    # Geometry: size, centring, eyes, inter-eye distance, roll.
    face_width = w / width
    centre_dx = (x + w / 2) / width - 0.5
    centre_dy = (y + h / 2) / height - 0.45
    measures.update(
        face_width=face_width,
        centre_offset_x=centre_dx,
        centre_offset_y=centre_dy,
        face_x=float(x),
        face_y=float(y),
        face_w=float(w),
        face_h=float(h),
    )
    if face_width < config.min_face_width:
        reasons.append(reason("FACE_TOO_SMALL"))
    elif face_width > config.max_face_width:
        reasons.append(reason("FACE_TOO_LARGE"))
    parts["head_size"] = (
        min(
            _ramp(
                face_width, config.min_face_width * SMALLEST_DETECTED, config.min_face_width * 1.1
            ),
            _ramp(face_width, config.max_face_width * 1.2, config.max_face_width * 0.9),
        ),
        1.0,
    )
    off_x = abs(centre_dx) / config.max_centre_offset_x
    off_y = abs(centre_dy) / config.max_centre_offset_y
    if max(off_x, off_y) > 1:
        reasons.append(reason("FACE_NOT_CENTRED"))
    parts["centring"] = (_ramp(max(off_x, off_y), 2.0, 0.5), 1.0)

    eyes = _find_eyes(grey, (x, y, w, h))
    measures["eyes_found"] = 1.0 if eyes else 0.0
    if eyes:
        (lx, ly), (rx, ry) = eyes
        inter_eye = math.hypot(rx - lx, ry - ly)
        roll = math.degrees(math.atan2(ry - ly, rx - lx))
        measures.update(eye_left_x=lx, eye_left_y=ly, eye_right_x=rx, eye_right_y=ry)
    else:
        inter_eye = 0.45 * w  # typical for a frontal face box of this cascade
        roll = 0.0
        if config.require_eyes:
            reasons.append(reason("EYES_NOT_VISIBLE"))
            parts["eyes_visible"] = (0.3, 1.0)
    measures["inter_eye_px"] = inter_eye
    measures["roll_degrees"] = roll
    parts["inter_eye"] = (
        _ramp(inter_eye, config.min_inter_eye_px * 0.6, config.min_inter_eye_px),
        1.0,
    )
    if abs(roll) > config.max_roll_degrees:
        reasons.append(reason("FACE_TILTED"))
    parts["roll"] = (
        _ramp(abs(roll), 1.6 * config.max_roll_degrees, 0.5 * config.max_roll_degrees),
        1.0,
    )

    # Photometry on the inner face (drops hair and backdrop).
    inner = grey[y + int(0.2 * h) : y + int(0.9 * h), x + int(0.2 * w) : x + int(0.8 * w)]
    inner_f = inner.astype(np.float32)
    mean = float(inner_f.mean())
    low, high = np.percentile(inner_f, [2, 98])
    dynamic_range = float(high - low)
    # Sharpness at a fixed face scale, so the measure does not depend on the head size.
    norm = cv2.resize(
        inner,
        (64, max(8, int(64 * inner.shape[0] / max(inner.shape[1], 1)))),
        interpolation=cv2.INTER_AREA,
    ).astype(np.float32)
    lap = cv2.Laplacian(norm, cv2.CV_32F, ksize=3)
    sharpness = float(np.abs(lap).mean() / (norm.std() + 1.0))
    half = inner_f.shape[1] // 2
    sides = sorted((float(inner_f[:, :half].mean()), float(inner_f[:, half:].mean())))
    illumination_ratio = (sides[1] + 1.0) / (sides[0] + 1.0)
    measures.update(
        mean=mean,
        dynamic_range=dynamic_range,
        sharpness=sharpness,
        illumination_ratio=illumination_ratio,
    )
    if sharpness < config.min_sharpness:
        reasons.append(reason("FACE_BLURRED"))
    parts["sharpness"] = (
        _ramp(sharpness, 0.5 * config.min_sharpness, 1.9 * config.min_sharpness),
        1.0,
    )
    if mean < config.min_mean:
        reasons.append(reason("FACE_TOO_DARK"))
    elif mean > config.max_mean:
        reasons.append(reason("FACE_TOO_BRIGHT"))
    parts["exposure"] = (
        min(
            _ramp(mean, 0.4 * config.min_mean, 1.4 * config.min_mean),
            _ramp(mean, 255.0, config.max_mean),
        ),
        1.0,
    )
    if dynamic_range < config.min_dynamic_range:
        reasons.append(reason("FACE_LOW_CONTRAST"))
    parts["dynamic_range"] = (
        _ramp(dynamic_range, 0.4 * config.min_dynamic_range, 1.3 * config.min_dynamic_range),
        0.7,
    )
    if illumination_ratio > config.max_illumination_ratio:
        reasons.append(reason("FACE_UNEVEN_LIGHT"))
    parts["illumination"] = (
        _ramp(illumination_ratio, 1.5 * config.max_illumination_ratio, 1.0),
        0.7,
    )

    _assess_background(frame, boxes, birth_year, config, measures, reasons, parts)

    floor = float(np.clip(config.failed_rule_floor, 0.0, 1.0))
    product = 1.0
    for name, (sub, weight) in parts.items():
        measures[f"sub_{name}"] = sub
        product *= (floor + (1.0 - floor) * float(np.clip(sub, 0.0, 1.0))) ** weight
    score = round(100 * product)
    if reasons:
        score = min(score, config.min_score - 1)
    return QualityResult("face", score, measures, reasons)


def _assess_background(
    frame: np.ndarray,
    boxes: list[tuple[int, int, int, int]],
    birth_year: int | None,
    config: FaceConfig,
    measures: dict[str, float],
    reasons: list[Reason],
    parts: dict[str, tuple[float, float]],
) -> None:
    """Backdrop: the frame above the shoulders outside the (main) head, uniform and coloured."""
    _height, width = frame.shape[:2]
    step = max(1, width // 160)
    small = frame[::step, ::step].astype(np.float32)
    sh, sw = small.shape[:2]
    x, y, w, h = (v / step for v in boxes[0])
    ys, xs = np.mgrid[0:sh, 0:sw].astype(np.float32)
    head = ((xs - (x + w / 2)) / (0.85 * w)) ** 2 + ((ys - (y + h / 2)) / (0.95 * h)) ** 2 < 1
    region = ~head & (ys < y + h) & (ys > 1) & (xs > 1) & (xs < sw - 2)
    if region.sum() < 50:
        region = ~head & (ys < y + 0.5 * h)
    pixels = small[region]
    if len(pixels) < 20:
        measures["background_std"] = 0.0
        return
    background_std = float(pixels.std(axis=0).mean())
    hsv = _hsv(pixels.mean(axis=0))
    hue, saturation, value = hsv
    colour = _colour_name(hsv, config)
    measures["background_hue"] = hue
    measures["background_value"] = value
    measures["background_std"] = background_std
    measures["background_saturation"] = saturation
    measures["background_is_red"] = 1.0 if colour == "red" else 0.0
    measures["background_is_blue"] = 1.0 if colour == "blue" else 0.0
    if background_std > config.max_background_std:
        reasons.append(reason("BACKGROUND_NOT_UNIFORM"))
    parts["background_uniformity"] = (
        _ramp(background_std, 2.5 * config.max_background_std, 0.5 * config.max_background_std),
        0.7,
    )
    expected = expected_background(birth_year)
    if expected is not None:
        match = _colour_match(hsv, expected, config)
        measures["background_colour_match"] = match
        if match < 0.5:
            reasons.append(
                reason("WRONG_BACKGROUND_COLOUR", birth_year=birth_year, expected=expected)
            )
        parts["background_colour"] = (0.2 + 0.8 * match, 1.0)
