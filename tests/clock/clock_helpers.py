"""What the clock tests share: a running kit daemon with a knob on its wall clock, polling
with a bound, and the refusal a call raises."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from station.client import StationClient
from station.v1 import records_pb2

STATION = "KIT-CLOCK"
DAY = 86400.0


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


def refusal(call: Callable[[], object]) -> grpc.RpcError:
    """The error ``call`` raises (it must raise one)."""
    try:
        call()
    except grpc.RpcError as error:
        return error
    pytest.fail("the call was not refused")
