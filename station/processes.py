"""Start, await and stop ``rekam`` processes (the demo, tests and benchmarks use these)."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

_PR_SET_PDEATHSIG = 1  # prctl(2)


def _ends_with(parent: int) -> Callable[[], None]:
    """In the child before exec: ask Linux for SIGTERM when the starting process dies, so a
    killed demo or test leaves no centre or station behind (prctl PR_SET_PDEATHSIG)."""

    def arm() -> None:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # it died before the request took hold
            os.kill(os.getpid(), signal.SIGTERM)

    return arm


def spawn_rekam(args: list[str], log_path: Path) -> subprocess.Popen:
    """Run ``rekam ARGS`` in its own session, output to ``log_path``; it ends with the caller."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "station.cli", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_ends_with(os.getpid()) if sys.platform == "linux" else None,
        )


def spawn_simulated_kit(
    data_dir: Path, ready_file: Path, log_path: Path, *options: str
) -> subprocess.Popen:
    """``rekam serve --simulate`` on a free loopback port, its data in ``data_dir``; it writes
    its addresses to ``ready_file`` once serving (see :func:`wait_for_json`). ``options`` are
    further ``serve`` options."""
    serve = ["serve", "--simulate", "--data-dir", str(data_dir), "--listen", "127.0.0.1:0"]
    return spawn_rekam([*serve, "--ready-file", str(ready_file), *options], log_path)


def wait_for_json(path: Path, process: subprocess.Popen, timeout: float) -> dict:
    """The JSON a process writes to ``path`` once it is ready (RuntimeError on exit/timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return json.loads(path.read_text())
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before it was ready")
        time.sleep(0.05)
    raise RuntimeError(f"{path.name} did not appear within {timeout:.0f} s")


def stop_process(process: subprocess.Popen, timeout: float = 10.0) -> int:
    """SIGTERM, then SIGKILL to the whole session if it does not end in ``timeout``."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
    return process.returncode


def kill_process(process: subprocess.Popen) -> None:
    """SIGKILL the process's whole session at once (a crash, or a power cut)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def operator_token(data_dir: Path, name: str, role: str) -> str:
    """Create an operator with ``rekam operator add`` and return the token it printed."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "station.cli",
            "operator",
            "--data-dir",
            str(data_dir),
            "add",
            name,
            "--role",
            role,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()
