"""The deduplication matcher on synthetic fingers: genuine pairs match, impostors do not."""

from __future__ import annotations

import numpy as np
from ridge_patterns import Finger, capture

from quality.matching import FINGER_THRESHOLD, FingerprintMatcher


def test_genuine_and_impostor_scores_separate():
    matcher = FingerprintMatcher()
    fingers = [Finger.random(seed) for seed in range(10)]
    gallery = [matcher.gallery_template(capture(f, seed=10 + i)) for i, f in enumerate(fingers)]
    probes = [matcher.probe_template(capture(f, seed=90 + i)) for i, f in enumerate(fingers)]
    genuine, impostor = [], []
    for i, probe in enumerate(probes):
        for j, reference in enumerate(gallery):
            (genuine if i == j else impostor).append(matcher.score(probe, reference))
    genuine_scores, impostor_scores = np.array(genuine), np.array(impostor)
    assert genuine_scores.min() > FINGER_THRESHOLD
    assert impostor_scores.max() < FINGER_THRESHOLD
    assert np.median(genuine_scores) > 3 * np.median(impostor_scores)


def test_worst_case_shift_rotation_dryness_still_matches():
    matcher = FingerprintMatcher()
    finger = Finger.random(1234)
    clean = capture(finger, seed=1, max_shift=0.0, max_rotation=0.0, noise=5.0, dryness=0.0)
    harsh = [
        capture(finger, seed=s, max_shift=20.0, max_rotation=5.0, noise=20.0, dryness=0.3)
        for s in range(2, 6)
    ]
    scores = [matcher.compare_images(probe, clean) for probe in harsh]
    assert min(scores) > FINGER_THRESHOLD, scores


def test_record_decision_needs_two_fingers():
    matcher = FingerprintMatcher()
    positions = ("right_thumb", "right_index", "left_index", "left_thumb")

    def record(person: int, attempt: int, probe: bool) -> dict:
        out = {}
        for k, position in enumerate(positions):
            image = capture(Finger.random(person * 10 + k), seed=attempt * 100 + k)
            out[position] = (
                matcher.probe_template(image) if probe else matcher.gallery_template(image)
            )
        return out

    same = matcher.compare_records(record(1, 1, True), record(1, 2, False))
    other = matcher.compare_records(record(2, 1, True), record(1, 2, False))
    assert same.same_person and same.matched_fingers >= 2
    assert not other.same_person and other.matched_fingers == 0
