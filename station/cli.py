"""The ``rekam`` command: serve, operators, simulator, demo."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from station.auth import Role, TokenStore
from station.config import StationConfig

DEFAULT_SIM_DATA_DIR = Path("var/rekam")


def _write_json_atomically(path: Path, payload: dict) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(payload))
    os.replace(temporary, path)


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _load_config(args: argparse.Namespace) -> StationConfig:
    config = StationConfig.load(Path(args.config)) if args.config else StationConfig()
    if args.simulate and not args.config:
        config.data_dir = DEFAULT_SIM_DATA_DIR
    if args.data_dir:
        config.data_dir = Path(args.data_dir)
    if args.listen:
        config.listen = args.listen
    if args.centre_url:
        config.centre.url = args.centre_url
    if args.centre_key:
        config.centre.public_key = args.centre_key
    return config


def cmd_serve(args: argparse.Namespace) -> int:
    from station.server import ConfigurationError, StationDaemon

    _setup_logging(args.verbose)
    config = _load_config(args)
    setup = None
    try:
        if args.simulate:
            from station.simulate import SimulatedSetup

            setup = SimulatedSetup(config, control_port=args.control_port)
        daemon = StationDaemon(config, on_prompt=setup.on_prompt if setup else None)
        if setup is not None:
            setup.provision(config.station_id, daemon.keys.public_pem())
        port = daemon.start()
    except (ConfigurationError, ValueError, OSError) as exc:
        print(f"rekam serve: {exc}", file=sys.stderr)
        if setup is not None:
            setup.close()
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if args.ready_file:
        _write_json_atomically(
            Path(args.ready_file),
            {
                "grpc": f"{config.host}:{port}",
                "station_id": config.station_id,
                "station_public_key": daemon.keys.public_pem().decode(),
                "control": setup.control.url if setup else "",
                "centre": config.centre.url,
                "pid": os.getpid(),
            },
        )
    stop.wait()
    daemon.stop()
    if setup is not None:
        setup.close()
    return 0


def cmd_operator(args: argparse.Namespace) -> int:
    config = StationConfig.load(Path(args.config)) if args.config else StationConfig()
    data_dir = Path(args.data_dir) if args.data_dir else config.data_dir
    store = TokenStore(data_dir / "operators.db")
    try:
        if args.action == "add":
            token = store.add(args.name, Role(args.role))
            print(token)
            print(f"token for {args.name} ({args.role}); it is shown only once", file=sys.stderr)
        elif args.action == "list":
            for name, role, created, active in store.list():
                print(f"{name}\t{role}\t{created}\t{'active' if active else 'revoked'}")
        elif args.action == "revoke":
            count = store.revoke(args.name)
            print(f"revoked {count} token(s) of {args.name}", file=sys.stderr)
            return 0 if count else 1
    finally:
        store.close()
    return 0


def cmd_sim(args: argparse.Namespace) -> int:
    from simulator.control import post

    if args.sim_command == "present":
        body = {"kind": args.kind, "seed": args.seed} if args.kind else {}
        print(json.dumps(post(args.control, "/v1/resident", body)))
    elif args.sim_command in ("unplug", "plug"):
        print(json.dumps(post(args.control, f"/v1/devices/{args.device}/{args.sim_command}")))
    elif args.sim_command == "fault":
        params = dict(p.split("=", 1) for p in args.param)
        body = {"name": args.name, **params}
        print(json.dumps(post(args.control, f"/v1/devices/{args.device}/fault", body)))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from station.demo import run_demo

    return run_demo(keep=args.keep, timeout_s=args.timeout)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rekam", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the station daemon")
    serve.add_argument("--config", help="TOML configuration file")
    serve.add_argument("--simulate", action="store_true", help="attach simulated devices")
    serve.add_argument("--data-dir", help="override [station] data_dir")
    serve.add_argument("--listen", help="override [station] listen, e.g. 127.0.0.1:50051")
    serve.add_argument("--centre-url", help="override [centre] url")
    serve.add_argument("--centre-key", help="override [centre] public_key (PEM path)")
    serve.add_argument("--control-port", type=int, default=0, help="simulated kit control port")
    serve.add_argument("--ready-file", help="write address and keys as JSON once serving")
    serve.add_argument("-v", "--verbose", action="store_true")
    serve.set_defaults(func=cmd_serve)

    operator = sub.add_parser("operator", help="manage operator accounts and tokens")
    operator.add_argument("--config", help="TOML configuration file")
    operator.add_argument("--data-dir", help="override [station] data_dir")
    op_sub = operator.add_subparsers(dest="action", required=True)
    add = op_sub.add_parser("add", help="create a token (printed once)")
    add.add_argument("name")
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.OPERATOR.value)
    op_sub.add_parser("list", help="list operators")
    revoke = op_sub.add_parser("revoke", help="revoke every token of an operator")
    revoke.add_argument("name")
    operator.set_defaults(func=cmd_operator)

    sim = sub.add_parser("sim", help="simulator: centre, residents, device faults")
    sim_sub = sim.add_subparsers(dest="sim_command", required=True)
    sim_sub.add_parser(
        "center",
        aliases=["centre"],
        add_help=False,
        help="run a simulated central registry (see: rekam sim center --help)",
    )
    for name, helptext in (
        ("present", "put a simulated resident in front of the kit"),
        ("unplug", "unplug a simulated device"),
        ("plug", "plug a simulated device back in"),
        ("fault", "inject a fault into a simulated device"),
    ):
        command = sim_sub.add_parser(name, help=helptext)
        command.add_argument("--control", required=True, help="kit control URL")
        if name == "present":
            command.add_argument("--kind", help="adult, elderly, amputee, blind, student, ...")
            command.add_argument("--seed", type=int, default=0)
        else:
            command.add_argument("device")
        if name == "fault":
            command.add_argument("name")
            command.add_argument("param", nargs="*", help="key=value")
    sim.set_defaults(func=cmd_sim)

    demo = sub.add_parser("demo", help="enroll simulated residents end to end")
    demo.add_argument("--keep", action="store_true", help="keep the demo's data directory")
    demo.add_argument("--timeout", type=float, default=110.0)
    demo.set_defaults(func=cmd_demo)

    from station.commands import COMMANDS

    for name in COMMANDS:
        importlib.import_module(f"station.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sim"] and argv[1:2] in (["center"], ["centre"]):
        from simulator.centre import main as centre_main

        return centre_main(argv[2:])
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
