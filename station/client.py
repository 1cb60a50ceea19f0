"""A thin station.v1 client: stubs with the operator's token attached to every call."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from station.tls import channel_credentials
from station.v1 import (
    common_pb2,
    devices_pb2_grpc,
    enrollment_pb2,
    enrollment_pb2_grpc,
    records_pb2_grpc,
)


@dataclass
class CaptureSummary:
    """What one Capture call streamed: prompts, preview count, and the result (if any)."""

    prompts: list[enrollment_pb2.CapturePrompt] = field(default_factory=list)
    previews: int = 0
    dropped: int = 0
    result: enrollment_pb2.CaptureResult | None = None


class StationClient:
    """Connects to a station; ``token`` is sent as a bearer token on every call."""

    def __init__(
        self,
        address: str,
        token: str = "",
        language: str = "en",
        *,
        root_certificates: bytes | None = None,
        client_certificate: tuple[bytes, bytes] | None = None,
    ) -> None:
        """TLS when ``root_certificates`` (PEM) is given; ``client_certificate`` is
        (certificate chain, private key) in PEM for mutual TLS."""
        options = [
            ("grpc.max_receive_message_length", 16 * 1024 * 1024),
            ("grpc.http2.bdp_probe", 0),
        ]
        if root_certificates is None:
            self.channel = grpc.insecure_channel(address, options=options)
        else:
            chain, key = client_certificate or (None, None)
            credentials = channel_credentials(root_certificates, chain, key)
            self.channel = grpc.secure_channel(address, credentials, options=options)
        self.metadata: list[tuple[str, str]] = [("accept-language", language)]
        if token:
            self.metadata.append(("authorization", f"Bearer {token}"))
        self.devices = devices_pb2_grpc.DevicesStub(self.channel)
        self.enrollment = enrollment_pb2_grpc.EnrollmentStub(self.channel)
        self.records = records_pb2_grpc.RecordsStub(self.channel)
        self.health = health_pb2_grpc.HealthStub(self.channel)

    def wait_until_serving(self, timeout: float = 30.0) -> None:
        grpc.channel_ready_future(self.channel).result(timeout=timeout)
        response = self.health.Check(health_pb2.HealthCheckRequest(), timeout=timeout)
        if response.status != health_pb2.HealthCheckResponse.SERVING:
            raise RuntimeError("the station is not serving")

    def capture(
        self,
        enrollment_id: str,
        position: int,
        timeout: float = 60.0,
        **options: object,
    ) -> CaptureSummary:
        """Run one Capture call to its end and summarise what it streamed."""
        summary = CaptureSummary()
        request = enrollment_pb2.CaptureRequest(
            enrollment_id=enrollment_id, position=position, **options
        )
        stream: Iterator[enrollment_pb2.CaptureEvent] = self.enrollment.Capture(
            request, metadata=self.metadata, timeout=timeout
        )
        for event in stream:
            kind = event.WhichOneof("event")
            if kind == "prompt":
                summary.prompts.append(event.prompt)
            elif kind == "preview":
                summary.previews += 1
                summary.dropped += event.preview.dropped
            elif kind == "result":
                summary.result = event.result
        return summary

    def approve_override(
        self, enrollment_id: str, position: int, action: int, exception_kind: int = 0
    ) -> str:
        """As a supervisor: approve one override (``enrollment_pb2.OVERRIDE_ACTION_*``) in
        someone else's enrollment; the id, for the operator's Capture or MarkException."""
        approval = self.enrollment.ApproveOverride(
            enrollment_pb2.ApproveOverrideRequest(
                enrollment_id=enrollment_id,
                position=position,
                action=action,
                exception_kind=exception_kind,
            ),
            metadata=self.metadata,
        )
        return approval.approval_id

    def close(self) -> None:
        self.channel.close()


def position(name: str) -> int:
    """The station.v1 Position value for a position name such as "right_index"."""
    return common_pb2.Position.Value(f"POSITION_{name.upper()}")
