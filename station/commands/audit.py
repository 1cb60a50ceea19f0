"""``rekam audit``: check the audit trail's hash chain, or show its entries.

rekam audit verify --data-dir /var/lib/rekam             # exit 1 when the chain is broken
rekam audit verify --anchor 3f2a...                      # the head noted last month is there
rekam audit show --action capture_forced
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from station.cli import config_options, load_config


def _data_dir(args: argparse.Namespace) -> Path:
    if args.data_dir:
        return Path(args.data_dir)
    return load_config(args.config, "audit").data_dir


def cmd_audit(args: argparse.Namespace) -> int:
    from station.audit import AuditLog

    path = _data_dir(args) / "audit.db"
    try:
        log = AuditLog(path, readonly=True)
    except FileNotFoundError:
        print(f"rekam audit: no audit log at {path}", file=sys.stderr)
        return 2
    try:
        if args.action == "verify":
            result = log.verify(anchor=args.anchor)
            for problem in result.problems:
                print(f"BROKEN: {problem}")
            verdict = "intact" if result.ok else "BROKEN"
            print(f"{result.count} entries, chain {verdict}; head {result.head}")
            return 0 if result.ok else 1
        for entry in log.entries(args.only):
            print(
                f"{entry.seq}\t{entry.at}\t{entry.actor}\t{entry.action}\t{entry.target}\t"
                f"{entry.details}"
            )
        return 0
    finally:
        log.close()


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("audit", help="verify or show the audit trail")
    config_options(parser)
    sub = parser.add_subparsers(dest="action", required=True)
    verify = sub.add_parser("verify", help="check the hash chain (exit 1 if broken)")
    verify.add_argument(
        "--anchor", default="", help="a head hash noted earlier that must still be in the chain"
    )
    show = sub.add_parser("show", help="print the entries, oldest first")
    show.add_argument("--action", dest="only", help="only entries of this action")
    for action in (verify, show):
        config_options(action, inherited=True)
    parser.set_defaults(func=cmd_audit)
