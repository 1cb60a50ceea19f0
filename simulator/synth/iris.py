"""Synthetic near-infrared eye images with known pupil and iris circles.

One eye is a 640x480 uint8 grey image: skin, an almond-shaped opening with sclera, an iris disc
with seeded radial texture (fibres, crypts, a collarette), a dark pupil, eyelids with lashes,
and the camera's two specular reflections. ``render_both_eyes`` puts two eyes side by side
(1280x480, the subject's right eye on the image's left half).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

EYE_WIDTH = 640
EYE_HEIGHT = 480
_POLAR_RADII = 96
_POLAR_ANGLES = 720


@dataclass(frozen=True)
class IrisSpec:
    """The permanent identity of one eye."""

    seed: int
    iris_radius: float = 115.0  # pixels at the camera's nominal distance
    pupil_ratio: float = 0.42  # pupil radius / iris radius
    pupil_dx: float = 2.0  # pupil centre offset from the iris centre (pixels)
    pupil_dy: float = 1.0
    iris_level: float = 100.0  # mean NIR grey of the iris

    @classmethod
    def random(cls, seed: int) -> IrisSpec:
        """A plausible eye drawn deterministically from ``seed``."""
        rng = np.random.default_rng([seed, 0x1215])
        return cls(
            seed=seed,
            iris_radius=float(rng.uniform(105, 125)),
            pupil_ratio=float(rng.uniform(0.34, 0.48)),
            pupil_dx=float(rng.uniform(-3, 3)),
            pupil_dy=float(rng.uniform(-2, 2)),
            iris_level=float(rng.uniform(85, 115)),
        )


@dataclass(frozen=True)
class IrisKnobs:
    """Capture conditions. ``occlusion`` 0 (wide open) .. 1 (lids over the pupil)."""

    occlusion: float = 0.0
    blur: float = 0.0  # Gaussian sigma, pixels
    reflections: float = 0.0  # 0: the camera's two glints in the pupil .. 1: glare over the iris
    closed: bool = False
    absent: bool = False  # no eye in the socket (the resident is blind or the eye is missing)
    offset_x: float = 0.0  # eye centre from the image centre, pixels
    offset_y: float = 0.0
    scale: float = 1.0  # camera distance: 1.0 nominal, < 1 further away
    pupil_scale: float = 1.0  # dilation (> 1) or constriction (< 1) relative to the spec
    noise: float = 3.0  # sensor noise sigma


@dataclass(frozen=True)
class IrisTruth:
    """Where the circles are in the rendered image (None when there is no open eye)."""

    iris_centre: tuple[float, float]
    iris_radius: float
    pupil_centre: tuple[float, float]
    pupil_radius: float


# Two residents' two eyes (~0.3 MB each): a kit meets each eye once (see finger_master).
@functools.lru_cache(maxsize=4)
def _polar_texture(seed: int) -> np.ndarray:
    """(radii, angles) float32 texture, zero mean: fibres, crypts and the collarette."""
    rng = np.random.default_rng([seed, 0x7E87])
    # Radial fibres: smooth along the radius, fine across the angle.
    fibres = rng.standard_normal((_POLAR_RADII // 12, _POLAR_ANGLES)).astype(np.float32)
    fibres = cv2.resize(fibres, (_POLAR_ANGLES, _POLAR_RADII), interpolation=cv2.INTER_CUBIC)
    fine = rng.standard_normal((_POLAR_RADII // 3, _POLAR_ANGLES // 2)).astype(np.float32)
    fine = cv2.resize(fine, (_POLAR_ANGLES, _POLAR_RADII), interpolation=cv2.INTER_CUBIC)
    texture = 0.7 * fibres + 0.4 * fine
    # Crypts: dark lens-shaped pits.
    for _ in range(int(rng.integers(12, 24))):
        r = int(rng.uniform(0.25, 0.85) * _POLAR_RADII)
        a = int(rng.uniform(0, _POLAR_ANGLES))
        axes = (int(rng.uniform(6, 18)), int(rng.uniform(3, 8)))
        cv2.ellipse(texture, (a, r), axes, 0, 0, 360, -2.0, -1)
    texture = cv2.GaussianBlur(texture, (0, 0), 1.0)
    # The collarette: a bright wavy ring a third of the way out.
    radii = np.arange(_POLAR_RADII, dtype=np.float32)[:, None] / _POLAR_RADII
    wave = 0.33 + 0.03 * np.sin(np.linspace(0, 14 * math.pi, _POLAR_ANGLES))[None, :]
    texture += 1.2 * np.exp(-(((radii - wave) / 0.04) ** 2))
    return ((texture - texture.mean()) / (texture.std() + 1e-6)).astype(np.float32)


def eye_truth(spec: IrisSpec, knobs: IrisKnobs | None = None) -> IrisTruth | None:
    """The circles ``render_eye`` draws for these settings (None: closed or absent eye)."""
    knobs = knobs or IrisKnobs()
    if knobs.closed or knobs.absent:
        return None
    cx = EYE_WIDTH / 2 + knobs.offset_x
    cy = EYE_HEIGHT / 2 + knobs.offset_y
    iris_r = spec.iris_radius * knobs.scale
    pupil_r = min(spec.pupil_ratio * knobs.pupil_scale, 0.8) * iris_r
    pupil = (cx + spec.pupil_dx * knobs.scale, cy + spec.pupil_dy * knobs.scale)
    return IrisTruth((cx, cy), iris_r, pupil, pupil_r)


def _skin(rng: np.random.Generator) -> np.ndarray:
    noise = rng.standard_normal((EYE_HEIGHT // 40, EYE_WIDTH // 40)).astype(np.float32)
    noise = cv2.resize(noise, (EYE_WIDTH, EYE_HEIGHT), interpolation=cv2.INTER_CUBIC)
    return 150.0 + 8.0 * noise


def _add_glare(
    eye: np.ndarray, truth: IrisTruth, level: float, rng: np.random.Generator
) -> np.ndarray:
    """Specular reflections of a window or spectacles: bright soft patches over the iris that
    grow in number and size with ``level`` (0..1)."""
    glare = np.zeros_like(eye)
    cx, cy = truth.iris_centre
    ring = truth.iris_radius - truth.pupil_radius
    for index in range(6):
        angle = rng.uniform(0, 2 * math.pi)
        radius = truth.pupil_radius + rng.uniform(0.3, 0.7) * ring
        size = ring * (0.15 + 0.5 * level) * rng.uniform(0.8, 1.2)
        if index >= 2 + 4 * level:
            continue
        centre = (int(cx + radius * math.cos(angle)), int(cy + radius * math.sin(angle)))
        axes = (max(1, int(size)), max(1, int(0.6 * size)))
        cv2.ellipse(glare, centre, axes, math.degrees(angle), 0, 360, 1.0, -1, cv2.LINE_AA)
    glare = cv2.GaussianBlur(glare, (0, 0), 2.0)
    return eye * (1 - glare) + 245.0 * glare


def render_eye(
    spec: IrisSpec, knobs: IrisKnobs | None = None, frame_seed: int = 0
) -> tuple[np.ndarray, IrisTruth | None]:
    """One 640x480 uint8 NIR eye image and its ground truth."""
    knobs = knobs or IrisKnobs()
    rng = np.random.default_rng([spec.seed, 0xE7E, frame_seed])
    image = _skin(np.random.default_rng([spec.seed, 0x5C1]))
    cx = EYE_WIDTH / 2 + knobs.offset_x
    cy = EYE_HEIGHT / 2 + knobs.offset_y
    iris_r = spec.iris_radius * knobs.scale
    ys, xs = np.mgrid[0:EYE_HEIGHT, 0:EYE_WIDTH].astype(np.float32)
    truth = eye_truth(spec, knobs)

    if knobs.absent:
        # An empty socket: a darker hollow under a flat lid crease.
        hollow = np.exp(-(((xs - cx) / (2.2 * iris_r)) ** 2 + ((ys - cy) / (1.2 * iris_r)) ** 2))
        image -= 45.0 * hollow
    elif knobs.closed:
        crease = np.exp(-(((ys - cy - 0.05 * (xs - cx) ** 2 / iris_r) / 3.0) ** 2))
        image -= 55.0 * crease * (np.abs(xs - cx) < 2.3 * iris_r)
    else:
        assert truth is not None
        # Sclera inside the almond-shaped opening.
        half_width = 2.4 * iris_r
        u = np.clip((xs - cx) / half_width, -1, 1)
        bulge = 1 - u**2
        upper_open = (1.15 - 1.2 * knobs.occlusion) * iris_r
        lower_open = (1.05 - 0.5 * knobs.occlusion) * iris_r
        upper_lid = cy - upper_open * bulge
        lower_lid = cy + lower_open * bulge
        opening = (np.abs(xs - cx) < half_width) & (ys > upper_lid) & (ys < lower_lid)
        eye = np.full_like(image, 190.0) - 20.0 * ((xs - cx) / half_width) ** 2
        # Iris with its texture, a dark limbus ring, and the pupil.
        dx, dy = xs - cx, ys - cy
        radius = np.sqrt(dx**2 + dy**2)
        px, py = truth.pupil_centre
        pupil_r = truth.pupil_radius
        texture = _polar_texture(spec.seed)
        rel = np.clip((radius - pupil_r) / max(iris_r - pupil_r, 1.0), 0, 0.999)
        angle = (np.arctan2(dy, dx) % (2 * math.pi)) / (2 * math.pi) * _POLAR_ANGLES
        tex = cv2.remap(
            texture,
            angle.astype(np.float32),
            (rel * _POLAR_RADII).astype(np.float32),
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_WRAP,
        )
        iris = spec.iris_level + 26.0 * tex - 25.0 * np.exp(-(((radius - iris_r) / 6.0) ** 2))
        iris_weight = np.clip(iris_r + 1.0 - radius, 0, 1)  # 1 px anti-aliased edge
        eye = eye * (1 - iris_weight) + iris * iris_weight
        pupil_dist = np.sqrt((xs - px) ** 2 + (ys - py) ** 2)
        pupil_weight = np.clip(pupil_r + 1.0 - pupil_dist, 0, 1)
        eye = eye * (1 - pupil_weight) + 16.0 * pupil_weight
        for ox, oy in ((-0.35, -0.3), (0.35, -0.3)):  # the camera's illuminators
            glint = (int(px + ox * pupil_r), int(py + oy * pupil_r))
            cv2.circle(eye, glint, max(2, int(0.12 * pupil_r)), 250.0, -1, cv2.LINE_AA)
        if knobs.reflections > 0:
            rng_glare = np.random.default_rng([spec.seed, 0x61A2])
            eye = _add_glare(eye, truth, knobs.reflections, rng_glare)
        soft = cv2.GaussianBlur(opening.astype(np.float32), (0, 0), 1.5)
        image = image * (1 - soft) + eye * soft
        # Eyelashes hanging from the upper lid.
        lashes = np.zeros_like(image)
        for _ in range(60):
            x0 = cx + rng.uniform(-0.85, 0.85) * half_width
            y0 = cy - upper_open * (1 - ((x0 - cx) / half_width) ** 2)
            length = rng.uniform(0.15, 0.35) * iris_r
            tilt = rng.uniform(-0.4, 0.4)
            x1, y1 = x0 + tilt * length, y0 + length * 0.6
            cv2.line(lashes, (int(x0), int(y0)), (int(x1), int(y1)), 1.0, 1, cv2.LINE_AA)
        image = image * (1 - 0.75 * lashes) + 25.0 * 0.75 * lashes
        # The lid's own edge is darker.
        image -= 25.0 * np.exp(-(((ys - upper_lid) / 3.0) ** 2)) * (np.abs(u) < 0.999)

    if knobs.blur > 0:
        image = cv2.GaussianBlur(image, (0, 0), knobs.blur)
    if knobs.noise > 0:
        image = image + rng.normal(0, knobs.noise, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8), truth


def render_both_eyes(
    right: IrisSpec | None,
    left: IrisSpec | None,
    right_knobs: IrisKnobs | None = None,
    left_knobs: IrisKnobs | None = None,
    frame_seed: int = 0,
) -> np.ndarray:
    """A 1280x480 frame: the subject's right eye on the left half, left eye on the right half.
    A missing spec (None) renders an absent eye."""
    halves = []
    for spec, knobs, side in ((right, right_knobs, 1), (left, left_knobs, 2)):
        if spec is None:
            spec, knobs = IrisSpec(seed=side), IrisKnobs(absent=True)
        halves.append(render_eye(spec, knobs, frame_seed)[0])
    return np.hstack(halves)
