"""The deduplication matcher (MINDTCT + Bozorth3) on synthetic fingers, and its ISO templates."""

from __future__ import annotations

import struct

import numpy as np

from quality.matching import (
    BOZORTH3_THRESHOLD,
    FingerprintMatcher,
    FingerTemplate,
    bozorth3,
    extract,
    minutiae_count,
)
from simulator.synth import FingerKnobs, FingerSpec, render_capture


def test_genuine_pairs_match_and_impostors_score_low():
    matcher = FingerprintMatcher()
    fingers = [FingerSpec.random(seed) for seed in range(8)]
    gallery = [matcher.template(render_capture(f, 1)) for f in fingers]
    probes = [matcher.template(render_capture(f, 2)) for f in fingers]
    genuine, impostor = [], []
    for i, probe in enumerate(probes):
        for j, reference in enumerate(gallery):
            (genuine if i == j else impostor).append(matcher.score(probe, reference))
    assert min(genuine) >= BOZORTH3_THRESHOLD, genuine
    assert np.median(impostor) < BOZORTH3_THRESHOLD / 2, impostor
    assert np.median(genuine) > 4 * np.median(impostor)


def test_shifted_rotated_dry_noisy_capture_still_matches():
    matcher = FingerprintMatcher()
    finger = FingerSpec.random(1234)
    clean = render_capture(finger, 0)
    knobs = FingerKnobs(dryness=0.3, noise=3.0, placement=1.0)
    scores = [matcher.compare_images(render_capture(finger, a, knobs), clean) for a in (1, 2, 3)]
    assert min(scores) >= BOZORTH3_THRESHOLD, scores


def test_record_decision_needs_two_fingers():
    matcher = FingerprintMatcher()
    positions = ("right_thumb", "right_index", "left_index", "left_thumb")

    def record(person: int, attempt: int) -> dict:
        return {
            position: matcher.template(render_capture(FingerSpec.random(person * 10 + k), attempt))
            for k, position in enumerate(positions)
        }

    same = matcher.compare_records(record(1, 1), record(1, 2))
    other = matcher.compare_records(record(2, 1), record(1, 2))
    assert same.same_person and same.matched_fingers >= 2
    assert not other.same_person and other.matched_fingers == 0


def test_blank_platen_has_no_minutiae_and_matches_nothing():
    blank = extract(np.full((288, 256), 210, np.uint8))
    print_ = extract(render_capture(FingerSpec.random(5), 0))
    assert blank.count == 0 and not blank.usable
    assert print_.usable
    assert bozorth3(blank, print_) == 0


def test_iso_19794_2_record_layout_and_round_trip():
    image = render_capture(FingerSpec.random(77), 0)
    template = extract(image, position=2, quality=61)
    data = template.to_bytes()
    assert data[:8] == b"FMR\x00 20\x00"
    length, equipment, width, height, xres, yres, views = struct.unpack_from(">IHHHHHB", data, 8)
    assert length == len(data) == 24 + 4 + 6 * template.count + 2
    assert (width, height) == (image.shape[1], image.shape[0])
    assert (xres, yres, views, equipment) == (197, 197, 1, 0)
    position, view_impression, quality, count = struct.unpack_from(">BBBB", data, 24)
    assert (position, view_impression, quality, count) == (2, 0, 61, template.count)
    assert data[-2:] == b"\x00\x00"
    first = template.minutiae[0]
    type_x, y, angle, mq = struct.unpack_from(">HHBB", data, 28)
    assert (type_x >> 14, type_x & 0x3FFF, y, angle, mq) == (
        first.kind, first.x, first.y, first.angle, first.quality
    )
    assert first.kind in (1, 2)
    back = FingerTemplate.from_bytes(data)
    assert back.minutiae == template.minutiae and back.position == 2
    assert minutiae_count(data) == template.count
    other = extract(render_capture(FingerSpec.random(77), 1))
    assert bozorth3(back, other) == bozorth3(template, other) >= BOZORTH3_THRESHOLD
