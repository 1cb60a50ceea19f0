"""Synthetic fingerprints with known ground truth.

A finger is an orientation field (Sherlock-Monro zero-pole model around its cores and deltas)
plus a ridge period; its ridges are grown from seeded noise by iterative orientation-steered Gabor
filtering. That "master" is computed once per finger and cached; each capture then places it on
the platen with a small rigid motion, a pressure change and sensor noise, and applies the
degradation knobs. Images are 500 ppi uint8 grey, dark ridges on a light platen, 288 rows x 256
columns (the R30x sensor), finger centred.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

SENSOR_HEIGHT = 288
SENSOR_WIDTH = 256
# The master is larger than the sensor so that translation and rotation never expose its edge.
_CANVAS_MARGIN = 48
_ORIENTATION_BINS = 16
_GROWTH_ITERATIONS = 10
# Skin is not a regular grating: ridge spacing and course wander over the finger. The grown
# field is bent by a smooth displacement of this many pixels (standard deviation) varying over
# this many pixels; without it, minutiae of different fingers sit at the same multiples of one
# ridge period and a minutiae matcher (Bozorth3) scores strangers like real genuine pairs.
_SKIN_WARP_PX = 12.0
_SKIN_WARP_SCALE = 80.0
_PATTERNS = ("left_loop", "right_loop", "whorl", "arch", "tented_arch")


@dataclass(frozen=True)
class FingerSpec:
    """The permanent identity of one finger: everything that stays the same across captures."""

    seed: int
    pattern: str = "left_loop"
    ridge_period: float = 9.0  # pixels at 500 ppi (about 0.45 mm)
    core_dx: float = 0.0  # core offset from the sensor centre, pixels
    core_dy: float = -20.0
    finger_width: float = 200.0  # contact ellipse, pixels
    finger_height: float = 270.0

    @classmethod
    def random(cls, seed: int) -> FingerSpec:
        """A plausible finger drawn deterministically from ``seed``."""
        rng = np.random.default_rng([seed, 0xF1])
        return cls(
            seed=seed,
            pattern=str(rng.choice(_PATTERNS, p=[0.3, 0.3, 0.25, 0.08, 0.07])),
            ridge_period=float(rng.uniform(8.2, 10.0)),
            core_dx=float(rng.uniform(-18, 18)),
            core_dy=float(rng.uniform(-35, 0)),
            finger_width=float(rng.uniform(185, 215)),
            finger_height=float(rng.uniform(255, 285)),
        )


@dataclass(frozen=True)
class FingerKnobs:
    """Degradation knobs, each 0 (none) .. 1 (severe); ``pressure`` -1 (light) .. +1 (heavy)."""

    pressure: float = 0.0
    dryness: float = 0.0
    smudge: float = 0.0
    scars: float = 0.0
    wear: float = 0.0
    partial: float = 0.0
    noise: float = 1.0  # sensor-noise multiplier
    placement: float = 1.0  # multiplier of the per-attempt translation/rotation jitter


@dataclass(frozen=True)
class FingerMaster:
    """A finger's cached ridge field (-1 valley .. +1 ridge) on a canvas larger than the sensor."""

    spec: FingerSpec
    ridges: np.ndarray  # float32, (SENSOR_HEIGHT + 2*margin, SENSOR_WIDTH + 2*margin)
    cores: tuple[tuple[float, float], ...] = field(default=())  # sensor coordinates (x, y)
    deltas: tuple[tuple[float, float], ...] = field(default=())


