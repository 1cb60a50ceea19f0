"""``rekam sim ...`` and ``rekam demo``: the simulator's sub-commands of the ``rekam`` command.

Registered in the station's ``rekam.commands`` entry-point group.
"""

from __future__ import annotations

import argparse
import json

from simulator.control import KitControl

DEVICE_ACTIONS = (
    ("unplug", "unplug a simulated device"),
    ("plug", "plug a simulated device back in"),
    ("fault", "inject a fault into a simulated device"),
)


def register_sim(subparsers: argparse._SubParsersAction) -> None:
    """Add ``rekam sim center|present|unplug|plug|fault``."""
    sim = subparsers.add_parser("sim", help="simulator: centre, residents, device faults")
    sim_sub = sim.add_subparsers(dest="sim_command", required=True)
    centre = sim_sub.add_parser(
        "center",
        aliases=["centre"],
        add_help=False,
        help="run a simulated central registry (see: rekam sim center --help)",
    )
    centre.set_defaults(func=cmd_centre, pass_through=True)
    present = sim_sub.add_parser("present", help="put a simulated resident in front of the kit")
    present.add_argument("--control", required=True, help="kit control URL")
    present.add_argument("--kind", help="adult, elderly, amputee, blind, student, ...")
    present.add_argument("--seed", type=int, default=0)
    present.add_argument(
        "--position", help="what the resident presents next: right_index, right_eye, face, ..."
    )
    present.set_defaults(func=cmd_present)
    for name, helptext in DEVICE_ACTIONS:
        command = sim_sub.add_parser(name, help=helptext)
        command.add_argument("--control", required=True, help="kit control URL")
        command.add_argument("device")
        if name == "fault":
            command.add_argument("name")
            command.add_argument("param", nargs="*", help="key=value")
        command.set_defaults(func=cmd_device)


def register_demo(subparsers: argparse._SubParsersAction) -> None:
    """Add ``rekam demo``."""
    demo = subparsers.add_parser("demo", help="enroll simulated residents end to end")
    demo.add_argument("--keep", action="store_true", help="keep the demo's data directory")
    demo.add_argument("--timeout", type=float, default=110.0)
    demo.set_defaults(func=cmd_demo)


def cmd_centre(args: argparse.Namespace) -> int:
    from simulator.centre import main as centre_main

    return centre_main(args.extra)


def cmd_present(args: argparse.Namespace) -> int:
    """A resident (``--kind``), what they present (``--position``), or nobody (neither)."""
    control = KitControl(args.control)
    answer: dict = {}
    if args.kind or not args.position:
        answer.update(control.present(args.kind, args.seed))
    if args.position:
        answer.update(control.ask_for(args.position))
    print(json.dumps(answer))
    return 0


def cmd_device(args: argparse.Namespace) -> int:
    params = dict(p.split("=", 1) for p in getattr(args, "param", []))
    if args.sim_command == "fault":
        params["name"] = args.name
    print(json.dumps(KitControl(args.control).device(args.device, args.sim_command, **params)))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from simulator.demo import run_demo

    return run_demo(keep=args.keep, timeout_s=args.timeout)
