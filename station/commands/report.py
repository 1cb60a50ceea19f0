"""``rekam report``: the month's recordings per resident category and outcome.

rekam report --month 2025-03                         # readable table
rekam report --month 2025-03 --language id           # Bahasa Indonesia headings
rekam report --month 2025-03 --csv laporan.csv       # and a CSV for the office's tables
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.messages import SOURCE_LANGUAGE, languages
from station.cli import load_config


def cmd_report(args: argparse.Namespace) -> int:
    from station.report import monthly_report

    data_dir = Path(args.data_dir) if args.data_dir else load_config(args.config, "report").data_dir
    try:
        zone = ZoneInfo(args.timezone) if args.timezone else None
        report = monthly_report(data_dir, args.month, zone)
    except (ValueError, ZoneInfoNotFoundError) as exc:
        print(f"rekam report: {exc}", file=sys.stderr)
        return 2
    if args.csv == "-":
        sys.stdout.write(report.to_csv())
        return 0
    print(report.to_table(args.language))
    if args.csv:
        Path(args.csv).write_text(report.to_csv(), encoding="utf-8")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report", help="monthly recordings per resident category and outcome"
    )
    parser.add_argument("--month", required=True, help="YYYY-MM")
    parser.add_argument("--config", help="TOML configuration file")
    parser.add_argument("--data-dir", help="override [station] data_dir")
    parser.add_argument("--csv", help="also write the CSV to this file ('-': CSV on stdout only)")
    parser.add_argument("--language", choices=languages(), default=SOURCE_LANGUAGE)
    parser.add_argument(
        "--timezone",
        help="the office's zone for month boundaries, e.g. Asia/Jakarta (default: local)",
    )
    parser.set_defaults(func=cmd_report)
