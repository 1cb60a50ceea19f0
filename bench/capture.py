"""Live preview over a real gRPC connection, and a ten-finger capture with auto-capture."""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.report import Row
from domain.vocabulary import FINGERS
from quality.config import QualityConfig
from simulator.demo import OperatorClient, subject_for
from simulator.personas import make_persona
from simulator.simulate import SimulatedSetup, start_simulated_station
from station.auth import Role
from station.client import position
from station.config import StationConfig
from station.v1 import enrollment_pb2

PREVIEW_SECONDS = 6.0


def _kit(tmp: Path, face_min_score: int | None = None):
    config = StationConfig(data_dir=tmp / "station", listen="127.0.0.1:0")
    if face_min_score is not None:
        config.quality = QualityConfig.from_mapping({"face": {"min_score": face_min_score}})
    setup, daemon, port = start_simulated_station(config)
    token = daemon.tokens.add("bench", Role.OPERATOR)
    client = OperatorClient(setup.control_url, f"127.0.0.1:{port}", token)
    client.wait_until_serving()
    return setup, daemon, client


def _start(client: OperatorClient, setup: SimulatedSetup, seed: int) -> str:
    persona = make_persona("adult", seed)
    setup.kit.present(persona)
    subject = subject_for(persona)
    return client.enrollment.StartEnrollment(
        enrollment_pb2.StartEnrollmentRequest(subject=subject), metadata=client.metadata
    ).enrollment_id


def preview() -> list[Row]:
    """Preview frames/s and frame latency (camera read -> client) with live face quality.

    The face threshold is set out of reach so the stream runs its whole window, as while the
    operator positions the resident.
    """
    with tempfile.TemporaryDirectory() as tmp:
        setup, daemon, client = _kit(Path(tmp), face_min_score=100)
        try:
            eid = _start(client, setup, 31)
            stream = client.enrollment.Capture(
                enrollment_pb2.CaptureRequest(
                    enrollment_id=eid,
                    position=position("face"),
                    preview_fps=30,
                    timeout_seconds=PREVIEW_SECONDS,
                ),
                metadata=client.metadata,
            )
            latencies, arrivals = [], []
            for event in stream:
                if event.WhichOneof("event") != "preview":
                    continue
                now = datetime.now(UTC)
                arrivals.append(time.perf_counter())
                grabbed = event.preview.captured_at.ToDatetime(tzinfo=UTC)
                latencies.append((now - grabbed).total_seconds() * 1000)
            client.close()
        finally:
            daemon.stop()
            setup.close()
    steady = arrivals[5:]  # leave out the stream's start-up
    fps = (len(steady) - 1) / (steady[-1] - steady[0])
    p95 = statistics.quantiles(latencies[5:], n=20)[18]
    note = f"{len(arrivals)} frames, 640x480 face camera (MJPEG, 30 fps), live face quality"
    return [
        Row("capture.preview_fps", fps, "fps", ">= 25", note),
        Row("capture.preview_p95_ms", p95, "ms", "<= 60", "camera read to client, p95"),
    ]


def ten_fingers() -> list[Row]:
    """Machine time of ten auto-captured fingers (R30x over a pty, unpaced), median of 3."""
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        setup, daemon, client = _kit(Path(tmp))
        try:
            for seed in (41, 42, 43):
                eid = _start(client, setup, seed)
                assert client.capture(eid, position("face")).result.accepted
                client.enrollment.ApproveSample(
                    enrollment_pb2.ApproveSampleRequest(
                        enrollment_id=eid, position=position("face"), approved=True
                    ),
                    metadata=client.metadata,
                )
                started = time.perf_counter()
                for finger in FINGERS:
                    assert client.capture(eid, position(finger)).result.accepted
                times.append(time.perf_counter() - started)
            client.close()
        finally:
            daemon.stop()
            setup.close()
    return [
        Row(
            "capture.ten_finger_s",
            statistics.median(times),
            "s",
            "",
            "10 fingers, auto-capture, same-finger check, over gRPC",
        )
    ]


BENCHES = {"preview": preview, "ten_fingers": ten_fingers}
