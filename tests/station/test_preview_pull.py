"""Pulled previews (PREVIEW_DELIVERY_PULL): an operator app that freezes for 2 s between two
pulls gets, once it asks again, a fresh frame: nothing is on its way to it while it is frozen.
Proved with two real clients of different libraries, grpcio and @grpc/grpc-js run by Node, on
a real daemon with the simulated face camera (as test_preview_flow_control.py does for streamed
previews). The Capture stream carries no frame, so its result never waits behind one.

The station answers a frame only while it is at most [capture] preview_max_age_ms old (proved on
a test clock in test_preview_slots.py); here, on a machine shared with other work, the age on
arrival is held to the line the operator sees as stale (STALE_MS).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

import grpc
import pytest
from test_preview_flow_control import STALE_MS, STALL_MS, never_passing_face, run_node_app

from station.auth import Role
from station.client import StationClient
from station.errors import error_reason
from station.v1 import common_pb2, enrollment_pb2

NODE_CLIENT = Path(__file__).resolve().parents[1] / "node" / "pulled_capture.js"
NODE_ARGS = ("POSITION_FACE", str(STALL_MS), "30", "5")  # position, stall, fps, timeout
MAX_PULLS = 2000
PULL_WAIT_MS = 1000


@dataclass
class PulledRun:
    """What an app saw of one pulled capture (times in epoch milliseconds)."""

    stream: list[str] = field(default_factory=list)  # the Capture stream's event kinds
    frames: list[dict[str, float]] = field(default_factory=list)
    resumed_ms: float = 0.0
    capture_ended: bool = False


def pull_request(eid: str, after: int = 0, wait_ms: int = PULL_WAIT_MS):
    return enrollment_pb2.GetPreviewRequest(
        enrollment_id=eid, position=common_pb2.POSITION_FACE, after_sequence=after, wait_ms=wait_ms
    )


def pulled_capture_request(eid: str) -> enrollment_pb2.CaptureRequest:
    return enrollment_pb2.CaptureRequest(
        enrollment_id=eid,
        position=common_pb2.POSITION_FACE,
        preview_fps=30,
        timeout_seconds=5,
        preview_delivery=enrollment_pb2.PREVIEW_DELIVERY_PULL,
    )


def run_pulled_capture(station, eid: str) -> PulledRun:
    """A grpcio app: the stream is read on its own thread; the app pulls from the first prompt
    on and freezes for STALL_MS after its first frame, between two pulls."""
    client = StationClient(station.address, station.operator_token)
    run = PulledRun()
    started = threading.Event()
    call = client.enrollment.Capture(
        pulled_capture_request(eid), metadata=client.metadata, timeout=60
    )

    def read_stream() -> None:
        for event in call:
            run.stream.append(event.WhichOneof("event"))
            started.set()

    reader = threading.Thread(target=read_stream, daemon=True)
    reader.start()
    try:
        assert started.wait(20), "no prompt on the stream"
        after = 0
        for _ in range(MAX_PULLS):
            answer = client.enrollment.GetPreview(
                pull_request(eid, after), metadata=client.metadata, timeout=10
            )
            received_ms = time.time() * 1000
            run.capture_ended = answer.capture_ended
            if answer.capture_ended:
                break
            if not answer.HasField("frame"):
                continue
            frame = answer.frame
            captured_ms = frame.captured_at.ToDatetime(tzinfo=UTC).timestamp() * 1000
            run.frames.append(
                {
                    "sequence": frame.sequence,
                    "dropped": frame.dropped,
                    "captured_ms": captured_ms,
                    "age_ms": received_ms - captured_ms,
                }
            )
            after = frame.sequence
            if not run.resumed_ms:
                time.sleep(STALL_MS / 1000)  # the app freezes between two pulls
                run.resumed_ms = time.time() * 1000
        reader.join(timeout=30)
        assert not reader.is_alive(), "the Capture stream did not end"
    finally:
        call.cancel()
        client.close()
    return run


def assert_fresh_after_stall(run: PulledRun) -> None:
    """Every frame, the first after the freeze too, is fresh on arrival; sequences only grow;
    the stream carried prompts and its result only."""
    assert run.stream and run.stream[-1] == "result", run.stream
    assert set(run.stream) == {"prompt", "result"}, run.stream
    assert run.capture_ended, "the pulls never learnt that the capture ended"
    assert len(run.frames) >= 3, run.frames
    ages = [round(f["age_ms"]) for f in run.frames]
    assert max(ages) <= STALE_MS, ages
    sequences = [f["sequence"] for f in run.frames]
    assert sequences == sorted(set(sequences)), sequences
    after_freeze = run.frames[1]
    assert after_freeze["captured_ms"] > run.resumed_ms - STALE_MS
    # 2 s at 30 frames a second went by unasked for: the first answer says so.
    assert after_freeze["dropped"] > 0, after_freeze


def test_a_grpcio_app_that_freezes_between_pulls_gets_a_fresh_frame(station):
    eid = never_passing_face(station, 51)
    run = run_pulled_capture(station, eid)
    assert_fresh_after_stall(run)
    # High-frequency reads leave no audit rows: only the enrollment's start and its capture.
    actions = [e.action for e in station.daemon.audit.entries() if e.target == eid]
    assert sorted(actions) == ["capture", "enrollment_started"], actions


def test_a_grpc_js_app_that_freezes_between_pulls_gets_a_fresh_frame(station):
    eid = never_passing_face(station, 52)
    report = run_node_app(NODE_CLIENT, station, eid, NODE_ARGS)
    run = PulledRun(
        stream=report["stream"],
        frames=report["frames"],
        resumed_ms=report["resumed_ms"],
        capture_ended=report["capture_ended"],
    )
    assert_fresh_after_stall(run)


def _refusal(client: StationClient, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        client.enrollment.GetPreview(request, metadata=client.metadata, timeout=10)
    return caught.value


def test_a_pull_with_no_capture_running_is_refused_with_its_reason(station):
    eid = never_passing_face(station, 53)
    client = StationClient(station.address, station.operator_token)
    try:
        error = _refusal(client, pull_request(eid))
    finally:
        client.close()
    assert error.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(error) == "PREVIEW_NOT_RUNNING"
    assert "Start the capture first" in error.details()


def test_a_streamed_capture_has_nothing_to_pull(station):
    eid = never_passing_face(station, 54)
    client = StationClient(station.address, station.operator_token)
    request = pulled_capture_request(eid)
    request.preview_delivery = enrollment_pb2.PREVIEW_DELIVERY_STREAM
    call = client.enrollment.Capture(request, metadata=client.metadata, timeout=60)
    try:
        assert next(call).WhichOneof("event") == "prompt"
        error = _refusal(client, pull_request(eid))
    finally:
        call.cancel()
        client.close()
    assert error.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(error) == "PREVIEW_NOT_RUNNING"


def test_another_operators_pull_is_not_found(station):
    eid = never_passing_face(station, 55)
    owner = StationClient(station.address, station.operator_token)
    stranger = StationClient(station.address, station.daemon.tokens.add("op-dewi", Role.OPERATOR))
    call = owner.enrollment.Capture(
        pulled_capture_request(eid), metadata=owner.metadata, timeout=60
    )
    try:
        assert next(call).WhichOneof("event") == "prompt"
        own = owner.enrollment.GetPreview(pull_request(eid), metadata=owner.metadata, timeout=10)
        error = _refusal(stranger, pull_request(eid))
    finally:
        call.cancel()
        owner.close()
        stranger.close()
    assert own.HasField("frame")  # the pull itself works: the refusal is the caller's
    assert error.code() is grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("wait_ms", [-1, 2001])
def test_a_wait_beyond_the_bound_is_invalid(station, wait_ms: int):
    client = StationClient(station.address, station.operator_token)
    try:
        error = _refusal(client, pull_request("any-enrollment", wait_ms=wait_ms))
    finally:
        client.close()
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(error) == "PREVIEW_WAIT_INVALID"
