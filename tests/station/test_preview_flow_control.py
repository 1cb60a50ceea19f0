"""Preview flow control is the station's: an operator app that freezes for 2 s gets, once it
reads again, only what was already on its way when it froze and then fresh frames; the result is
not queued behind a backlog. Proved with two real clients of different libraries: grpcio
(C-core, as `station.client.StationClient` configures it) and @grpc/grpc-js run by Node.

Frames the station had already handed to gRPC when the app froze travel in the app's own HTTP/2
receive window (RFC 9113 section 6.9: 65,535 bytes by default) and arrive late: no sender can
recall them. So the tests bound what was captured before the app woke up (that window, plus at
most one message being read and the one frame the station keeps) and check that what came
after is fresh. The station's own bound, [capture] preview_max_age_ms, is proved to the
millisecond on a test clock in test_preview_mailbox.py; here, on a machine shared with other
work, "fresh" is held to the line the operator sees as stale (500 ms).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from simulator.personas import make_nik, make_persona
from station.client import StationClient
from station.convert import CATEGORY_TO_PB, SEX_TO_PB
from station.v1 import common_pb2, enrollment_pb2

STALL_MS = 2000
STALE_MS = 500  # a preview this old shows the operator the past
# What can be on its way when the app freezes: its HTTP/2 receive window, and as much again
# for a message its library is part-way through and the one frame the station keeps.
IN_FLIGHT_BYTES = 2 * 65_535
NODE_ARGS = ("POSITION_FACE", str(STALL_MS), "30", "5")  # position, stall, fps, timeout
NODE_CLIENT = Path(__file__).resolve().parents[1] / "node" / "stalled_capture.js"


@dataclass
class Seen:
    """A preview frame as the app received it (times in epoch milliseconds)."""

    captured_ms: float
    age_ms: float
    dropped: int
    size: int


def never_passing_face(station, seed: int) -> str:
    """An enrollment whose face never passes (the claimed birth year's backdrop colour is
    wrong), so its capture previews for the whole timeout."""
    persona = make_persona("adult", seed)
    claimed = persona.birth_date.replace(year=persona.birth_date.year - 1)
    station.setup.kit.present(persona)
    client = StationClient(station.address, station.operator_token)
    try:
        subject = enrollment_pb2.Subject(
            nik=make_nik(persona.nik[:6], claimed, persona.sex, int(persona.nik[12:])),
            name=persona.name,
            birth_date=claimed.isoformat(),
            sex=SEX_TO_PB[persona.sex],
            category=CATEGORY_TO_PB[persona.category],
        )
        request = enrollment_pb2.StartEnrollmentRequest(subject=subject)
        return client.enrollment.StartEnrollment(request, metadata=client.metadata).enrollment_id
    finally:
        client.close()


def assert_bounded_after_stall(frames: list[Seen], resumed_ms: float, result: bool) -> None:
    """After the freeze: only what was in flight is old, the rest is fresh, the result came."""
    assert result, "the stream ended without its result"
    later = frames[1:]  # the app froze on the first frame
    during = [f for f in later if f.captured_ms <= resumed_ms]
    after = [f for f in later if f.captured_ms > resumed_ms]
    # 2 s of frames at 30 a second were taken meanwhile: the station dropped them, and what
    # the app got from the freeze is no more than could be in flight when it froze.
    assert sum(f.size for f in during) <= IN_FLIGHT_BYTES, [f.size for f in during]
    assert sum(f.dropped for f in after + during) > 0
    assert after, "no frame after the app woke up"
    assert max(f.age_ms for f in after) <= STALE_MS, [round(f.age_ms) for f in after]


def test_a_grpcio_client_that_stalls_gets_no_frame_the_station_held_too_long(station):
    eid = never_passing_face(station, 41)
    client = StationClient(station.address, station.operator_token)  # BDP probing off
    request = enrollment_pb2.CaptureRequest(
        enrollment_id=eid, position=common_pb2.POSITION_FACE, preview_fps=30, timeout_seconds=5
    )
    frames: list[Seen] = []
    resumed_ms = 0.0
    result_seen = False
    try:
        for event in client.enrollment.Capture(request, metadata=client.metadata, timeout=60):
            kind = event.WhichOneof("event")
            if kind == "result":
                result_seen = True
            if kind != "preview":
                continue
            preview = event.preview
            captured = preview.captured_at.ToDatetime(tzinfo=UTC)
            age_ms = (datetime.now(UTC) - captured).total_seconds() * 1000
            frames.append(
                Seen(captured.timestamp() * 1000, age_ms, preview.dropped, len(preview.image.data))
            )
            if not resumed_ms:
                time.sleep(STALL_MS / 1000)  # the app stops reading
                resumed_ms = time.time() * 1000
    finally:
        client.close()
    assert_bounded_after_stall(frames, resumed_ms, result_seen)


def run_node_app(script: Path, station, eid: str, args: tuple[str, ...]) -> dict:
    """Run a grpc-js operator app of tests/node on ``eid``; its one-line JSON report."""
    node = shutil.which("node")
    assert node, "Node.js is missing: .ci/setup-system installs it"
    assert (script.parent / "node_modules" / "@grpc" / "grpc-js").is_dir(), (
        "@grpc/grpc-js is missing: .ci/setup-system runs npm ci in tests/node"
    )
    run = subprocess.run(
        [node, str(script), station.address, station.operator_token, eid, *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert "error" not in report, report
    return report


def test_a_grpc_js_client_that_stalls_gets_no_frame_the_station_held_too_long(station):
    eid = never_passing_face(station, 42)
    report = run_node_app(NODE_CLIENT, station, eid, NODE_ARGS)
    events = report["events"]
    frames = [
        Seen(e["captured_ms"], e["age_ms"], e["dropped"], e["size"])
        for e in events
        if e["kind"] == "preview"
    ]
    assert events[-1]["kind"] == "result"
    assert_bounded_after_stall(frames, report["resumed_ms"], result=True)
