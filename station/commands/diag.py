"""``rekam diag``: run the station's hardware diagnostics over gRPC (technician token).

    rekam diag --address 127.0.0.1:50051 --token TOKEN            # every device
    rekam diag fingerprint-0 --capture                            # with a test capture
    REKAM_TOKEN=... rekam diag --json > diag.json

Exit status: 0 when every check passed, 1 when one failed, 2 when the diagnostics could not run
(daemon unreachable, token refused, unknown device).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable
from typing import Any, TextIO

import grpc

from domain.messages import msg
from station.errors import error_reason
from station.v1 import devices_pb2

DEFAULT_ADDRESS = "127.0.0.1:50051"
# After which check the technician presents something for the test capture, and what.
CAPTURE_PROMPT_CODES = {
    "platen": "DEVICE_DIAG_PROMPT_FINGER",
    "stream": "DEVICE_DIAG_PROMPT_CAMERA",
    "pen": "DEVICE_DIAG_PROMPT_PEN",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``rekam diag`` to the ``rekam`` command."""
    parser = subparsers.add_parser(
        "diag",
        help="run hardware diagnostics on the running daemon (technician)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("devices", nargs="*", help="device ids (default: every device)")
    parser.add_argument("--address", default=DEFAULT_ADDRESS, help="the daemon's gRPC address")
    parser.add_argument("--token", help="technician token (default: $REKAM_TOKEN)")
    parser.add_argument("--capture", action="store_true", help="include a test capture")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--language", default="en", help="remedy language: en or id")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds for the whole run")
    parser.set_defaults(func=run)


def step_to_dict(step: devices_pb2.DiagnosticStep) -> dict[str, Any]:
    return {
        "device_id": step.device_id,
        "check": step.check,
        "passed": step.passed,
        "detail": step.detail,
        "remedy": step.remedy,
        "figures": dict(step.figures),
    }


def format_step(step: devices_pb2.DiagnosticStep) -> str:
    """One line per check (two when it failed: the remedy follows)."""
    line = f"  {'PASS' if step.passed else 'FAIL'}  {step.check:<13} {step.detail}"
    if not step.passed and step.remedy:
        line += f"\n        remedy: {step.remedy}"
    return line


def run_diagnostics(
    address: str,
    token: str,
    device_ids: Iterable[str] = (),
    *,
    include_capture: bool = False,
    language: str = "en",
    timeout: float = 120.0,
) -> Iterable[devices_pb2.DiagnosticStep]:
    """The RunDiagnostics stream of the daemon at ``address`` (raises grpc.RpcError)."""
    from station.client import StationClient

    client = StationClient(address, token, language)
    try:
        request = devices_pb2.RunDiagnosticsRequest(
            device_ids=list(device_ids), include_test_capture=include_capture
        )
        yield from client.devices.RunDiagnostics(request, metadata=client.metadata, timeout=timeout)
    finally:
        client.close()


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """The ``rekam diag`` command; returns the exit status."""
    token = args.token or os.environ.get("REKAM_TOKEN", "")
    if not token:
        print("rekam diag: give a technician token with --token or REKAM_TOKEN", file=err)
        return 2
    steps: list[devices_pb2.DiagnosticStep] = []
    current = ""
    try:
        for step in run_diagnostics(
            args.address,
            token,
            args.devices,
            include_capture=args.capture,
            language=args.language,
            timeout=args.timeout,
        ):
            steps.append(step)
            if args.json:
                continue
            if step.device_id != current:
                current = step.device_id
                print(step.device_id, file=out)
            print(format_step(step), file=out)
            if args.capture and step.passed and step.check in CAPTURE_PROMPT_CODES:
                prompt = msg(CAPTURE_PROMPT_CODES[step.check]).render(args.language)
                print(f"  -> {prompt}", file=out)
            out.flush()
    except grpc.RpcError as error:
        reason = error_reason(error)
        print(
            f"rekam diag: {error.code().name}{f' ({reason})' if reason else ''}: {error.details()}",
            file=err,
        )
        return 2
    failed = [s for s in steps if not s.passed]
    if args.json:
        report = {"passed": not failed, "steps": [step_to_dict(s) for s in steps]}
        print(json.dumps(report, indent=2), file=out)
    else:
        devices = len({s.device_id for s in steps})
        print(
            f"{len(steps) - len(failed)} of {len(steps)} checks passed on {devices} device(s)"
            + (f"; {len(failed)} failed" if failed else ""),
            file=out,
        )
    return 1 if failed else 0
