"""Backoff and Retry-After parsing."""

from __future__ import annotations

import random
from email.utils import formatdate

from uploader.centre_client import UploadResult, parse_retry_after
from uploader.retry import Backoff


def test_full_jitter_grows_and_is_capped():
    backoff = Backoff(base=1.0, cap=8.0, rng=random.Random(7))
    for failures, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (30, 8.0)]:
        delays = [backoff.delay(failures) for _ in range(200)]
        assert all(backoff.floor <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # the whole range is used, not just the ceiling


def test_retry_after_is_honoured_but_bounded():
    backoff = Backoff(base=0.1, cap=1.0, max_retry_after=60.0, rng=random.Random(1))
    assert backoff.delay(1, retry_after=5.0) >= 5.0
    assert backoff.delay(1, retry_after=10_000.0) == 60.0


def test_parse_retry_after_forms():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    later = formatdate(1_000_030.0, usegmt=True)
    assert abs(parse_retry_after(later, now=1_000_000.0) - 30.0) < 1.0


def test_upload_result_classification():
    assert UploadResult(201, "RECEIVED", "").accepted
    assert UploadResult(200, "ALREADY_RECEIVED", "").accepted
    assert UploadResult(503, "", "").retryable and UploadResult(429, "", "").retryable
    assert UploadResult(400, "CONTENT_HASH_MISMATCH", "").retryable
    assert UploadResult(422, "UNKNOWN_STATION", "").permanent
    assert UploadResult(409, "RECORD_CONFLICT", "").permanent
