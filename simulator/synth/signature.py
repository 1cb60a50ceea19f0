"""Synthetic handwritten signatures: pen strokes of (x, y, pressure) in unit coordinates.

A signature is a few cursive strokes (a sum of slow oscillations drifting to the right) with pen
lifts between them, sampled at the pad's ~133 Hz report rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE_HZ = 133.0
Stroke = list[tuple[float, float, float]]


@dataclass(frozen=True)
class SignatureKnobs:
    """Ways a signature goes wrong: ``kind`` is "normal", "single_line", "too_short" or
    "blank"; ``size`` scales the signature about its centre."""

    kind: str = "normal"
    size: float = 1.0


def _stroke(
    rng: np.random.Generator, x0: float, x1: float, y: float, height: float, duration_s: float
) -> Stroke:
    count = max(3, int(duration_s * SAMPLE_RATE_HZ))
    t = np.linspace(0.0, 1.0, count)
    xs = x0 + (x1 - x0) * t
    ys = np.full(count, y)
    for _ in range(3):
        freq = rng.uniform(2.0, 7.0)
        phase = rng.uniform(0, 2 * math.pi)
        amp = height * rng.uniform(0.2, 0.5)
        ys = ys + amp * np.sin(2 * math.pi * freq * t + phase)
        xs = xs + 0.3 * amp * np.cos(2 * math.pi * freq * t + phase)
    pressure = 0.35 + 0.5 * np.sin(math.pi * t) ** 0.5 + rng.normal(0, 0.02, count)
    return [
        (float(x), float(yy), float(np.clip(p, 0.05, 1.0)))
        for x, yy, p in zip(xs, ys, pressure, strict=True)
    ]


def _scaled(strokes: list[Stroke], size: float) -> list[Stroke]:
    return [
        [(0.5 + (x - 0.5) * size, 0.5 + (y - 0.5) * size, p) for x, y, p in stroke]
        for stroke in strokes
    ]


def make_signature(seed: int, knobs: SignatureKnobs | None = None) -> list[Stroke]:
    """Deterministic strokes for ``seed``; points stay within 0..1."""
    knobs = knobs or SignatureKnobs()
    rng = np.random.default_rng([seed, 0x5167])
    if knobs.kind == "blank":
        return []
    if knobs.kind == "too_short":
        return _scaled([_stroke(rng, 0.48, 0.52, 0.5, 0.01, 0.05)], knobs.size)
    if knobs.kind == "single_line":
        count = int(0.6 * SAMPLE_RATE_HZ)
        line = [(0.2 + 0.6 * i / (count - 1), 0.55, 0.6) for i in range(count)]
        return _scaled([line], knobs.size)
    strokes: list[Stroke] = []
    n_strokes = int(rng.integers(2, 5))
    edges = np.sort(rng.uniform(0.15, 0.85, n_strokes - 1))
    bounds = [0.12, *edges.tolist(), 0.88]
    for i in range(n_strokes):
        x0, x1 = bounds[i] + 0.01, bounds[i + 1] - 0.01
        strokes.append(_stroke(rng, x0, x1, rng.uniform(0.45, 0.55), 0.18, rng.uniform(0.35, 0.9)))
    # A final underline flourish.
    if rng.random() < 0.6:
        strokes.append(_stroke(rng, 0.2, 0.8, 0.75, 0.02, 0.3))
    clipped = [
        [(min(max(x, 0.01), 0.99), min(max(y, 0.01), 0.99), p) for x, y, p in s] for s in strokes
    ]
    return _scaled(clipped, knobs.size)


def to_pen_reports(
    strokes: list[Stroke], max_x: int, max_y: int, max_pressure: int = 1023
) -> list[tuple[int, int, int, int, bool]]:
    """The strokes as a pad reports them: (t_ms, x, y, pressure, touching), with hover reports
    during each pen lift, in device units."""
    period = 1000.0 / SAMPLE_RATE_HZ
    reports: list[tuple[int, int, int, int, bool]] = []
    step = 0
    for stroke in strokes:
        for x, y, p in stroke:
            reports.append(
                (int(step * period), int(x * max_x), int(y * max_y), int(p * max_pressure), True)
            )
            step += 1
        last_x, last_y = reports[-1][1], reports[-1][2]
        for _ in range(20):  # ~150 ms in the air
            reports.append((int(step * period), last_x, last_y, 0, False))
            step += 1
    return reports
