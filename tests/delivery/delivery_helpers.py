"""Helpers shared by the delivery tests (a uniquely named module: every test folder has its own
conftest, so they cannot be imported from there)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

STATION = "KIT-01"


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0, step: float = 0.02) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass (bounded loop)."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / step) + 1):
        if predicate():
            return True
        if time.monotonic() > deadline:
            break
        time.sleep(step)
    return predicate()


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (held open together while choosing)."""
    probes = []
    try:
        for _ in range(count):
            probe = socket.socket()
            probe.bind(("127.0.0.1", 0))
            probes.append(probe)
        return [p.getsockname()[1] for p in probes]
    finally:
        for probe in probes:
            probe.close()


def centre_import(bundle: Path, centre_dir: Path) -> subprocess.Popen:
    """``rekam sim center import BUNDLE`` as its own process."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "station.cli",
            "sim",
            "center",
            "import",
            str(bundle),
            "--data-dir",
            str(centre_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_import(bundle: Path, centre_dir: Path) -> tuple[int, str]:
    """Run the centre's import to its end: its exit code and everything it printed."""
    process = centre_import(bundle, centre_dir)
    out, err = process.communicate(timeout=300)
    return process.returncode, out + err