def _singular_points(
    spec: FingerSpec,
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    cx = SENSOR_WIDTH / 2 + spec.core_dx
    cy = SENSOR_HEIGHT / 2 + spec.core_dy
    if spec.pattern == "left_loop":
        return [(cx, cy)], [(cx + 75, cy + 95)]
    if spec.pattern == "right_loop":
        return [(cx, cy)], [(cx - 75, cy + 95)]
    if spec.pattern == "whorl":
        return [(cx - 8, cy - 12), (cx + 8, cy + 12)], [(cx - 85, cy + 95), (cx + 85, cy + 95)]
    if spec.pattern == "tented_arch":
        return [(cx, cy)], [(cx, cy + 70)]
    return [], []


def orientation_field(
    spec: FingerSpec, height: int, width: int, offset: float = 0.0
) -> tuple[np.ndarray, list, list]:
    """Ridge direction (radians) per pixel, with the cores and deltas in sensor coordinates.

    ``offset`` is where the sensor's origin lies on the field's grid (the canvas margin).
    """
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    xs -= offset
    ys -= offset
    cores, deltas = _singular_points(spec)
    if spec.pattern == "arch":
        cx = SENSOR_WIDTH / 2 + spec.core_dx
        cy = SENSOR_HEIGHT / 2 + spec.core_dy
        u = (xs - cx) / 70.0
        rise = 0.9 * np.exp(-(np.clip((ys - cy) / 90.0, -3, 3) ** 2))
        theta = np.arctan(-2.0 * rise * u * np.exp(-(u**2)))
        return theta.astype(np.float32), cores, deltas
    z = xs + 1j * ys
    theta = np.zeros_like(xs)
    for dx, dy in deltas:
        theta += np.angle(z - complex(dx, dy))
    for cx, cy in cores:
        theta -= np.angle(z - complex(cx, cy))
    return (0.5 * theta).astype(np.float32), cores, deltas


def _gabor_bank(period: float) -> list[np.ndarray]:
    size = int(2 * round(period * 0.9) + 1)
    sigma = period * 0.45
    bank = []
    for b in range(_ORIENTATION_BINS):
        ridge_dir = math.pi * b / _ORIENTATION_BINS
        kernel = cv2.getGaborKernel(
            (size, size), sigma, ridge_dir + math.pi / 2, period, 1.0, 0, ktype=cv2.CV_32F
        )
        kernel -= kernel.mean()
        bank.append(kernel / np.abs(kernel).sum())
    return bank


# Two residents' ten fingers (the one at the kit and the one before): ~0.5 MB each, and a kit
# that enrolls all day meets each finger once, so a larger cache only holds memory.
@functools.lru_cache(maxsize=20)
def finger_master(spec: FingerSpec) -> FingerMaster:
    """Grow (once, then cached) the ridge field of ``spec``."""
    height = SENSOR_HEIGHT + 2 * _CANVAS_MARGIN
    width = SENSOR_WIDTH + 2 * _CANVAS_MARGIN
    theta, cores, deltas = orientation_field(spec, height, width, offset=_CANVAS_MARGIN)
    # Grow at half resolution (ridge period ~4.5 px there): 4x fewer pixels, same topology.
    small_h, small_w = height // 2, width // 2
    theta_small = cv2.resize(theta, (small_w, small_h), interpolation=cv2.INTER_NEAREST)
    # Orientation is only defined mod pi: interpolate between the two nearest filter bins.
    pos = (np.mod(theta_small, math.pi) / math.pi) * _ORIENTATION_BINS
    lower = np.floor(pos).astype(np.int32) % _ORIENTATION_BINS
    upper = (lower + 1) % _ORIENTATION_BINS
    weight = (pos - np.floor(pos)).astype(np.float32)
    bank = _gabor_bank(spec.ridge_period / 2)
    rng = np.random.default_rng([spec.seed, 0x5EED])
    field_ = rng.standard_normal((small_h, small_w)).astype(np.float32)
    rows, cols = np.indices((small_h, small_w))
    for _ in range(_GROWTH_ITERATIONS):
        stack = np.stack([cv2.filter2D(field_, -1, k, borderType=cv2.BORDER_REFLECT) for k in bank])
        field_ = (1 - weight) * stack[lower, rows, cols] + weight * stack[upper, rows, cols]
        field_ = np.clip(field_ / (field_.std() + 1e-6) * 1.5, -1.0, 1.0)
    ridges = cv2.resize(field_, (width, height), interpolation=cv2.INTER_CUBIC)
    warp_rng = np.random.default_rng([spec.seed, 0xE1A5])
    dx = _smooth_noise(warp_rng, (height, width), _SKIN_WARP_SCALE) * _SKIN_WARP_PX
    dy = _smooth_noise(warp_rng, (height, width), _SKIN_WARP_SCALE) * _SKIN_WARP_PX
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    ridges = cv2.remap(ridges, xs + dx, ys + dy, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    ridges = np.clip(ridges, -1.0, 1.0).astype(np.float32)

    def moved(points) -> tuple[tuple[float, float], ...]:
        """Singular points after the warp (a feature at p is drawn near p - d(p))."""
        out = []
        for x, y in points:
            cx = int(np.clip(round(x + _CANVAS_MARGIN), 0, width - 1))
            cy = int(np.clip(round(y + _CANVAS_MARGIN), 0, height - 1))
            out.append((float(x - dx[cy, cx]), float(y - dy[cy, cx])))
        return tuple(out)

    return FingerMaster(
        spec=spec,
        ridges=ridges,
        cores=moved(cores),
        deltas=moved(deltas),
    )


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], scale: float) -> np.ndarray:
    """Zero-mean, unit-variance noise with features about ``scale`` pixels across."""
    small = (max(2, int(shape[0] / scale)), max(2, int(shape[1] / scale)))
    noise = rng.standard_normal(small).astype(np.float32)
    noise = cv2.resize(noise, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    return (noise - noise.mean()) / (noise.std() + 1e-6)


def _line_mask(
    rng: np.random.Generator,
    shape: tuple[int, int],
    count: int,
    width: tuple[int, int],
    length: tuple[float, float],
) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    h, w = shape
    for _ in range(count):
        cx, cy = rng.uniform(0.2 * w, 0.8 * w), rng.uniform(0.15 * h, 0.85 * h)
        angle = rng.uniform(0, math.pi)
        half = rng.uniform(*length) / 2
        p1 = (int(cx - half * math.cos(angle)), int(cy - half * math.sin(angle)))
        p2 = (int(cx + half * math.cos(angle)), int(cy + half * math.sin(angle)))
        cv2.line(mask, p1, p2, 255, int(rng.integers(width[0], width[1] + 1)), cv2.LINE_AA)
    return mask.astype(np.float32) / 255.0


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class CapturePose:
    """How a capture placed the finger: shift (pixels), rotation (degrees), pressure."""

    dx: float
    dy: float
    angle: float
    pressure: float


def capture_pose(spec: FingerSpec, attempt: int, knobs: FingerKnobs | None = None) -> CapturePose:
    """The placement ``render_capture`` uses for this attempt (attempt 0: the reference pose)."""
    knobs = knobs or FingerKnobs()
    rng = np.random.default_rng([spec.seed, 0x905E, attempt])
    jitter = knobs.placement if attempt else 0.0
    dx = float(rng.uniform(-20, 20)) * jitter + knobs.partial * 175.0
    dy = float(rng.uniform(-20, 20)) * jitter + knobs.partial * 40.0
    angle = float(rng.uniform(-5, 5)) * jitter
    pressure = float(np.clip(knobs.pressure + rng.uniform(-0.08, 0.08) * jitter, -1.2, 1.2))
    return CapturePose(dx, dy, angle, pressure)


def render_capture(
    spec: FingerSpec,
    attempt: int = 0,
    knobs: FingerKnobs | None = None,
) -> np.ndarray:
    """One capture of ``spec`` on the sensor (288x256 uint8) for capture number ``attempt``."""
    knobs = knobs or FingerKnobs()
    master = finger_master(spec)
    rng = np.random.default_rng([spec.seed, 0xCA97, attempt])
    h, w = SENSOR_HEIGHT, SENSOR_WIDTH
    pose = capture_pose(spec, attempt, knobs)
    dx, dy, angle, pressure = pose.dx, pose.dy, pose.angle, pose.pressure
    centre = (w / 2 + _CANVAS_MARGIN, h / 2 + _CANVAS_MARGIN)
    m = cv2.getRotationMatrix2D(centre, angle, 1.0)
    m[0, 2] += dx - _CANVAS_MARGIN
    m[1, 2] += dy - _CANVAS_MARGIN
    ridges = cv2.warpAffine(
        master.ridges, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )

    # Contact area: an ellipse that grows with pressure, feathered at the edge.
    contact = np.zeros((h, w), np.float32)
    grow = 1.0 + 0.1 * pressure if pressure > 0 else 1.0 + 0.3 * pressure
    axes = (int(spec.finger_width / 2 * grow), int(spec.finger_height / 2 * grow))
    cv2.ellipse(contact, (int(w / 2 + dx), int(h / 2 + 12 + dy)), axes, -angle, 0, 360, 1.0, -1)
    contact = cv2.GaussianBlur(contact, (0, 0), 4.0)

    # Ridge ink: heavy pressure thickens ridges until valleys close; light pressure thins them.
    threshold = -0.55 * pressure if pressure > 0 else -0.8 * pressure
    threshold += 0.35 * knobs.dryness
    ink = _sigmoid((ridges - threshold) * 5.0)
    if pressure > 0:
        ink = cv2.GaussianBlur(ink, (0, 0), 0.3 + 1.6 * pressure)
        ink = np.clip(ink * (1 + 0.6 * pressure) + 0.45 * pressure, 0, 1)
    strength = 1.0 + 0.75 * min(pressure, 0.0)

    finger_rng = np.random.default_rng([spec.seed, 0xD00D])
    if knobs.dryness > 0:
        # Dry skin touches the platen in patches: ridges break into dots and dashes.
        patches = _smooth_noise(rng, (h, w), 4.0)
        keep = _sigmoid((patches + 1.6 - 3.2 * knobs.dryness) * 3.0)
        ink *= keep
        strength *= 1.0 - 0.35 * knobs.dryness
    if knobs.wear > 0:
        # Worn (elderly, labourers') ridges: flattened, low contrast, crossed by creases.
        flat = _smooth_noise(finger_rng, (h, w), 24.0)
        ink = ink * (1 - 0.9 * knobs.wear) + 0.45 * knobs.wear * _sigmoid(flat)
        creases = _line_mask(finger_rng, (h, w), int(100 * knobs.wear), (1, 3), (20, 90))
        ink *= 1 - 0.9 * creases
    if knobs.scars > 0:
        # Scars: bands of ridgeless scar tissue that grow in number and width with the knob;
        # the tissue touches the platen in irregular blotches, not along ridges.
        level = knobs.scars
        scars = _line_mask(
            finger_rng,
            (h, w),
            round(4 + 40 * level),
            (round(4 + 10 * level), round(8 + 24 * level)),
            (80, 260),
        )
        scars = np.clip(scars * (0.5 + 0.5 * level) * 1.6, 0, 1)
        relief = 0.45 * (1.0 - 0.6 * level)  # worse scars are flatter
        tissue = 0.2 + relief * _sigmoid(_smooth_noise(finger_rng, (h, w), 7.0) * 2.0)
        ink = ink * (1 - scars) + tissue * scars
    if knobs.smudge > 0:
        smeared = cv2.GaussianBlur(ink, (0, 0), 1.0 + 3.5 * knobs.smudge)
        blobs = _sigmoid((_smooth_noise(rng, (h, w), 30.0) + 1.2 - 2.4 * knobs.smudge) * 2.5)
        ink = ink * (1 - knobs.smudge * 0.8) + smeared * knobs.smudge * 0.8
        ink = np.maximum(ink, (1 - blobs) * 0.85 * knobs.smudge)

    darkness = ink * contact * (195.0 * strength)
    background = 238.0 + 3.0 * _smooth_noise(rng, (h, w), 60.0)
    sigma = 5.0 * knobs.noise
    image = background - darkness + rng.normal(0.0, sigma, (h, w)).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def quantise_4bit(image: np.ndarray) -> np.ndarray:
    """What the R30x delivers: 16 grey levels expanded back to 0..255."""
    return ((image >> 4) * 17).astype(np.uint8)
