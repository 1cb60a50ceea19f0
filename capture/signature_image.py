"""A signature's strokes drawn as a picture: black ink on white, each segment as wide as the pen
pressed, the pad's whole writing area fitted into a box. The live preview and the thumbnail
draw with it, so the resident sees the same picture while signing and afterwards."""

from __future__ import annotations

import cv2
import numpy as np

from drivers.base import PenPoint, SignatureTrace

PAPER = 255
INK = 0
# The widest line (full pressure) as a share of the box's longer side: 3 px in a 240 px box.
MAX_LINE_SHARE = 1 / 80


class SignatureDrawing:
    """A trace drawn as it grows: each ``draw()`` adds only the reports that arrived since the
    last one, so a preview frame costs what is new, not the whole signature again.

    The scale comes from the pad's area (``max_x`` x ``max_y``; where the pad gave none, the
    reports' extent when the drawing starts) and the widths from its ``max_pressure`` (or the
    highest pressure seen then). The pad's origin is at the top left, as the pad reports it."""

    def __init__(self, trace: SignatureTrace, max_side: int) -> None:
        self.trace = trace
        pad_width = trace.max_x or max((p.x for p in trace.points), default=1)
        pad_height = trace.max_y or max((p.y for p in trace.points), default=1)
        self.scale = max_side / max(pad_width, pad_height, 1)
        shape = (max(1, round(pad_height * self.scale)), max(1, round(pad_width * self.scale)))
        self.canvas = np.full(shape, PAPER, np.uint8)
        self.widest = max(1, round(max_side * MAX_LINE_SHARE))
        self.full_pressure = max(
            1, trace.max_pressure or max((p.pressure for p in trace.points), default=1)
        )
        self.drawn = 0  # reports already on the canvas

    def draw(self) -> np.ndarray:
        """The canvas with every report so far (the same array, drawn on in place)."""
        points = self.trace.points
        for index in range(self.drawn, len(points)):
            point = points[index]
            if not point.touching:
                continue
            before = points[index - 1] if index else None
            if before is not None and before.touching:
                cv2.line(
                    self.canvas,
                    self._at(before),
                    self._at(point),
                    INK,
                    self._width(point),
                    cv2.LINE_AA,
                )
            else:  # a stroke starts: a dot, so a touch that goes nowhere still shows
                radius = max(1, self._width(point) // 2)
                cv2.circle(self.canvas, self._at(point), radius, INK, -1, cv2.LINE_AA)
        self.drawn = len(points)
        return self.canvas

    def _at(self, point: PenPoint) -> tuple[int, int]:
        return round(point.x * self.scale), round(point.y * self.scale)

    def _width(self, point: PenPoint) -> int:
        share = min(1.0, max(0, point.pressure) / self.full_pressure)
        return 1 + round(share * (self.widest - 1))


def render_signature(trace: SignatureTrace, max_side: int) -> np.ndarray:
    """The whole trace as a uint8 grey picture whose longer side is ``max_side``."""
    return SignatureDrawing(trace, max_side).draw()
