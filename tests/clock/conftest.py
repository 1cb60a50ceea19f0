"""A real daemon process whose wall clock the test steps while it runs (``clockshift.so``,
built here with gcc), a simulated centre in this process on the true clock, and what the tests
read back: records over gRPC, package files, the audit log (read-only)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from simulator.centre import CentreServer
from station.client import StationClient
from station.v1 import records_pb2
from uploader.keys import StationKeys

HERE = Path(__file__).resolve().parent
STATION = "KIT-CLOCK"
DAY = 86400.0
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


@dataclass
class ClockKit:
    """A running kit daemon and the knob of its wall clock."""

    data_dir: Path
    process: subprocess.Popen
    port: int
    operator_token: str
    short_token: str
    shift_file: Path
    started: float  # time.monotonic() when its tokens were issued

    def set_clock(self, shift_s: float) -> None:
        """Step the kit's wall clock to ``shift_s`` seconds from the true time."""
        self.shift_file.write_text(f"{shift_s:.0f}\n")

    def client(self, token: str | None = None) -> StationClient:
        return StationClient(
            f"127.0.0.1:{self.port}", self.operator_token if token is None else token
        )

    def record(self, record_id: str) -> records_pb2.Record | None:
        """The record as the kit reports it; None until it is in the outbox."""
        client = self.client()
        try:
            return client.records.GetRecord(
                records_pb2.GetRecordRequest(record_id=record_id), metadata=client.metadata
            )
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        finally:
            client.close()

    def status(self, record_id: str) -> int:
        record = self.record(record_id)
        return records_pb2.RECORD_STATUS_UNSPECIFIED if record is None else record.status

    def attempts(self, record_id: str) -> int:
        record = self.record(record_id)
        return 0 if record is None else record.delivery_attempts

    def seal(self, record_id: str) -> None:
        (self.data_dir / "commands" / f"seal-{record_id}").touch()

    def package(self, record_id: str) -> Path:
        return self.data_dir / "outbox" / "packages" / f"{record_id}.pkg"

    def audit_actions(self) -> list[tuple[str, str]]:
        """(action, target) of every audit entry, read without writing."""
        uri = f"file:{self.data_dir / 'audit.db'}?mode=ro"
        with sqlite3.connect(uri, uri=True) as db:
            return list(db.execute("SELECT action, target FROM entries ORDER BY seq"))


def wait_for(condition: Callable[[], object], timeout_s: float, what: str) -> None:
    """Poll ``condition`` every 0.1 s until it is true; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    for _ in range(int(timeout_s / 0.1) + 1):
        if condition():
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")


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


def refusal(call: Callable[[], object]) -> grpc.RpcError:
    """The error ``call`` raises (it must raise one)."""
    try:
        call()
    except grpc.RpcError as error:
        return error
    pytest.fail("the call was not refused")
