"""Daemon-level figures: one full simulated enrollment, and idle memory."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import Row


def full_enrollment() -> list[Row]:
    """Machine time of one full enrollment on the simulated kit, start to sealed record."""
    from simulator.personas import make_persona
    from station.auth import Role
    from station.client import StationClient
    from station.config import StationConfig
    from station.demo import Operator, Visit
    from station.server import StationDaemon
    from station.simulate import SimulatedSetup
    from station.v1 import records_pb2

    with tempfile.TemporaryDirectory() as tmp:
        config = StationConfig(data_dir=Path(tmp) / "station", listen="127.0.0.1:0")
        setup = SimulatedSetup(config)
        daemon = StationDaemon(config, on_prompt=setup.on_prompt)
        setup.provision(config.station_id, daemon.keys.public_pem())
        port = daemon.start()
        try:
            client = StationClient(f"127.0.0.1:{port}", daemon.tokens.add("bench", Role.OPERATOR))
            supervisor = daemon.tokens.add("bench-sup", Role.SUPERVISOR)
            client.wait_until_serving()
            durations = []
            for seed in (1, 2, 3):
                setup.kit.present(make_persona("adult", 900 + seed))
                visit = Visit(
                    "bench", "adult", 900 + seed, records_pb2.RECORD_STATUS_PRINT_READY_RECORD
                )
                started = time.perf_counter()
                Operator(client, supervisor, report=lambda _line: None).enroll(visit, {})
                durations.append(time.perf_counter() - started)
            client.close()
        finally:
            daemon.stop()
            setup.close()
    durations.sort()
    return [
        Row(
            "enrollment.full_simulated_s",
            durations[len(durations) // 2],
            "s",
            "",
            "median of 3 adults: face, 10 fingers (UART, unpaced), 2 irises, signature, sealed",
        )
    ]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found")


def idle_rss() -> list[Row]:
    """Resident memory of `rekam serve --simulate` a few seconds after it is ready."""
    with tempfile.TemporaryDirectory() as tmp:
        ready = Path(tmp) / "ready.json"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "station.cli",
                "serve",
                "--simulate",
                "--data-dir",
                str(Path(tmp) / "station"),
                "--listen",
                "127.0.0.1:0",
                "--ready-file",
                str(ready),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while not ready.exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the daemon did not become ready")
                time.sleep(0.1)
            json.loads(ready.read_text())
            time.sleep(3.0)
            rss = _rss_mb(process.pid)
        finally:
            process.terminate()
            process.wait(15)
    return [
        Row(
            "daemon.idle_rss_mb",
            rss,
            "MB",
            "<= 200",
            "rekam serve --simulate: daemon + simulated devices + simulated centre",
        )
    ]


BENCHES = {"enrollment": full_enrollment, "daemon": idle_rss}
