"""Quality configuration: defaults and the configuration-file mapping."""

from __future__ import annotations

import pytest

from quality.config import FaceConfig, FingerprintConfig, QualityConfig
from quality.reasons import codes, reason


def test_from_mapping_overrides_nested_values() -> None:
    config = QualityConfig.from_mapping(
        {"fingerprint": {"min_score": 55, "light_mean": 168}, "face": {"min_mean": 80}}
    )
    assert config.fingerprint.min_score == 55
    assert config.fingerprint.light_mean == 168.0
    assert config.fingerprint.min_nfiq2 == FingerprintConfig().min_nfiq2
    assert config.face.min_mean == 80.0
    assert config.iris == QualityConfig().iris


@pytest.mark.parametrize(
    "mapping",
    [
        {"nonsense": 1},
        {"min_score": "high"},
        {"light_mean": {"bogus": 1}},
        {"require_eyes": 1},
        {"min_nfiq2": [3]},
    ],
)
def test_from_mapping_rejects_bad_settings(mapping: dict) -> None:
    config_class = FaceConfig if "require_eyes" in mapping else FingerprintConfig
    with pytest.raises(ValueError):
        config_class.from_mapping(mapping)


def test_every_reason_has_both_languages() -> None:
    for code in codes():
        values = {"birth_year": 1987, "expected": "red"}
        found = reason(code, **values)
        assert found.code == code
        assert found.message.render("en") and found.message.render("id")
        assert found.message.render("en") != found.message.render("id")
        assert "{" not in found.message.render("en") + found.message.render("id")


def test_background_reason_names_colour_and_year() -> None:
    found = reason("WRONG_BACKGROUND_COLOUR", birth_year=1987, expected="red")
    assert found.message.render("en") == "Wrong background colour for birth year 1987: use red."
    assert "merah" in found.message.render("id") and "1987" in found.message.render("id")
