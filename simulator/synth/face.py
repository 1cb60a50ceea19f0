"""Synthetic face-camera frames: the public-domain astronaut portrait shipped with scikit-image
(Eileen Collins, NASA) cut out head-and-shoulders and composed onto a red or blue backdrop."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

BACKGROUNDS_BGR: dict[str, tuple[int, int, int]] = {
    "red": (38, 32, 196),
    "blue": (196, 112, 28),
    "grey": (150, 150, 150),
    "white": (235, 235, 235),
    "brown": (40, 62, 100),  # a dark brown: the hue of an orange-red, but dim
}
# Ground truth in the source portrait (512x512): the face centre and the eye centres.
_SOURCE_FACE_CENTRE = (224.0, 113.0)
_SOURCE_EYES = ((201.0, 100.5), (246.0, 103.5))  # subject's right eye first (image left)
_NOMINAL_SCALE = 1.7


@dataclass(frozen=True)
class FaceKnobs:
    """How the resident sits in front of the camera. Offsets are fractions of the frame."""

    offset_x: float = 0.0
    offset_y: float = 0.0
    scale: float = 1.0  # 1.0: face about a quarter of the frame width
    roll_degrees: float = 0.0
    blur: float = 0.0  # Gaussian sigma, pixels
    darkness: float = 0.0  # 0 (well lit) .. 1 (black)
    background: str = "red"
    wrong_colour: float = 0.0  # 0 (the named backdrop) .. 1 (the other of red and blue)
    second_face: float = 0.0  # another person's face, its size relative to the resident's
    noise: float = 2.0  # sensor noise sigma, grey levels


@dataclass(frozen=True)
class FaceTruth:
    """Where the composed face landed in the frame."""

    face_centre: tuple[float, float]
    right_eye: tuple[float, float]  # the subject's right eye (image left)
    left_eye: tuple[float, float]
    inter_eye_px: float


@functools.lru_cache(maxsize=1)
def _cutout() -> tuple[np.ndarray, np.ndarray]:
    """The portrait (BGR float32) and a feathered head-and-shoulders mask (float32 0..1)."""
    from skimage import data

    portrait = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR).astype(np.float32)
    mask = np.zeros(portrait.shape[:2], np.float32)
    cv2.ellipse(mask, (226, 100), (74, 92), 0, 0, 360, 1.0, -1)  # head and hair
    cv2.rectangle(mask, (190, 150), (262, 215), 1.0, -1)  # neck
    shoulders = np.array([[150, 200], [302, 200], [372, 330], [372, 512], [80, 512], [80, 330]])
    cv2.fillPoly(mask, [shoulders.astype(np.int32)], 1.0)
    # Drop the studio backdrop (pale, unsaturated) except inside the face itself.
    hsv = cv2.cvtColor(portrait.astype(np.uint8), cv2.COLOR_BGR2HSV)
    backdrop = ((hsv[:, :, 1] < 60) & (hsv[:, :, 2] > 120)).astype(np.uint8)
    face = np.zeros_like(backdrop)
    cv2.ellipse(face, (224, 118), (46, 62), 0, 0, 360, 1, -1)
    backdrop[face > 0] = 0
    backdrop = cv2.morphologyEx(backdrop, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    mask[backdrop > 0] = 0
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((7, 7), np.uint8))
    mask = cv2.GaussianBlur(mask, (0, 0), 1.5)
    return portrait, mask


def _hsv(bgr: tuple[int, int, int]) -> np.ndarray:
    return cv2.cvtColor(np.uint8([[bgr]]), cv2.COLOR_BGR2HSV)[0, 0].astype(np.float32)


def backdrop_bgr(knobs: FaceKnobs) -> tuple[float, float, float]:
    """The backdrop colour: the named one, its hue turned towards the other of red and blue by
    ``wrong_colour`` (0.5 is a purple neither red nor blue)."""
    named = BACKGROUNDS_BGR.get(knobs.background, BACKGROUNDS_BGR["grey"])
    mix = float(np.clip(knobs.wrong_colour, 0.0, 1.0))
    if mix == 0:
        return (float(named[0]), float(named[1]), float(named[2]))
    start = _hsv(named)
    end = _hsv(BACKGROUNDS_BGR["red" if knobs.background == "blue" else "blue"])
    turn = (end[0] - start[0] + 90.0) % 180.0 - 90.0  # the short way round the hue circle
    hsv = start + mix * (end - start)
    hsv[0] = (start[0] + mix * turn) % 180.0
    b, g, r = cv2.cvtColor(np.uint8([[np.round(hsv)]]), cv2.COLOR_HSV2BGR)[0, 0].tolist()
    return (float(b), float(g), float(r))


def _placement(width: int, height: int, knobs: FaceKnobs, scale: float) -> np.ndarray:
    size_factor = scale * _NOMINAL_SCALE * width / 640.0
    target = (width * (0.5 + knobs.offset_x), height * (0.44 + knobs.offset_y))
    m = cv2.getRotationMatrix2D(_SOURCE_FACE_CENTRE, knobs.roll_degrees, size_factor)
    m[0, 2] += target[0] - _SOURCE_FACE_CENTRE[0]
    m[1, 2] += target[1] - _SOURCE_FACE_CENTRE[1]
    return m


def _apply(m: np.ndarray, point: tuple[float, float]) -> tuple[float, float]:
    x, y = point
    return (float(m[0, 0] * x + m[0, 1] * y + m[0, 2]), float(m[1, 0] * x + m[1, 1] * y + m[1, 2]))


def face_truth(width: int = 640, height: int = 480, knobs: FaceKnobs | None = None) -> FaceTruth:
    """The face centre and eye positions that ``render_face`` produces for these knobs."""
    knobs = knobs or FaceKnobs()
    m = _placement(width, height, knobs, knobs.scale)
    right, left = _apply(m, _SOURCE_EYES[0]), _apply(m, _SOURCE_EYES[1])
    return FaceTruth(
        face_centre=_apply(m, _SOURCE_FACE_CENTRE),
        right_eye=right,
        left_eye=left,
        inter_eye_px=math.dist(right, left),
    )


def render_face(
    width: int = 640, height: int = 480, knobs: FaceKnobs | None = None, seed: int = 0
) -> np.ndarray:
    """A uint8 BGR camera frame of the portrait on the backdrop named in ``knobs``."""
    knobs = knobs or FaceKnobs()
    portrait, mask = _cutout()
    rng = np.random.default_rng([seed, 0xFACE])
    backdrop = np.empty((height, width, 3), np.float32)
    backdrop[:] = backdrop_bgr(knobs)
    # A soft light fall-off towards the frame's corners, as on a real backdrop.
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    falloff = 1.0 - 0.12 * (((xs / width - 0.5) ** 2 + (ys / height - 0.45) ** 2) / 0.5)
    frame = backdrop * falloff[:, :, None]

    layers = [(knobs, knobs.scale)]
    if knobs.second_face > 0:
        side = -0.36 if knobs.offset_x > 0 else 0.36
        layers.append((FaceKnobs(offset_x=side, offset_y=-0.02), knobs.scale * knobs.second_face))
    for layer, scale in layers:
        m = _placement(width, height, layer, scale)
        person = cv2.warpAffine(portrait, m, (width, height), flags=cv2.INTER_LINEAR)
        alpha = cv2.warpAffine(mask, m, (width, height), flags=cv2.INTER_LINEAR)[:, :, None]
        frame = frame * (1 - alpha) + person * alpha

    if knobs.blur > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), knobs.blur)
    frame *= 1.0 - float(np.clip(knobs.darkness, 0, 1))
    if knobs.noise > 0:
        frame += rng.normal(0, knobs.noise, frame.shape).astype(np.float32)
    return np.clip(frame, 0, 255).astype(np.uint8)


def render_group_standing_back(people: int = 3, backdrop: tuple[int, int, int] = (38, 32, 196)):
    """A 640x480 frame of ``people`` residents standing well back from the camera, side by
    side, each head well under a tenth of the frame (a group photo, not a portrait)."""
    frame = np.empty((480, 640, 3), np.uint8)
    frame[:] = backdrop
    for i in range(people):
        person = cv2.resize(
            render_face(640, 480, FaceKnobs(), seed=i), (200, 150), interpolation=cv2.INTER_AREA
        )
        frame[170:320, 15 + 210 * i : 215 + 210 * i] = person
    return frame
