"""The message catalogue: complete in every language, rendered with nested parameters, and the
caller's language chosen from accept-language."""

from __future__ import annotations

import pytest

from domain.catalogue import placeholders, problems
from domain.messages import in_every_language, languages, msg, negotiate


def test_catalogue_is_complete_and_consistent():
    assert problems() == []


def test_english_and_indonesian_are_there():
    assert languages()[:1] == ("en",)
    assert "id" in languages()


def test_nested_message_parameters_render_in_the_same_language():
    title = msg("REPORT_TITLE", month="2026-11")
    assert title.render("en") == "Recordings in 2026-11"
    assert title.render("id") == "Laporan perekaman bulan 2026-11"
    finger = msg("POSITION_LEFT_INDEX")
    assert in_every_language(finger) == {"en": "left index finger", "id": "jari telunjuk kiri"}


def test_joined_sentences_render_in_order():
    joined = msg("REPORT_CATEGORY") + msg("REPORT_TOTAL")
    assert joined.render("en") == "Category Total"
    assert joined.codes() == ("REPORT_CATEGORY", "REPORT_TOTAL")


def test_unknown_code_or_missing_parameter_never_crashes():
    assert msg("NO_SUCH_CODE").render("id") == "NO_SUCH_CODE"
    assert msg("REPORT_TITLE").render("en") == "Recordings in {month}"
    assert msg("POSITION_FACE").render("xx") == "face photo"  # unknown language: English


@pytest.mark.parametrize(
    ("header", "default", "expected"),
    [
        ("id", "en", "id"),
        ("in-ID", "en", "id"),  # the old ISO 639 code for Indonesian
        ("id-ID,id;q=0.9,en;q=0.8", "en", "id"),
        ("en;q=0.5, id;q=0.9", "en", "id"),
        ("fr-FR, en;q=0.1", "id", "en"),
        ("fr-FR", "id", "id"),
        ("", "id", "id"),
        (None, "en", "en"),
        ("id;q=0, en;q=0.1", "id", "en"),
        ("*", "id", "id"),
        ("id;q=abc", "en", "en"),
        ("en", "xx", "en"),
    ],
)
def test_accept_language_negotiation(header, default, expected):
    assert negotiate(header, default) == expected


def test_placeholders():
    assert placeholders("Place the {finger} on {device}.") == {"finger", "device"}


def test_a_third_language_is_one_file_per_area(tmp_path, monkeypatch):
    """Adding a language touches no code: Babel's own init from the templates, translated."""
    import shutil

    from babel.messages.pofile import read_po, write_po

    from domain import messages

    locale = tmp_path / "locale"
    shutil.copytree(messages.LOCALE_DIR, locale)
    for template in locale.glob("*.pot"):
        with template.open("rb") as handle:
            catalog = read_po(handle, locale="jv")
        for entry in catalog:
            if entry.id:
                entry.string = f"[jv] {entry.id}"
        target = locale / "jv" / "LC_MESSAGES" / f"{template.stem}.po"
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as handle:
            write_po(handle, catalog)
    monkeypatch.setattr(messages, "LOCALE_DIR", locale)
    messages.catalogue.cache_clear()
    try:
        assert problems(locale) == []
        assert "jv" in languages()
        assert negotiate("jv-ID, id;q=0.5") == "jv"
        assert msg("REPORT_TITLE", month="2026-11").render("jv") == "[jv] Recordings in 2026-11"
    finally:
        monkeypatch.undo()
        messages.catalogue.cache_clear()
    assert "jv" not in languages()
