"""`rekam demo` — what `make demo` runs — succeeds and leaves no process behind."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _rekam_processes() -> set[int]:
    """Processes the demo started: they run with its work directory (rekam-demo-*)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().split(b"\0")
        except OSError:
            continue
        if b"station.cli" in cmdline and any(b"rekam-demo-" in arg for arg in cmdline):
            found.add(int(entry))
    return found


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_demo_enrolls_everyone_and_cleans_up():
    run = subprocess.run(
        [sys.executable, "-m", "station.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=200,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    assert out.count("PRINT_READY_RECORD") >= 6
    assert "DUPLICATE_RECORD" in out
    assert "the planted duplicate was caught" in out
    assert _rekam_processes() == set()
