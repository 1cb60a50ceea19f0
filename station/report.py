"""The monthly recording report: recordings per resident category and outcome, counted the
way the offices' monthly tables count them (a recording belongs to the month it was sealed in,
counted by where it stands today; enrollments cancelled before sealing are counted apart)."""

from __future__ import annotations

import csv
import io
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path

from domain.categories import report_categories
from domain.messages import Message, msg
from domain.vocabulary import Category
from station.audit import AuditLog

UNKNOWN_CATEGORY = "unknown"


@dataclass(frozen=True)
class Column:
    """One outcome column; its heading is the catalogue's REPORT_COLUMN_<KEY>."""

    key: str
    states: frozenset[str] = frozenset()

    @property
    def heading(self) -> Message:
        return msg(f"REPORT_COLUMN_{self.key.upper()}")


# Outcome columns in the order the table shows them; each counts records in these states.
OUTCOMES: tuple[Column, ...] = (
    Column("awaiting_delivery", frozenset({"SEALED", "CARRIED"})),
    Column("at_centre", frozenset({"SENT_FOR_ENROLLMENT", "RECEIVED_AT_CENTRAL"})),
    Column("print_ready", frozenset({"PRINT_READY_RECORD"})),
    Column("duplicate", frozenset({"DUPLICATE_RECORD"})),
    Column("adjudicate", frozenset({"ADJUDICATE_RECORD"})),
    Column(
        "failed_at_centre",
        frozenset({"ENROLL_FAILURE_AT_CENTRAL", "SEARCH_FAILURE_AT_CENTRAL"}),
    ),
    Column("rejected", frozenset({"DEAD_LETTER"})),
)
RECORDED = Column("recorded")
CANCELLED = Column("cancelled")
COLUMNS: tuple[Column, ...] = (RECORDED, *OUTCOMES, CANCELLED)
# Report rows: the category policies in their report order, then any unknown category.
CATEGORY_ROWS: tuple[str, ...] = tuple(p.category.value for p in report_categories())


def row_name(category: str, language: str) -> str:
    """A row's category name, capitalised, in ``language``."""
    code = Category(category).message_code if category in CATEGORY_ROWS else "CATEGORY_UNKNOWN"
    name = msg(code).render(language)
    return name[:1].upper() + name[1:]


def parse_month(text: str) -> tuple[int, int]:
    """``YYYY-MM`` -> (year, month); ValueError otherwise."""
    try:
        moment = datetime.strptime(text, "%Y-%m")
    except ValueError as exc:
        raise ValueError(f"month must be YYYY-MM, not {text!r}") from exc
    return moment.year, moment.month


@dataclass
class MonthlyReport:
    """Counts per category (rows) and column key."""

    year: int
    month: int
    counts: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, category: str, column: str) -> None:
        row = category if category in CATEGORY_ROWS else UNKNOWN_CATEGORY
        self.counts.setdefault(row, Counter())[column] += 1

    def rows(self) -> list[tuple[str, dict[str, int]]]:
        """Every known category (zeros included), an unknown row if any, then the total."""
        order = list(CATEGORY_ROWS)
        if UNKNOWN_CATEGORY in self.counts:
            order.append(UNKNOWN_CATEGORY)
        rows = [
            (cat, {c.key: self.counts.get(cat, Counter())[c.key] for c in COLUMNS}) for cat in order
        ]
        total = {c.key: sum(r[c.key] for _, r in rows) for c in COLUMNS}
        return [*rows, ("total", total)]

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["month", "category", *(c.key for c in COLUMNS)])
        for category, values in self.rows():
            writer.writerow(
                [f"{self.year:04d}-{self.month:02d}", category, *(values[c.key] for c in COLUMNS)]
            )
        return out.getvalue()

    def to_table(self, language: str = "en") -> str:
        """A fixed-width table with headings in ``language`` (a catalogue language)."""
        title = msg("REPORT_TITLE", month=f"{self.year:04d}-{self.month:02d}").render(language)
        header = [
            msg("REPORT_CATEGORY").render(language),
            *(c.heading.render(language) for c in COLUMNS),
        ]
        body = []
        for category, values in self.rows():
            if category == "total":
                name = msg("REPORT_TOTAL").render(language)
            else:
                name = row_name(category, language)
            body.append([name, *(str(values[c.key]) for c in COLUMNS)])
        widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]

        def line(cells: list[str]) -> str:
            first = cells[0].ljust(widths[0])
            rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
            return "  ".join([first, *rest])

        rule = "-" * len(line(header))
        return "\n".join(
            [title, rule, line(header), rule, *map(line, body[:-1]), rule, line(body[-1])]
        )


def _in_month(timestamp: float, year: int, month: int, zone: tzinfo | None) -> bool:
    moment = datetime.fromtimestamp(timestamp, zone) if zone else datetime.fromtimestamp(timestamp)
    return (moment.year, moment.month) == (year, month)


def monthly_report(data_dir: Path, month: str, zone: tzinfo | None = None) -> MonthlyReport:
    """Count the kit's recordings of ``month`` (YYYY-MM, in ``zone``; default: local time).

    Reads the outbox database read-only, so it runs beside the daemon; cancelled enrollments
    come from the audit log.
    """
    year, number = parse_month(month)
    report = MonthlyReport(year, number)
    column_of = {state: column.key for column in OUTCOMES for state in column.states}
    for category, state, created_at in _outbox_rows(data_dir / "outbox" / "outbox.sqlite"):
        if _in_month(created_at, year, number, zone):
            report.add(category, RECORDED.key)
            report.add(category, column_of.get(state, "at_centre"))
    for category in _cancelled_categories(data_dir / "audit.db", year, number, zone):
        report.add(category, CANCELLED.key)
    return report


def _outbox_rows(path: Path) -> list[tuple[str, str, float]]:
    if not path.exists():
        return []
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        db.execute("PRAGMA busy_timeout=10000")
        return db.execute("SELECT category, state, created_at FROM records").fetchall()
    finally:
        db.close()


def _cancelled_categories(path: Path, year: int, month: int, zone: tzinfo | None) -> list[str]:
    if not path.exists():
        return []
    log = AuditLog(path, readonly=True)
    try:
        started = {
            e.target: str(e.detail_map.get("category", ""))
            for e in log.entries("enrollment_started")
            if e.target
        }
        cancelled = []
        for entry in log.entries("enrollment_cancelled"):
            if entry.detail_map.get("status") != "OK":
                continue
            moment = datetime.fromisoformat(entry.at).timestamp()
            if _in_month(moment, year, month, zone):
                cancelled.append(started.get(entry.target, UNKNOWN_CATEGORY))
        return cancelled
    finally:
        log.close()
