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
    ("fault", "inject a fault into a simulated device ('clear' removes them all)"),
)
KINDS_HELP = "adult, elderly, amputee, blind, student, mental_disorder"
# The faults each simulated device takes (simulator/devices/*; checked by the simulator tests).
FAULTS = {
    "fingerprint-0": (
        "no_finger corrupt_checksum truncate garbage unplug_mid_transfer sensor_error timeout "
        "slow_link dirty_platen slow_capture"
    ),
    "fingerprint-usb-0": (
        "short_read timeout unplug_mid_transfer dirty_platen slow_link busy no_permission"
    ),
    "signature-0": "no_pen unplug_mid_signature silent slow_link eraser palm_touch",
    "face-camera-0": "dark blur stall slow_link",
    "iris-camera-0": "dark blur stall slow_link",
}
SIM_EPILOG = (
    "The kit's control URL is the 'control' field of rekam serve --simulate --ready-file. "
    "Presence: 'present --kind K' puts a resident at the kit (printing NIK, name, birth date, "
    "sex, category and backdrop colour as JSON), 'present' alone leaves nobody there, "
    "'present --position P' asks for a finger, eye, face or signature. Faults: "
    + "; ".join(f"{device}: {names}" for device, names in FAULTS.items())
    + "; 'fault DEVICE clear' removes every fault of a device. The face camera's backdrop is "
    "red for an odd birth year and blue for an even one."
)


def register_sim(subparsers: argparse._SubParsersAction) -> None:
    """Add ``rekam sim center|present|unplug|plug|fault``."""
    sim = subparsers.add_parser(
        "sim",
        help="simulator: centre, residents, device faults",
        description="Steer a simulated kit (rekam serve --simulate) or run a simulated centre.",
        epilog=SIM_EPILOG,
    )
    sim_sub = sim.add_subparsers(dest="sim_command", required=True)
    centre = sim_sub.add_parser(
        "center",
        aliases=["centre"],
        add_help=False,
        help="run a simulated central registry (see: rekam sim center --help)",
    )
    centre.set_defaults(func=cmd_centre, pass_through=True)
    present = sim_sub.add_parser(
        "present",
        help="put a simulated resident in front of the kit (or nobody), or ask for a position",
        description="Prints the resident as JSON: kind, seed, nik, name, birth_date, sex, "
        "category and backdrop (the face camera's backdrop: red for an odd birth year, blue "
        "for an even one). Enroll them with that NIK, birth date and sex. Without --kind and "
        "--position nobody stands at the kit.",
    )
    present.add_argument("--control", required=True, help="kit control URL")
    present.add_argument("--kind", help=KINDS_HELP)
    present.add_argument(
        "--seed", type=int, default=0, help="which resident of that kind (same seed, same person)"
    )
    present.add_argument(
        "--nik", help="fix the NIK (16 digits; alone it also gives birth date and sex)"
    )
    present.add_argument("--birth-date", help="fix the birth date, YYYY-MM-DD")
    present.add_argument("--sex", choices=("male", "female"), help="fix the sex")
    present.add_argument(
        "--position",
        help="what the resident presents next: right_thumb .. left_little, right_eye, "
        "left_eye, face, signature",
    )
    present.set_defaults(func=cmd_present)
    for name, helptext in DEVICE_ACTIONS:
        command = sim_sub.add_parser(name, help=helptext, epilog=SIM_EPILOG)
        command.add_argument("--control", required=True, help="kit control URL")
        command.add_argument("device", help=", ".join(FAULTS))
        if name == "fault":
            command.add_argument("name", help="a fault of the device (see below) or 'clear'")
            command.add_argument("param", nargs="*", help="key=value, e.g. times=2")
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
    fixed = {"nik": args.nik, "birth_date": args.birth_date, "sex": args.sex}
    fixed = {key: value for key, value in fixed.items() if value}
    if fixed and not args.kind:
        raise SystemExit("rekam sim present: --nik, --birth-date and --sex need --kind")
    answer: dict = {}
    if args.kind or not args.position:
        answer.update(control.present(args.kind, args.seed, **fixed))
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
