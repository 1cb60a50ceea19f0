"""The ``rekam`` command: serve, operators, and the sub-commands installed as plug-ins."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from domain.settings import SettingsError
from station.auth import DEFAULT_EXPIRY_DAYS, Role, TokenStore
from station.commands import register_commands
from station.config import StationConfig
from station.kits import KitNotFound, attach_kit
from station.lifecycle import Watchdog, notify, setup_logging, watchdog_interval
from uploader.centre_client import CentreError, CentreUnreachable

DEFAULT_SIM_DATA_DIR = Path("var/rekam")
SIM_WEB_LISTEN = "127.0.0.1:0"  # the simulated kit's web door, on a free port
log = logging.getLogger("station.serve")


def _write_json_atomically(path: Path, payload: dict) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(payload))
    os.replace(temporary, path)


def load_config(path: str | Path | None, command: str) -> StationConfig:
    """The configuration file at ``path`` (the defaults without one). A file that cannot be used
    ends ``rekam COMMAND`` with one line on stderr naming the file, the key and the problem, and
    exit status 2."""
    try:
        return StationConfig.load(Path(path)) if path else StationConfig()
    except SettingsError as error:
        print(f"rekam {command}: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def config_options(parser: argparse.ArgumentParser, *, inherited: bool = False) -> None:
    """``--config`` and ``--data-dir``. ``inherited``: a sub-command's copy, so that both
    ``rekam operator --config F list`` and ``rekam operator list --config F`` work."""
    default = argparse.SUPPRESS if inherited else None
    parser.add_argument("--config", default=default, help="TOML configuration file")
    parser.add_argument("--data-dir", default=default, help="override [station] data_dir")


def _load_config(args: argparse.Namespace) -> StationConfig:
    config = load_config(args.config, "serve")
    if args.simulate and not args.config:
        config.data_dir = DEFAULT_SIM_DATA_DIR
    if args.data_dir:
        config.data_dir = Path(args.data_dir)
    if args.listen:
        config.listen = args.listen
    if args.web_listen is not None:
        config.web = dataclasses.replace(config.web, listen=args.web_listen)
    elif args.simulate and not config.web.listen:
        config.web = dataclasses.replace(config.web, listen=SIM_WEB_LISTEN)
    if args.web_origin:
        origins = [*config.web.allowed_origins, *args.web_origin]
        config.web = dataclasses.replace(config.web, allowed_origins=origins)
    if args.centre_url:
        config.centre.url = args.centre_url
    if args.centre_key:
        config.centre.public_key = Path(args.centre_key)
    if args.centre_receipt_key:
        config.centre.receipt_key = Path(args.centre_receipt_key)
    if args.centre_tls_pin:
        config.centre.tls_pin = args.centre_tls_pin
    return config


def cmd_serve(args: argparse.Namespace) -> int:
    from station.malloc import return_freed_memory
    from station.server import ConfigurationError, StationDaemon, check_identity
    from station.simulation_guard import refuse_production
    from station.tls import centre_trust

    setup_logging(args.verbose, args.log_format)
    return_freed_memory()
    config = _load_config(args)
    kit = None
    try:
        if not args.simulate:
            # A kit's configuration mistakes are named before its TPM is touched (a simulated
            # kit gets its centre, and the centre's pins, from the simulation).
            centre_trust(config)
        check_identity(config, simulated=args.simulate)
        if args.simulate:
            refuse_production(config)
            kit = attach_kit("simulated", config, control_port=args.control_port)
        daemon = StationDaemon(config, simulated=args.simulate)
        if kit is not None:
            kit.provision(config.station_id, daemon.keys.public_pem())
        if args.enrollment_code:
            public_pem = daemon.keys.public_pem()
            daemon.uploader.enroll(config.station_id, args.enrollment_code, public_pem)
        port = daemon.start()
    except (
        ConfigurationError,
        KitNotFound,
        ValueError,
        OSError,
        CentreError,
        CentreUnreachable,
    ) as exc:
        print(f"rekam serve: {exc}", file=sys.stderr)
        if kit is not None:
            kit.close()
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    interval = watchdog_interval()
    watchdog = Watchdog(interval, daemon.serving).start() if interval else None
    if args.ready_file:
        _write_json_atomically(
            Path(args.ready_file),
            {
                "grpc": f"{config.host}:{port}",
                "station_id": config.station_id,
                "station_public_key": daemon.keys.public_pem().decode(),
                "control": kit.control_url if kit else "",
                "web": daemon.web.url if daemon.web else "",
                "centre": config.centre.url,
                "pid": os.getpid(),
            },
        )
    notify("READY=1", f"STATUS=serving station {config.station_id} on port {port}")
    stop.wait()
    notify("STOPPING=1", "STATUS=ending captures, flushing the outbox")
    log.info("stopping: ending running calls and flushing the outbox")
    if watchdog is not None:
        watchdog.stop()
    daemon.stop()
    if kit is not None:
        kit.close()
    return 0


def cmd_operator(args: argparse.Namespace) -> int:
    from domain.clock import STATE_FILE as CLOCK_STATE_FILE
    from domain.clock import SYSTEM_CLOCK, KitClock
    from station.audit import AuditLog, local_actor

    config = load_config(args.config, "operator")
    data_dir = Path(args.data_dir) if args.data_dir else config.data_dir
    # Tokens are issued on the daemon's timeline (its clock state), so expiry means the same.
    clock = KitClock(data_dir / CLOCK_STATE_FILE) if data_dir.is_dir() else SYSTEM_CLOCK
    store = TokenStore(data_dir / "operators.db", clock=clock.now_datetime)
    audit = AuditLog(data_dir / "audit.db")
    try:
        if args.action == "add":
            try:
                token = store.add(args.name, Role(args.role), expires_days=args.expires_days)
            except ValueError as exc:
                print(f"rekam operator add: {exc}", file=sys.stderr)
                return 2
            audit.append(
                local_actor(),
                "operator_added",
                args.name,
                {"role": args.role, "expires_days": args.expires_days},
            )
            print(token)
            print(
                f"token for {args.name} ({args.role}), valid {args.expires_days:g} days; "
                "it is shown only once",
                file=sys.stderr,
            )
        elif args.action == "list":
            for account in store.list():
                state = (
                    "revoked" if not account.active else "expired" if account.expired else "active"
                )
                expires = account.expires_at or "never"
                print(f"{account.name}\t{account.role}\t{account.created_at}\t{expires}\t{state}")
        elif args.action == "revoke":
            count = store.revoke(args.name)
            audit.append(local_actor(), "operator_revoked", args.name, {"revoked": count})
            print(f"revoked {count} token(s) of {args.name}", file=sys.stderr)
            return 0 if count else 1
    finally:
        audit.close()
        store.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rekam", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the station daemon")
    serve.add_argument("--config", help="TOML configuration file")
    serve.add_argument("--simulate", action="store_true", help="attach simulated devices")
    serve.add_argument("--data-dir", help="override [station] data_dir")
    serve.add_argument("--listen", help="override [station] listen, e.g. 127.0.0.1:50051")
    serve.add_argument(
        "--web-listen",
        help="override [station.web] listen (gRPC-Web and MJPEG previews; \"\" turns it off); "
        f"--simulate serves it on {SIM_WEB_LISTEN} unless configured",
    )
    serve.add_argument(
        "--web-origin",
        action="append",
        help="a page origin allowed to call the web door, e.g. http://127.0.0.1:8080 "
        "(added to [station.web] allowed_origins; repeatable)",
    )
    serve.add_argument("--centre-url", help="override [centre] url")
    serve.add_argument("--centre-key", help="override [centre] public_key (PEM path)")
    serve.add_argument(
        "--centre-receipt-key", help="override [centre] receipt_key (the centre's Ed25519 PEM)"
    )
    serve.add_argument("--centre-tls-pin", help="override [centre] tls_pin")
    serve.add_argument(
        "--enrollment-code",
        help="enroll this kit's key at the centre with the one-time code its administrator issued",
    )
    serve.add_argument("--control-port", type=int, default=0, help="simulated kit control port")
    serve.add_argument("--ready-file", help="write address and keys as JSON once serving")
    serve.add_argument(
        "--log-format", choices=("text", "json"), default="text", help="log lines on stderr"
    )
    serve.add_argument("-v", "--verbose", action="store_true")
    serve.set_defaults(func=cmd_serve)

    operator = sub.add_parser("operator", help="manage operator accounts and tokens")
    config_options(operator)
    op_sub = operator.add_subparsers(dest="action", required=True)
    add = op_sub.add_parser("add", help="create a token (printed once)")
    add.add_argument("name")
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.OPERATOR.value)
    add.add_argument(
        "--expires-days",
        type=float,
        default=DEFAULT_EXPIRY_DAYS,
        help=f"days the token stays valid (default {DEFAULT_EXPIRY_DAYS})",
    )
    listing = op_sub.add_parser("list", help="list tokens: name, role, created, expires, state")
    revoke = op_sub.add_parser("revoke", help="revoke every token of an operator")
    revoke.add_argument("name")
    for action in (add, listing, revoke):
        config_options(action, inherited=True)
    operator.set_defaults(func=cmd_operator)

    register_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if extra and not getattr(args, "pass_through", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
