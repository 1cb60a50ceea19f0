"""A signature's strokes drawn as a picture: black ink on white, each segment as wide as the pen
pressed, the pad's whole writing area fitted into a box. The live preview and the thumbnail
draw with it, so the resident sees the same picture while signing and afterwards."""

from __future__ import annotations

from itertools import pairwise

import cv2
import numpy as np

from drivers.base import PenPoint, SignatureTrace

PAPER = 255
INK = 0
# The widest line (full pressure) as a share of the box's longer side: 3 px in a 240 px box.
MAX_LINE_SHARE = 1 / 80


def render_signature(trace: SignatureTrace, max_side: int) -> np.ndarray:
    """The trace as a uint8 grey picture whose longer side is ``max_side``: the pad's area
    (``max_x`` x ``max_y``, or the reports' extent where the pad gave none) scaled to fit, the
    pad's origin at the top left. Only reports with the pen touching leave ink."""
    pad_width = trace.max_x or max((p.x for p in trace.points), default=1)
    pad_height = trace.max_y or max((p.y for p in trace.points), default=1)
    scale = max_side / max(pad_width, pad_height, 1)
    canvas = np.full(
        (max(1, round(pad_height * scale)), max(1, round(pad_width * scale))), PAPER, np.uint8
    )
    widest = max(1, round(max_side * MAX_LINE_SHARE))
    full_pressure = trace.max_pressure or max((p.pressure for p in trace.points), default=1)

    def width(point: PenPoint) -> int:
        share = min(1.0, max(0, point.pressure) / max(1, full_pressure))
        return 1 + round(share * (widest - 1))

    def at(point: PenPoint) -> tuple[int, int]:
        return round(point.x * scale), round(point.y * scale)

    for before, point in pairwise(trace.points):
        if before.touching and point.touching:
            cv2.line(canvas, at(before), at(point), INK, width(point), cv2.LINE_AA)
    for index, point in enumerate(trace.points):  # a dot: a touch without a touching neighbour
        if point.touching and not _touching_neighbour(trace.points, index):
            cv2.circle(canvas, at(point), max(1, width(point) // 2), INK, -1, cv2.LINE_AA)
    return canvas


def _touching_neighbour(points: list[PenPoint], index: int) -> bool:
    return any(
        0 <= other < len(points) and points[other].touching for other in (index - 1, index + 1)
    )
