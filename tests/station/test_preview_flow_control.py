"""Preview flow control is the station's: an operator app that stalls reading gets no frame the
station held longer than `[capture] preview_max_age_ms`, and the result is not queued behind
stale frames. Proved with two real clients of different libraries: grpcio (C-core, as
`station.client.StationClient` configures it) and @grpc/grpc-js run by Node.

Frames the station had already handed to gRPC when the app froze travel in the app's own HTTP/2
receive window (RFC 9113 section 6.9) and arrive late: no sender can recall them. The tests check
that those are all there is: the late frames follow the frame the app froze on without a gap and
were all captured in the first moments of the stall (the station stopped sending as soon as the
transport stopped taking), and every frame after them is within the bound, the first of them
counting the frames the station dropped meanwhile.
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

BOUND_MS = 200  # the default [capture] preview_max_age_ms the kit runs with
STALL_MS = 2000
NODE_ARGS = ("POSITION_FACE", str(STALL_MS), "30", "5")  # position, stall, fps, timeout
NODE_CLIENT = Path(__file__).resolve().parents[1] / "node" / "stalled_capture.js"


@dataclass
class Seen:
    """A preview frame as the app received it."""

    sequence: int
    age_ms: float
    dropped: int


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


def assert_bounded_after_stall(stalled_on: int, frames: list[Seen], result_seen: bool) -> None:
    assert result_seen, "the stream ended without its result"
    late = [f for f in frames if f.sequence > stalled_on and f.age_ms > BOUND_MS]
    after = [f for f in frames if f.sequence > stalled_on and f.age_ms <= BOUND_MS]
    assert after, "no frame arrived after the stall"
    # Late frames: only those in the app's receive window when it froze, sent back to back.
    assert [f.sequence for f in late] == list(range(stalled_on + 1, stalled_on + 1 + len(late)))
    assert all(f.dropped == 0 for f in late)
    # ... all captured before the stall was half over: none waited in the station meanwhile.
    assert all(f.age_ms >= STALL_MS / 2 for f in late)
    # Everything the station sent once the app froze is within the bound ...
    first_after = after[0]
    assert all(f.sequence < first_after.sequence for f in late)
    # ... because it dropped what the app could not take (2 s of frames), never queued it.
    assert first_after.dropped >= 10


def test_a_grpcio_client_that_stalls_gets_no_frame_the_station_held_too_long(station):
    eid = never_passing_face(station, 41)
    client = StationClient(station.address, station.operator_token)  # BDP probing off
    request = enrollment_pb2.CaptureRequest(
        enrollment_id=eid, position=common_pb2.POSITION_FACE, preview_fps=30, timeout_seconds=5
    )
    frames: list[Seen] = []
    stalled_on = 0
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
            frames.append(Seen(preview.sequence, age_ms, preview.dropped))
            if not stalled_on:
                stalled_on = preview.sequence
                time.sleep(STALL_MS / 1000)  # the app stops reading
    finally:
        client.close()
    assert_bounded_after_stall(stalled_on, frames, result_seen)


def test_a_grpc_js_client_that_stalls_gets_no_frame_the_station_held_too_long(station):
    node = shutil.which("node")
    assert node, "Node.js is missing: .ci/setup-system installs it"
    assert (NODE_CLIENT.parent / "node_modules" / "@grpc" / "grpc-js").is_dir(), (
        "@grpc/grpc-js is missing: .ci/setup-system runs npm ci in tests/node"
    )
    eid = never_passing_face(station, 42)
    run = subprocess.run(
        [node, str(NODE_CLIENT), station.address, station.operator_token, eid, *NODE_ARGS],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert "error" not in report, report
    events = report["events"]
    frames = [
        Seen(e["sequence"], e["age_ms"], e["dropped"]) for e in events if e["kind"] == "preview"
    ]
    assert events[-1]["kind"] == "result"
    assert_bounded_after_stall(frames[0].sequence, frames, result_seen=True)
