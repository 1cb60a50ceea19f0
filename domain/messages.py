"""Operator-facing sentences: code raises or returns a ``Message`` (a stable code and its
parameters); the catalogue turns it into a sentence in the caller's language.

The catalogue is gettext: ``domain/locale/<area>.pot`` holds each sentence's English text
(``msgid``) under its code (``msgctxt``); ``domain/locale/<lang>/LC_MESSAGES/<area>.po`` holds
one language. Add a language with ``pybabel init -D <area> -i domain/locale/<area>.pot
-d domain/locale -l <lang>`` for each area and translate the ``msgstr`` lines; nothing in the code
changes. Placeholders are Python brace fields (``{finger}``); a parameter may itself be a
Message (a finger's name, a category), rendered in the same language.
"""

from __future__ import annotations

import string
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Union

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
SOURCE_LANGUAGE = "en"
# Language tags that mean a catalogue language (ISO 639-1 "in" is the old code for Indonesian).
LANGUAGE_ALIASES = {"in": "id"}

Param = Union["Message", str, int, float]


@dataclass(frozen=True)
class Message:
    """One operator-facing sentence (or several, joined with ``+``), as a code and parameters."""

    code: str
    params: tuple[tuple[str, Param], ...] = ()
    more: tuple[Message, ...] = ()

    def __add__(self, other: Message) -> Message:
        return Message(self.code, self.params, (*self.more, other, *other.more))

    @property
    def parameters(self) -> dict[str, Param]:
        return dict(self.params)

    def codes(self) -> tuple[str, ...]:
        """This sentence's code and those of the sentences joined to it."""
        return (self.code, *(m.code for m in self.more))

    def render(self, language: str = SOURCE_LANGUAGE) -> str:
        """The sentence(s) in ``language`` (English where the language lacks a sentence)."""
        return " ".join(part for m in (self, *self.more) if (part := _render_one(m, language)))


def msg(code: str, **params: Param) -> Message:
    """``Message(code, params)`` with keyword parameters."""
    return Message(code, tuple(sorted(params.items())))


def render(message: Message, language: str = SOURCE_LANGUAGE) -> str:
    return message.render(language)


def in_every_language(message: Message) -> dict[str, str]:
    """The sentence in each catalogue language, e.g. for a JSON report."""
    return {language: message.render(language) for language in languages()}


class _Formatter(string.Formatter):
    def __init__(self, language: str) -> None:
        self.language = language

    def format_field(self, value: object, format_spec: str) -> str:
        if isinstance(value, Message):
            value = value.render(self.language)
        return super().format_field(value, format_spec)

    def get_value(self, key: int | str, args: object, kwargs: Mapping[str, object]) -> object:
        if isinstance(key, str) and key not in kwargs:
            return "{" + key + "}"  # a missing parameter shows, never crashes
        return super().get_value(key, args, kwargs)  # type: ignore[arg-type]


def _render_one(message: Message, language: str) -> str:
    template = sentence(message.code, language)
    if template is None:
        return message.code
    try:
        return _Formatter(language).vformat(template, (), message.parameters)
    except (ValueError, IndexError, KeyError):
        return template


# -- the catalogue -----------------------------------------------------------------------------
_load_lock = threading.Lock()


@dataclass(frozen=True)
class Catalogue:
    """Every sentence by code, per language; English comes from the templates."""

    sentences: dict[str, dict[str, str]]  # language -> code -> sentence
    areas: dict[str, str]  # code -> area (the .pot file it lives in)


@cache
def catalogue() -> Catalogue:
    with _load_lock:
        sentences: dict[str, dict[str, str]] = {SOURCE_LANGUAGE: {}}
        areas: dict[str, str] = {}
        for template in sorted(LOCALE_DIR.glob("*.pot")):
            area = template.stem
            for code, english in _entries(template, source=True).items():
                if code in areas:
                    raise ValueError(f"message code {code} is in both {areas[code]} and {area}")
                areas[code] = area
                sentences[SOURCE_LANGUAGE][code] = english
        for po in sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po")):
            language = po.parent.parent.name
            sentences.setdefault(language, {}).update(_entries(po, source=False))
        return Catalogue(sentences, areas)


def _entries(path: Path, *, source: bool) -> dict[str, str]:
    with path.open("rb") as handle:
        parsed = read_po(handle)
    entries: dict[str, str] = {}
    for entry in parsed:
        if not entry.id or not entry.context:
            continue
        text = entry.id if source else entry.string
        if text and not entry.fuzzy:
            entries[entry.context] = str(text)
    return entries


def sentence(code: str, language: str) -> str | None:
    """The template for ``code`` in ``language``, else in English, else None."""
    sentences = catalogue().sentences
    found = sentences.get(normalise_language(language), {}).get(code)
    return found if found is not None else sentences[SOURCE_LANGUAGE].get(code)


def languages() -> tuple[str, ...]:
    """The catalogue's languages, English first."""
    return tuple(sorted(catalogue().sentences, key=lambda lang: (lang != SOURCE_LANGUAGE, lang)))


def normalise_language(tag: str) -> str:
    """The primary language subtag, lower case, with aliases resolved ("in-ID" -> "id")."""
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return LANGUAGE_ALIASES.get(primary, primary)


def negotiate(accept_language: str | None, default: str = SOURCE_LANGUAGE) -> str:
    """The catalogue language an HTTP/gRPC ``accept-language`` value prefers most (q-values
    honoured, ``*`` meaning ``default``); ``default`` when it names none we have."""
    available = set(languages())
    fallback = normalise_language(default)
    if fallback not in available:
        fallback = SOURCE_LANGUAGE
    best: tuple[float, int, str] | None = None
    for order, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.partition(";")
        if not tag.strip():
            continue
        quality = _q_value(params)
        if quality <= 0:
            continue
        language = fallback if tag.strip() == "*" else normalise_language(tag)
        if language not in available:
            continue
        if best is None or quality > best[0]:
            best = (quality, -order, language)
    return best[2] if best else fallback


def _q_value(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0
