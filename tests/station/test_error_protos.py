"""The shipped google.rpc protos (proto/google/rpc/) decode the daemon's real errors.

The decoder is built from the .proto files under proto/ alone (compiled here with protoc into a
descriptor pool of its own), as an integrator without googleapis-common-protos would build it:
what the daemon sends must be readable with exactly what the repository ships."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from grpcweb_client import bearer, grpc_web_call
from simkit import Kit

from station.v1 import enrollment_pb2, enrollment_pb2_grpc

PROTO_ROOT = Path(__file__).resolve().parents[2] / "proto"
SHIPPED = ("google/rpc/status.proto", "google/rpc/error_details.proto", "google/rpc/code.proto")


@pytest.fixture(scope="module")
def shipped_types(tmp_path_factory: pytest.TempPathFactory) -> dict[str, type]:
    """google.rpc message classes made from the shipped .proto files only."""
    from grpc_tools import protoc

    out = tmp_path_factory.mktemp("protos") / "rpc.pb"
    well_known = str(resources.files("grpc_tools") / "_proto")
    args = ["protoc", f"-I{PROTO_ROOT}", f"-I{well_known}", "--include_imports"]
    assert protoc.main([*args, f"--descriptor_set_out={out}", *SHIPPED]) == 0
    files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    assert {f.name for f in files.file} >= set(SHIPPED)
    pool = descriptor_pool.DescriptorPool()
    for file in files.file:
        pool.Add(file)
    names = ("Status", "ErrorInfo", "LocalizedMessage")
    return {
        n: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"google.rpc.{n}"))
        for n in names
    }


def _decode(details_bin: bytes, types: dict[str, type]) -> tuple[int, str, str]:
    """(code, ErrorInfo reason, LocalizedMessage locale) from grpc-status-details-bin."""
    status = types["Status"].FromString(details_bin)
    found: dict[str, object] = {}
    for detail in status.details:
        name = detail.type_url.rsplit("/", 1)[-1].removeprefix("google.rpc.")
        found[name] = types[name].FromString(detail.value)
    info, localized = found["ErrorInfo"], found["LocalizedMessage"]
    assert info.domain == "rekam.station.v1"  # type: ignore[attr-defined]
    assert localized.message == status.message  # type: ignore[attr-defined]
    return status.code, info.reason, localized.locale  # type: ignore[attr-defined]


def test_a_native_error_decodes_with_the_shipped_protos(web_station: Kit, shipped_types) -> None:
    with grpc.insecure_channel(web_station.address) as channel:
        stub = enrollment_pb2_grpc.EnrollmentStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            stub.GetEnrollment(
                enrollment_pb2.GetEnrollmentRequest(enrollment_id="no-such-enrollment"),
                metadata=[
                    ("authorization", f"Bearer {web_station.operator_token}"),
                    ("accept-language", "id"),
                ],
                timeout=10,
            )
    trailers = dict(raised.value.trailing_metadata())
    code, reason, locale = _decode(trailers["grpc-status-details-bin"], shipped_types)
    assert code == grpc.StatusCode.NOT_FOUND.value[0] == raised.value.code().value[0]
    assert reason == "ENROLLMENT_NOT_FOUND"
    assert locale == "id-ID"


def test_a_web_error_decodes_with_the_shipped_protos(web_station: Kit, shipped_types) -> None:
    answer = grpc_web_call(
        web_station.daemon.web.port,  # type: ignore[union-attr]
        "/station.v1.Devices/ListDevices",
        b"",
        bearer("rk_not-a-token"),
    )
    assert answer.http_status == 200
    code, reason, locale = _decode(answer.details_bin(), shipped_types)
    assert code == answer.grpc_status == grpc.StatusCode.UNAUTHENTICATED.value[0]
    assert reason == "UNAUTHENTICATED"
    assert locale == "en-US"
