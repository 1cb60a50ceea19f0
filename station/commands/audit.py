"""``rekam audit``: check the audit trail's hash chain, or show its entries.

rekam audit verify --data-dir /var/lib/rekam             # exit 1 when the chain is broken
rekam audit verify --anchor 3f2a...                      # the head noted last month is there
rekam audit verify --public-key station.pub.pem          # the station's key, known elsewhere
rekam audit export --output audit.json                   # for the centre's verify_export
rekam audit show --action capture_forced

``verify`` checks the signed heads with the station's public key: ``--public-key``, else the one
in the data directory's ``keys/`` (a copy known off the kit, e.g. the centre's, is the one a
thief cannot replace).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from station.cli import config_options, load_config


def _data_dir(args: argparse.Namespace) -> Path:
    if args.data_dir:
        return Path(args.data_dir)
    return load_config(args.config, "audit").data_dir


def _public_key(args: argparse.Namespace, data_dir: Path):  # type: ignore[no-untyped-def]
    from uploader.keys import STATION_PUBLIC_FILE, load_station_public_key

    path = Path(args.public_key) if args.public_key else data_dir / "keys" / STATION_PUBLIC_FILE
    if not args.public_key and not path.exists():
        return None
    return load_station_public_key(path)


def _verify(log, args: argparse.Namespace, data_dir: Path) -> int:  # type: ignore[no-untyped-def]
    public_key = _public_key(args, data_dir)
    result = log.verify(anchor=args.anchor, public_key=public_key)
    for problem in result.problems:
        print(f"BROKEN: {problem}")
    verdict = "intact" if result.ok else "BROKEN"
    print(f"{result.count} entries, chain {verdict}; head {result.head}")
    if result.signed_through is None:
        print("signed heads not checked: no station public key")
    else:
        print(f"signed by the station through entry {result.signed_through}")
    return 0 if result.ok else 1


def cmd_audit(args: argparse.Namespace) -> int:
    from station.audit import AuditLog

    data_dir = _data_dir(args)
    path = data_dir / "audit.db"
    try:
        log = AuditLog(path, readonly=True)
    except FileNotFoundError:
        print(f"rekam audit: no audit log at {path}", file=sys.stderr)
        return 2
    try:
        if args.action == "verify":
            return _verify(log, args, data_dir)
        if args.action == "export":
            Path(args.output).write_text(json.dumps(log.export(), indent=1), encoding="utf-8")
            return 0
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
    verify.add_argument(
        "--public-key", default="", help="the station's public key (PEM) for the signed heads"
    )
    show = sub.add_parser("show", help="print the entries, oldest first")
    show.add_argument("--action", dest="only", help="only entries of this action")
    export = sub.add_parser("export", help="write the log and its signed heads as JSON")
    export.add_argument("--output", required=True, help="the JSON file to write")
    for action in (verify, show, export):
        config_options(action, inherited=True)
    parser.set_defaults(func=cmd_audit)
