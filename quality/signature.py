"""Signature-trace quality: ink, points, strokes, duration and size within the pad."""

from __future__ import annotations

import math
from collections.abc import Iterable

from quality.base import QualityResult, Reason
from quality.config import SignatureConfig
from quality.reasons import reason


def _as_tuple(point: object) -> tuple[float, float, float, float, bool]:
    """(t_ms, x, y, pressure, touching) from a tuple or a ``drivers.base.PenPoint``."""
    if hasattr(point, "t_ms"):
        fields = (point.t_ms, point.x, point.y, point.pressure, point.touching)  # type: ignore[attr-defined]
    else:
        fields = tuple(point)  # type: ignore[arg-type]
        if len(fields) != 5:
            raise ValueError("signature points must be (t_ms, x, y, pressure, touching)")
    t, x, y, p, touching = fields
    values = (float(t), float(x), float(y), float(p))
    if not all(math.isfinite(v) for v in values):
        raise ValueError("signature point with a non-finite value")
    return (*values, bool(touching))


def _ramp(value: float, bad: float, good: float) -> float:
    if good == bad:
        return 1.0 if value >= good else 0.0
    return min(1.0, max(0.0, (value - bad) / (good - bad)))


def assess_signature(
    points: Iterable[object], max_x: int, max_y: int, config: SignatureConfig | None = None
) -> QualityResult:
    """Score a pen trace 0..100. ``points`` are (t_ms, x, y, pressure, touching) tuples (or
    PenPoint objects) in device units of a pad ``max_x`` x ``max_y``.

    Raises ValueError for a malformed point or a non-positive pad size.
    """
    config = config or SignatureConfig()
    if max_x <= 0 or max_y <= 0:
        raise ValueError("signature pad size must be positive")
    trace = [_as_tuple(p) for p in points]
    ink = [p for p in trace if p[4] and p[3] > 0]
    m: dict[str, float] = {"points": float(len(trace)), "ink_points": float(len(ink))}
    if not ink:
        return QualityResult("signature", 0, m, [reason("SIGNATURE_BLANK")])

    strokes = 0
    previous_down = False
    length = 0.0
    last: tuple[float, float] | None = None
    for _, x, y, pressure, touching in trace:
        down = touching and pressure > 0
        if down and not previous_down:
            strokes += 1
            last = None
        if down:
            if last is not None:
                length += math.hypot((x - last[0]) / max_x, (y - last[1]) / max_y)
            last = (x, y)
        previous_down = down
    xs, ys = [p[1] for p in ink], [p[2] for p in ink]
    outside = sum(
        1 for x, y in zip(xs, ys, strict=True) if not (0 <= x <= max_x and 0 <= y <= max_y)
    )
    duration = ink[-1][0] - ink[0][0]
    width = (max(xs) - min(xs)) / max_x
    height = (max(ys) - min(ys)) / max_y
    m.update(
        strokes=float(strokes),
        duration_ms=duration,
        width=width,
        height=height,
        path_length=length,
        outside_fraction=outside / len(ink),
    )

    reasons: list[Reason] = []
    parts: list[float] = []
    few = len(ink) < config.min_points
    short = duration < config.min_duration_ms
    small = width < config.min_width or height < config.min_height
    if few:
        reasons.append(reason("SIGNATURE_TOO_FEW_POINTS"))
    parts.append(_ramp(len(ink), 0.2 * config.min_points, config.min_points))
    if short:
        reasons.append(reason("SIGNATURE_TOO_SHORT"))
    parts.append(_ramp(duration, 0.2 * config.min_duration_ms, config.min_duration_ms))
    if small:
        reasons.append(reason("SIGNATURE_TOO_SMALL"))
    parts.append(
        min(
            _ramp(width, 0.3 * config.min_width, config.min_width),
            0.5 + 0.5 * _ramp(height, 0.0, config.min_height),
        )
    )
    if strokes < config.min_strokes:
        reasons.append(reason("SIGNATURE_SINGLE_STROKE"))
        parts.append(0.6)
    if outside:
        reasons.append(reason("SIGNATURE_OUT_OF_PAD"))
        parts.append(_ramp(m["outside_fraction"], 0.3, 0.0))
    score = 100.0
    for value in parts:
        score *= value
    return QualityResult("signature", round(score), m, reasons)
