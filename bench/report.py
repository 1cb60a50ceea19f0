"""Bench rows, the table printed for people, and the JSON written for machines."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Row:
    """One measured figure. ``target`` is a string such as "<= 200" or "" when there is none."""

    name: str
    value: float
    unit: str
    target: str = ""
    note: str = ""

    @property
    def met(self) -> bool | None:
        if not self.target:
            return None
        op, _, bound = self.target.partition(" ")
        limit = float(bound)
        return self.value <= limit if op == "<=" else self.value >= limit


def render(rows: list[Row]) -> str:
    header = ("name", "value", "unit", "target", "met", "note")
    body = [
        (
            r.name,
            f"{r.value:.3f}".rstrip("0").rstrip("."),
            r.unit,
            r.target,
            {None: "", True: "yes", False: "NO"}[r.met],
            r.note,
        )
        for r in rows
    ]
    widths = [max(len(str(line[i])) for line in (header, *body)) for i in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
        for line in (header, *body)
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_json(rows: list[Row], path: Path) -> None:
    payload = [
        {
            "name": r.name,
            "value": r.value,
            "unit": r.unit,
            "target": r.target or None,
            "met": r.met,
            "note": r.note,
        }
        for r in rows
    ]
    path.write_text(json.dumps(payload, indent=2) + "\n")


__all__ = ["Row", "asdict", "render", "write_json"]
