"""A real daemon process whose wall clock the test steps while it runs (``clockshift.so``,
built here with gcc) and a simulated centre in this process on the true clock."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from clock_helpers import STATION, ClockKit, wait_for

from simulator.centre import CentreServer
from uploader.keys import StationKeys

HERE = Path(__file__).resolve().parent
START_TIMEOUT_S = 60.0


@pytest.fixture(scope="session")
def clockshift(tmp_path_factory) -> Path:
    compiler = shutil.which("gcc")
    if compiler is None:
        pytest.fail("gcc is needed to build the clock-shifting library: make system")
    library = tmp_path_factory.mktemp("clockshift") / "clockshift.so"
    subprocess.run(
        [
            compiler,
            "-shared",
            "-fPIC",
            "-O2",
            "-Wall",
            "-o",
            str(library),
            str(HERE / "clockshift.c"),
            "-ldl",
        ],
        check=True,
    )
    return library


@pytest.fixture
def centre(tmp_path) -> Iterator[CentreServer]:
    keys = StationKeys.load_or_create(tmp_path / "kit" / "keys")
    with CentreServer(tmp_path / "centre", decision_delay=0.05) as server:
        server.provision(STATION, keys.public_pem())
        yield server


@pytest.fixture
def start_kit(tmp_path, clockshift, centre) -> Iterator[Callable[[float], ClockKit]]:
    """``start_kit(shift_s)``: the daemon with its wall clock ``shift_s`` from the true time."""
    processes: list[subprocess.Popen] = []

    def start(shift_s: float = 0.0) -> ClockKit:
        data_dir = tmp_path / "kit"
        shift_file = tmp_path / "clock-shift"
        shift_file.write_text(f"{shift_s:.0f}\n")
        (data_dir / "ready").unlink(missing_ok=True)
        process = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "clock_kit.py"),
                str(data_dir),
                centre.url,
                str(centre.data_dir),
            ],
            cwd=HERE,
            env={
                **os.environ,
                "LD_PRELOAD": str(clockshift),
                "CLOCKSHIFT_FILE": str(shift_file),
            },
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / "kit.log", "ab"),  # noqa: SIM115 - closed with the process
        )
        processes.append(process)
        ready = data_dir / "ready"
        wait_for(lambda: ready.exists() or process.poll() is not None, START_TIMEOUT_S, "the kit")
        assert ready.exists(), (tmp_path / "kit.log").read_text()[-3000:]
        started = time.monotonic()
        details = json.loads(ready.read_text())
        return ClockKit(
            data_dir,
            process,
            details["port"],
            details["operator"],
            details["short"],
            shift_file,
            started,
        )

    yield start
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
