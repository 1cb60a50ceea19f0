"""Running as a service: sd_notify readiness over a real NOTIFY_SOCKET, a graceful SIGTERM that
ends a running capture and flushes the outbox, and JSON logs without secrets."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest

from station.audit import AuditLog
from station.auth import Role, TokenStore
from station.client import StationClient, position
from station.errors import error_reason
from station.lifecycle import JsonFormatter, notify, redact, watchdog_interval
from station.processes import stop_process, wait_for_json
from station.v1 import enrollment_pb2


@pytest.fixture
def notify_socket(tmp_path: Path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify.sock"
    sock.bind(str(path))
    sock.settimeout(60)
    yield str(path), sock
    sock.close()


def _receive_until(sock: socket.socket, wanted: str, limit: int = 20) -> list[str]:
    """Datagrams until one holds ``wanted`` (bounded in count; the socket has a timeout)."""
    seen: list[str] = []
    for _ in range(limit):
        message = sock.recv(4096).decode()
        seen.append(message)
        if wanted in message.splitlines():
            return seen
    raise AssertionError(f"{wanted} never came: {seen}")


def test_notify_speaks_the_sd_notify_datagram_protocol(notify_socket):
    path, sock = notify_socket
    assert notify("READY=1", "STATUS=serving", environ={"NOTIFY_SOCKET": path})
    assert sock.recv(4096) == b"READY=1\nSTATUS=serving"
    assert not notify("READY=1", environ={})
    assert not notify("READY=1", environ={"NOTIFY_SOCKET": str(Path(path).parent / "gone")})


def test_notify_reaches_an_abstract_socket():
    name = f"rekam-test-{os.getpid()}-{time.monotonic_ns()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(10)
    try:
        assert notify("STOPPING=1", environ={"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(4096) == b"STOPPING=1"
    finally:
        sock.close()


def test_watchdog_interval_is_half_the_period_for_this_process():
    pid = str(os.getpid())
    assert watchdog_interval({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": pid}) == 10.0
    assert watchdog_interval({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval({}) is None


def test_logs_are_json_lines_with_secrets_masked():
    token = "Zq3" + "x" * 40
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("rekam.test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("call with authorization: Bearer %s for 3171012345678901", token)
        logger.warning("token=%s image %s", "abc123", "A" * 200)
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["level"] for line in lines] == ["warning", "warning"]
    text = stream.getvalue()
    assert token not in text and "3171012345678901" not in text and "abc123" not in text
    assert "A" * 120 not in text
    assert redact(f"session {token} ok") == "session [redacted] ok"


def test_sigterm_ends_a_running_capture_and_flushes_the_outbox(tmp_path, notify_socket):
    path, sock = notify_socket
    data_dir = tmp_path / "station"
    store = TokenStore(data_dir / "operators.db")
    token = store.add("op-ani", Role.OPERATOR)
    store.close()
    log_path = tmp_path / "station.log"
    env = {**os.environ, "NOTIFY_SOCKET": path}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "station.cli", "serve", "--simulate"),
                *("--data-dir", str(data_dir), "--listen", "127.0.0.1:0"),
                *("--ready-file", str(tmp_path / "ready.json"), "--log-format", "json"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    try:
        assert any("READY=1" in m for m in _receive_until(sock, "READY=1"))
        ready = wait_for_json(tmp_path / "ready.json", process, 30)
        client = StationClient(ready["grpc"], token)
        outcome: dict[str, object] = {}
        prompted = threading.Event()
        eid = _start_enrollment(client)

        def capture() -> None:
            # Nobody stands at the kit: the face capture waits until the daemon stops.
            stream = client.enrollment.Capture(
                enrollment_pb2.CaptureRequest(
                    enrollment_id=eid, position=position("face"), timeout_seconds=120
                ),
                metadata=client.metadata,
                timeout=60,
            )
            try:
                for _event in stream:
                    prompted.set()
                outcome["code"] = grpc.StatusCode.OK
            except grpc.RpcError as exc:
                outcome["code"] = exc.code()
                outcome["reason"] = error_reason(exc)
            finally:
                prompted.set()

        worker = threading.Thread(target=capture)
        worker.start()
        assert prompted.wait(30)
        process.send_signal(signal.SIGTERM)
        assert any("STOPPING=1" in m for m in _receive_until(sock, "STOPPING=1"))
        assert process.wait(30) == 0
        worker.join(30)
        client.close()
        assert not worker.is_alive()
        # The capture was ended by the daemon, with a status the operator app can act on.
        assert outcome["code"] == grpc.StatusCode.UNAVAILABLE
        assert outcome["reason"] == "STATION_STOPPING"
    finally:
        stop_process(process)
    # The outbox was closed cleanly: its write-ahead log is checkpointed and gone.
    wal = data_dir / "outbox" / "outbox.sqlite-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    # The unfinished enrollment survives for the next start, encrypted in the journal.
    assert any((data_dir / "enrollments").iterdir())
    log = AuditLog(data_dir / "audit.db", readonly=True)
    entries = list(log.entries())
    log.close()
    assert [e.action for e in entries[-2:]] == ["capture", "daemon_stopped"]
    assert entries[-2].detail_map["outcome"] == "unavailable"
    lines = log_path.read_text().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert records and len(records) == len(lines), "every log line is one JSON object"
    assert any("stopping" in r["message"] for r in records)
    assert not [r for r in records if r["level"] in ("error", "critical")]
    assert token not in log_path.read_text()


def _start_enrollment(client: StationClient) -> str:
    from simulator.demo import subject_for
    from simulator.personas import make_persona

    persona = make_persona("adult", 5)
    subject = subject_for(persona)
    return client.enrollment.StartEnrollment(
        enrollment_pb2.StartEnrollmentRequest(subject=subject),
        metadata=client.metadata,
        timeout=30,
    ).enrollment_id
