"""Maintaining the message catalogue: ``python -m domain.catalogue check`` lists problems;
``python -m domain.catalogue add AREA CODE ENGLISH [--id INDONESIAN] [--note NOTE]`` adds a
sentence to ``domain/locale/AREA.pot`` and to every language's ``AREA.po``.

A language other than English and Bahasa Indonesia is added with Babel's own tool; see
``domain.messages``."""

from __future__ import annotations

import argparse
import string
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from domain.messages import LOCALE_DIR, SOURCE_LANGUAGE


def _read(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def _write(path: Path, catalog: Catalog) -> None:
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, sort_output=False)


def placeholders(text: str) -> set[str]:
    """The brace fields a sentence uses."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def problems(locale_dir: Path = LOCALE_DIR) -> list[str]:
    """Everything that keeps the catalogue from being complete and consistent."""
    found: list[str] = []
    seen: dict[str, str] = {}
    templates = {p.stem: _read(p) for p in sorted(locale_dir.glob("*.pot"))}
    for area, template in templates.items():
        for entry in template:
            if not entry.id:
                continue
            if not entry.context:
                found.append(f"{area}.pot: {entry.id!r} has no code (msgctxt)")
                continue
            if entry.context in seen:
                found.append(f"{entry.context}: in both {seen[entry.context]} and {area}")
            seen[entry.context] = area
    for language_dir in sorted(d for d in locale_dir.iterdir() if d.is_dir()):
        for area, template in templates.items():
            po_path = language_dir / "LC_MESSAGES" / f"{area}.po"
            if not po_path.exists():
                found.append(f"{language_dir.name}: {area}.po is missing")
                continue
            found.extend(_compare(language_dir.name, area, template, _read(po_path)))
    return found


def _compare(language: str, area: str, template: Catalog, translated: Catalog) -> list[str]:
    found: list[str] = []
    by_code = {e.context: e for e in translated if e.id and e.context}
    for entry in template:
        if not entry.id or not entry.context:
            continue
        where = f"{language}/{area}.po {entry.context}"
        other = by_code.pop(entry.context, None)
        if other is None or not other.string:
            found.append(f"{where}: not translated")
        elif other.fuzzy:
            found.append(f"{where}: marked fuzzy")
        elif other.id != entry.id:
            found.append(f"{where}: English text differs from {area}.pot (run update)")
        elif placeholders(str(other.string)) != placeholders(str(entry.id)):
            found.append(f"{where}: placeholders differ from the English")
    found.extend(f"{language}/{area}.po {code}: not in {area}.pot" for code in by_code)
    return found


def add(area: str, code: str, english: str, translations: dict[str, str], note: str) -> None:
    """Add one sentence to the template and every language (translations by language tag)."""
    template_path = LOCALE_DIR / f"{area}.pot"
    template = _read(template_path) if template_path.exists() else Catalog(domain=area)
    if template.get(english, context=code) is not None or any(e.context == code for e in template):
        raise ValueError(f"{code} is already in {area}.pot")
    comments = [note] if note else []
    template.add(english, context=code, auto_comments=comments)
    _write(template_path, template)
    for language_dir in sorted(d for d in LOCALE_DIR.iterdir() if d.is_dir()):
        po_path = language_dir / "LC_MESSAGES" / f"{area}.po"
        language = language_dir.name
        catalog = _read(po_path) if po_path.exists() else Catalog(locale=language, domain=area)
        catalog.add(
            english,
            string=translations.get(language, ""),
            context=code,
            auto_comments=comments,
        )
        _write(po_path, catalog)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m domain.catalogue", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="list untranslated, fuzzy or inconsistent sentences")
    adder = sub.add_parser("add", help="add a sentence to a catalogue area")
    adder.add_argument("area")
    adder.add_argument("code")
    adder.add_argument("english")
    adder.add_argument("--id", dest="indonesian", default="", help="Bahasa Indonesia")
    adder.add_argument("--note", default="", help="a comment for translators")
    args = parser.parse_args(argv)
    if args.command == "add":
        add(args.area, args.code, args.english, {"id": args.indonesian}, args.note)
        return 0
    found = problems()
    for line in found:
        print(line)
    print(f"{len(found)} problem(s)", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

__all__ = ["SOURCE_LANGUAGE", "add", "placeholders", "problems"]
