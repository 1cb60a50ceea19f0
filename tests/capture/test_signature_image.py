"""The signature drawing shared by the live preview and the thumbnail."""

from __future__ import annotations

import numpy as np

from capture.signature_image import INK, PAPER, SignatureDrawing, render_signature
from drivers.base import PenPoint, SignatureTrace

PAD = (15360, 9600, 255)  # a Wacom ISDV4 pen-only pad's ranges


def stroke(y: int, pressure: int, start_ms: int = 0) -> list[PenPoint]:
    return [PenPoint(start_ms + 8 * i, 2000 + 100 * i, y, pressure, True) for i in range(60)]


def ink(picture: np.ndarray) -> int:
    return int(np.count_nonzero(picture < 128))


def test_the_pad_fits_the_box_with_its_proportions_on_white():
    picture = render_signature(SignatureTrace([], *PAD), 240)
    assert picture.shape == (150, 240) and picture.dtype == np.uint8
    assert (picture == PAPER).all()


def test_a_harder_pressed_stroke_draws_a_wider_line():
    light = render_signature(SignatureTrace(stroke(3000, 20), *PAD), 480)
    hard = render_signature(SignatureTrace(stroke(3000, 255), *PAD), 480)
    assert ink(hard) > 1.8 * ink(light) > 0
    assert hard.min() == INK


def test_only_touching_reports_leave_ink_and_a_lone_touch_is_a_dot():
    hovering = [PenPoint(0, 5000, 5000, 0, False), PenPoint(8, 9000, 5000, 0, False)]
    assert ink(render_signature(SignatureTrace(hovering, *PAD), 240)) == 0
    dot = [PenPoint(0, 7680, 4800, 200, True)]
    rows, cols = np.nonzero(render_signature(SignatureTrace(dot, *PAD), 240) < 128)
    assert len(rows) > 0 and abs(cols.mean() - 120) <= 1 and abs(rows.mean() - 75) <= 1


def test_drawing_as_the_trace_grows_ends_on_the_whole_signature():
    points = [*stroke(3000, 200), PenPoint(500, 8000, 3000, 0, False), *stroke(6000, 120, 600)]
    growing = SignatureTrace([], *PAD)
    drawing = SignatureDrawing(growing, 480)
    seen = []
    for start in range(0, len(points), 7):
        growing.points.extend(points[start : start + 7])
        seen.append(ink(drawing.draw()))
    assert seen == sorted(seen) and seen[0] < seen[-1]
    assert np.array_equal(drawing.draw(), render_signature(SignatureTrace(points, *PAD), 480))
