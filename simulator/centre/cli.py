"""``rekam sim center``: run the simulated central registry until interrupted."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
from collections.abc import Sequence
from pathlib import Path

from simulator.centre.server import CentreServer


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rekam sim center",
        description="Simulated central registry (ingest, deduplication, status) on loopback.",
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
        help="trust a station's Ed25519 or EC P-256 public key at start (repeatable)",
    )
    parser.add_argument("--ready-file", help="write the URL and public key path as JSON once up")
    parser.add_argument("--verbose", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None, stop: threading.Event | None = None) -> int:
    """Run the centre until SIGINT/SIGTERM (or until ``stop`` is set)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print("warning: serving plain HTTP beyond loopback; put TLS in front of it")
    stop = stop or threading.Event()
    server = CentreServer(args.data_dir, args.host, args.port, decision_delay=args.decision_delay)
    server.start()
    try:
        for station_id, pem_path in args.provision:
            with open(pem_path, "rb") as handle:
                status, body = server.provision(station_id, handle.read())
            print(f"station {station_id}: HTTP {status} {body.get('code')}")
        print(f"centre: {server.url}", flush=True)
        print(f"centre public key: {server.public_key_path}", flush=True)
        if args.ready_file:
            ready = Path(args.ready_file)
            temporary = ready.with_name(ready.name + ".tmp")
            temporary.write_text(
                json.dumps({"url": server.url, "public_key_path": str(server.public_key_path)})
            )
            os.replace(temporary, ready)
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, lambda *_: stop.set())
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
