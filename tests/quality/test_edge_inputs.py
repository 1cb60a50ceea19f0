"""Arbitrary inputs never crash a quality measure: a clear ValueError or a 0..100 result."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from quality.base import QualityResult
from quality.face import assess_face
from quality.fingerprint import assess_fingerprint
from quality.iris import assess_iris

MEASURES = {
    "fingerprint": assess_fingerprint,
    "face": lambda image: assess_face(image, 1987),
    "iris": assess_iris,
}
DTYPES = st.sampled_from([np.uint8, np.uint16, np.int32, np.float32, np.float64, np.bool_])


def _image_like() -> st.SearchStrategy[np.ndarray]:
    shapes = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=160)
    return st.one_of(
        arrays(np.uint8, shapes),
        arrays(DTYPES, array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=96)),
        arrays(
            np.uint8,
            st.sampled_from([(96, 96), (128, 160), (96, 128, 3), (128, 96, 1)]),
            elements=st.integers(0, 255),
        ),
    )


def _check(measure, image) -> None:
    try:
        result = measure(image)
    except ValueError as exc:
        assert str(exc)  # a clear message, not a bare error
        return
    assert isinstance(result, QualityResult)
    assert 0 <= result.score <= 100
    assert all(np.isfinite(v) for v in result.measures.values()), result.measures


@pytest.mark.parametrize("modality", sorted(MEASURES))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image=_image_like())
def test_any_array_gives_a_result_or_a_value_error(modality: str, image: np.ndarray) -> None:
    _check(MEASURES[modality], image)


@pytest.mark.parametrize("modality", sorted(MEASURES))
@pytest.mark.parametrize("value", [0, 255])
@pytest.mark.parametrize("shape", [(288, 256), (480, 640)])
def test_flat_images_score_zero(modality: str, value: int, shape: tuple[int, int]) -> None:
    image = np.full(shape + ((3,) if modality == "face" else ()), value, np.uint8)
    assert MEASURES[modality](image).score == 0


@pytest.mark.parametrize("modality", sorted(MEASURES))
@pytest.mark.parametrize(
    "image",
    [
        np.zeros((1, 1), np.uint8),
        np.full((300, 300), np.nan),
        np.zeros((300, 300), np.int64),
        np.zeros((0, 0), np.uint8),
        None,
        "image.png",
        3.5,
    ],
    ids=["1x1", "nan", "int64", "empty", "none", "str", "float"],
)
def test_unusable_inputs_raise_value_error(modality: str, image: object) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        MEASURES[modality](image)
