"""``rekam report --month``: recordings per resident category and outcome, from the outbox (read
only, beside a running daemon) and cancellations from the audit log."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from command_runner import run_command

from station.audit import AuditLog
from station.report import monthly_report, parse_month
from uploader.outbox import Outbox, RecordState
from uploader.package import SealedPackage

WIB = ZoneInfo("Asia/Jakarta")


def _at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=WIB).timestamp()


# (record, category, sealed at (WIB), state today)
RECORDS = [
    ("R-01", "regular", "2025-03-01 00:30", RecordState.PRINT_READY_RECORD),  # UTC: February
    ("R-02", "regular", "2025-03-10 09:00", RecordState.PRINT_READY_RECORD),
    ("R-03", "regular", "2025-03-11 09:00", RecordState.DUPLICATE_RECORD),
    ("R-04", "elderly", "2025-03-12 10:00", RecordState.SEALED),
    ("R-05", "elderly", "2025-03-13 10:00", RecordState.ADJUDICATE_RECORD),
    ("R-06", "student", "2025-03-20 08:00", RecordState.RECEIVED_AT_CENTRAL),
    ("R-07", "student", "2025-03-31 23:30", RecordState.DEAD_LETTER),  # UTC: still March 31
    ("R-08", "bedridden", "2025-03-15 11:00", RecordState.SEARCH_FAILURE_AT_CENTRAL),
    ("R-09", "regular", "2025-04-01 00:10", RecordState.PRINT_READY_RECORD),  # April in WIB
    ("R-10", "", "2025-03-05 12:00", RecordState.SENT_FOR_ENROLLMENT),  # no category known
]


@pytest.fixture
def data_dir(tmp_path):
    outbox = Outbox(tmp_path / "outbox")
    for record_id, category, sealed_at, state in RECORDS:
        data = record_id.encode() * 10
        package = SealedPackage(record_id, data, hashlib.sha256(data).hexdigest(), len(data))
        outbox.enqueue(package, category, now=_at(sealed_at))
        if state is not RecordState.SEALED:
            outbox.set_status(record_id, state, now=_at(sealed_at) + 60)
    audit = AuditLog(tmp_path / "audit.db", clock=lambda: datetime(2025, 3, 14, 9, tzinfo=WIB))
    audit.append("op-ani", "enrollment_started", "enr-1", {"category": "elderly", "status": "OK"})
    audit.append("op-ani", "enrollment_cancelled", "enr-1", {"status": "OK"})
    audit.append("op-ani", "enrollment_started", "enr-2", {"category": "student", "status": "OK"})
    audit.append("op-ani", "enrollment_cancelled", "enr-2", {"status": "FAILED_PRECONDITION"})
    audit.close()
    # The daemon keeps the outbox open while the report runs.
    yield tmp_path
    outbox.close()


def _rows(report) -> dict[str, dict[str, int]]:
    return dict(report.rows())


def test_counts_per_category_and_outcome_in_the_offices_zone(data_dir):
    march = _rows(monthly_report(data_dir, "2025-03", WIB))
    assert march["regular"]["recorded"] == 3
    assert march["regular"]["print_ready"] == 2 and march["regular"]["duplicate"] == 1
    assert march["elderly"] == {**march["elderly"], "recorded": 2, "awaiting_delivery": 1}
    assert march["elderly"]["adjudicate"] == 1 and march["elderly"]["cancelled"] == 1
    assert march["student"]["at_centre"] == 1 and march["student"]["rejected"] == 1
    assert march["bedridden"]["failed_at_centre"] == 1
    assert march["unknown"]["at_centre"] == 1
    assert march["student"]["cancelled"] == 0  # that cancellation failed
    assert march["disabled"]["recorded"] == 0  # every category has its row
    total = march["total"]
    assert total["recorded"] == 9 and total["cancelled"] == 1
    outcomes = ("awaiting_delivery", "at_centre", "print_ready", "duplicate", "adjudicate")
    outcomes += ("failed_at_centre", "rejected")
    assert sum(total[key] for key in outcomes) == total["recorded"]
    # Month boundaries follow the zone: in UTC, R-01 was sealed in February, R-09 in March.
    utc = ZoneInfo("UTC")
    assert _rows(monthly_report(data_dir, "2025-02", utc))["total"]["recorded"] == 1
    assert _rows(monthly_report(data_dir, "2025-04", utc))["total"]["recorded"] == 0
    assert _rows(monthly_report(data_dir, "2025-04", WIB))["total"]["recorded"] == 1


def test_the_command_prints_a_table_and_writes_csv(data_dir, tmp_path, capsys):
    out_csv = tmp_path / "laporan.csv"
    argv = ["--data-dir", str(data_dir), "--month", "2025-03", "--timezone", "Asia/Jakarta"]
    assert run_command("report", [*argv, "--language", "id", "--csv", str(out_csv)]) == 0
    table = capsys.readouterr().out
    assert "Laporan perekaman bulan 2025-03" in table
    assert "Siap cetak" in table and "Lansia" in table
    total_line = next(line for line in table.splitlines() if line.startswith("Jumlah"))
    assert total_line.split()[1:3] == ["9", "1"]
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    assert [r["category"] for r in rows][-1] == "total"
    regular = next(r for r in rows if r["category"] == "regular")
    assert (regular["month"], regular["recorded"], regular["print_ready"]) == ("2025-03", "3", "2")
    assert run_command("report", [*argv, "--csv", "-"]) == 0
    assert capsys.readouterr().out.startswith("month,category,recorded,awaiting_delivery")
    assert run_command("report", ["--data-dir", str(data_dir), "--month", "03-2025"]) == 2
    assert "YYYY-MM" in capsys.readouterr().err


def test_an_empty_kit_reports_zeros(tmp_path):
    report = monthly_report(tmp_path, "2025-01")
    assert _rows(report)["total"]["recorded"] == 0
    assert "Total" in report.to_table() and not (tmp_path / "outbox").exists()


@pytest.mark.parametrize("text", ["2025-13", "2025", "25-01", "", "2025-1x"])
def test_bad_months_are_refused(text):
    with pytest.raises(ValueError):
        parse_month(text)
