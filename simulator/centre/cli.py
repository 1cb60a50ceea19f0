"""``rekam sim center``: run the simulated central registry until interrupted, and its
administrator's commands.

    rekam sim center [--port 8480] [--data-dir D] ...      serve (HTTPS on loopback)
    rekam sim center enroll-code STATION [--data-dir D]    issue a one-time enrollment code
    rekam sim center revoke STATION [--data-dir D]         refuse the station's keys from now on
    rekam sim center trust [--data-dir D]                  what a kit pins for this centre
    rekam sim center import BUNDLE [--data-dir D]          import a USB bundle, write its receipt

The administrator's commands work on the data directory, whether the centre runs or not.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from simulator.centre.bundle_import import BundleImporter, RecordOutcome
from simulator.centre.identity import CentreIdentity
from simulator.centre.server import CentreServer
from simulator.centre.stations import CODE_LIFETIME_S, EnrollmentRefused, StationRegistry
from uploader.bundle import BundleError
from uploader.bundle_receipt import ImportOutcome

ADMIN_COMMANDS = ("enroll-code", "revoke", "trust", "import")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rekam sim center",
        description="Simulated central registry (ingest, deduplication, status) on loopback. "
        f"Administration: rekam sim center {{{','.join(ADMIN_COMMANDS)}}} --help",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, default=8480, help="TCP port (0 = pick one)")
    parser.add_argument("--data-dir", default="centre-data", help="state directory")
    parser.add_argument(
        "--decision-delay", type=float, default=0.3, help="seconds before a record is decided"
    )
    parser.add_argument(
        "--provision",
        nargs=2,
        action="append",
        default=[],
        metavar=("STATION_ID", "PUBLIC_PEM"),
        help="enroll a station's public key file (Ed25519 or EC P-256) at start, as its "
        "administrator (repeatable)",
    )
    parser.add_argument(
        "--plain-http",
        action="store_true",
        help="serve plain HTTP instead of HTTPS (only a kit run with --simulate accepts it)",
    )
    parser.add_argument(
        "--client-ca", help="require kits to present a TLS client certificate this CA signed"
    )
    parser.add_argument("--ready-file", help="write the URL, key paths and TLS pin as JSON once up")
    parser.add_argument("--verbose", action="store_true")
    return parser


def build_admin_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rekam sim center", description="The simulated centre's administrator."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    code = commands.add_parser("enroll-code", help="issue a one-time enrollment code")
    code.add_argument("station_id", metavar="STATION")
    code.add_argument(
        "--valid-days", type=float, default=CODE_LIFETIME_S / 86400, help="code lifetime"
    )
    revoke = commands.add_parser("revoke", help="refuse every key of a station from now on")
    revoke.add_argument("station_id", metavar="STATION")
    commands.add_parser("trust", help="print what a kit pins for this centre")
    bundle = commands.add_parser(
        "import",
        help="import a USB bundle: each record's outcome as it goes, resumable after an "
        "interruption, then the signed receipt.json written into the bundle's folder",
    )
    bundle.add_argument("bundle", metavar="BUNDLE", help="the bundle's folder on the drive")
    for sub in commands.choices.values():
        sub.add_argument("--data-dir", default="centre-data", help="the centre's state directory")
    return parser


def admin_main(argv: Sequence[str]) -> int:
    """``enroll-code``, ``revoke`` and ``trust``; exit status 2 when refused."""
    args = build_admin_parser().parse_args(argv)
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    if args.command == "import":
        return import_main(Path(args.bundle), data_dir)
    if args.command == "trust":
        identity = CentreIdentity.load_or_create(data_dir)
        print(f"tls_pin = {identity.pin_text}")
        print(f"receipt_key = {identity.receipt_public_path}")
        return 0
    registry = StationRegistry(data_dir / "stations.sqlite")
    try:
        if args.command == "enroll-code":
            print(registry.issue_code(args.station_id, args.valid_days * 86400))
        else:
            count = registry.revoke(args.station_id)
            print(f"station {args.station_id}: {count} key(s) revoked")
    except EnrollmentRefused as exc:
        print(f"rekam sim center {args.command}: {exc.message}")
        return 2
    finally:
        registry.close()
    return 0


def import_main(bundle: Path, data_dir: Path) -> int:
    """Import one bundle, printing every record's outcome as it is reached; exit status 2 when
    the bundle is refused, 1 when its receipt could not be written (run it again)."""
    centre = CentreServer(data_dir, tls=False).open()

    def progress(done: int, total: int, item: RecordOutcome) -> None:
        reason = f" {item.reason}" if item.reason else ""
        earlier = " (earlier run)" if item.resumed else ""
        line = f"[{done}/{total}] {item.record_id} {item.outcome.value}{reason}{earlier}"
        print(line, flush=True)

    try:
        result = BundleImporter(centre).run(bundle, progress)
    except BundleError as exc:
        print(f"rekam sim center import: refused: {exc}", flush=True)
        return 2
    finally:
        centre.close()
    tally = Counter(item.outcome.value for item in result.outcomes)
    print(
        "bundle "
        + result.bundle.path.name
        + ": "
        + ", ".join(f"{tally.get(kind.value, 0)} {kind.value.lower()}" for kind in ImportOutcome)
    )
    if result.receipt_path is None:
        print(f"receipt NOT written: {result.receipt_error}; run the import again", flush=True)
        return 1
    print(f"receipt: {result.receipt_path}", flush=True)
    return 0


def _ready(server: CentreServer) -> dict[str, str]:
    return {
        "url": server.url,
        "public_key_path": str(server.public_key_path),
        "receipt_key_path": str(server.identity.receipt_public_path),
        "tls_pin": server.identity.pin_text,
    }


def main(argv: Sequence[str] | None = None, stop: threading.Event | None = None) -> int:
    """Run the centre until SIGINT/SIGTERM (or until ``stop`` is set), or run one of the
    administrator's commands."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ADMIN_COMMANDS:
        return admin_main(argv)
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    stop = stop or threading.Event()
    server = CentreServer(
        args.data_dir,
        args.host,
        args.port,
        decision_delay=args.decision_delay,
        tls=not args.plain_http,
        client_ca=args.client_ca,
    )
    server.start()
    try:
        for station_id, pem_path in args.provision:
            with open(pem_path, "rb") as handle:
                status, body = server.provision(station_id, handle.read())
            print(f"station {station_id}: HTTP {status} {body.get('code')}")
        ready = _ready(server)
        print(f"centre: {server.url}", flush=True)
        print(f"centre public key: {server.public_key_path}", flush=True)
        print(f"centre receipt key: {ready['receipt_key_path']}", flush=True)
        print(f"centre TLS pin: {ready['tls_pin']}", flush=True)
        if args.ready_file:
            path = Path(args.ready_file)
            temporary = path.with_name(path.name + ".tmp")
            temporary.write_text(json.dumps(ready))
            os.replace(temporary, path)
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, lambda *_: stop.set())
        while not stop.wait(0.5):
            pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
