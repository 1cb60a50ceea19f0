"""Fuzzing the station.v1 API's request validation through a real gRPC server: random field
values (any enum number, any unicode, NaN and infinities, odd sizes) and random bytes for every
finite unary-request method, plus the committed corpus of known-nasty requests. Every request
gets a proper status (never UNKNOWN or INTERNAL) with a reason, and the daemon keeps serving."""

from __future__ import annotations

import json

import grpc
import pytest
from fuzz_material import corpus
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.errors import error_reason
from station.v1 import devices_pb2, enrollment_pb2, records_pb2

FUZZ = settings(
    max_examples=60,
    deadline=None,  # each call carries its own gRPC deadline
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)
PROPER = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.UNAVAILABLE,
}
# Methods whose calls end by themselves (no endless watch streams, no files written, no test
# captures waiting for a finger), with the role that may call them.
FILES = {
    "Enrollment": enrollment_pb2.DESCRIPTOR,
    "Records": records_pb2.DESCRIPTOR,
    "Devices": devices_pb2.DESCRIPTOR,
}
FUZZED_METHODS = {
    "/station.v1.Enrollment/StartEnrollment": "operator",
    "/station.v1.Enrollment/Capture": "operator",
    "/station.v1.Enrollment/MarkException": "operator",
    "/station.v1.Enrollment/ApproveSample": "operator",
    "/station.v1.Enrollment/GetEnrollment": "operator",
    "/station.v1.Enrollment/GetPreview": "operator",
    "/station.v1.Enrollment/ListEnrollments": "operator",
    "/station.v1.Enrollment/CompleteEnrollment": "operator",
    "/station.v1.Enrollment/CancelEnrollment": "operator",
    "/station.v1.Records/ListRecords": "operator",
    "/station.v1.Records/GetRecord": "operator",
    "/station.v1.Records/RetryDelivery": "operator",
    "/station.v1.Devices/ListDevices": "technician",
}


def _method(path: str):
    service, name = path.rsplit("/", 2)[-2:]
    descriptor = FILES[service.rsplit(".", 1)[-1]].services_by_name[service.rsplit(".", 1)[-1]]
    return descriptor.methods_by_name[name]


def _message_class(descriptor: Descriptor):
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(descriptor)


def _scalar(field: FieldDescriptor) -> st.SearchStrategy:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return st.one_of(
            st.text(max_size=40),
            st.text(alphabet="0123456789٠١٢٣٤٥٦٧٨٩０１２３４５６７８９\u202e\u200b", max_size=20),
            st.just("x" * 5000),
        )
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=64)
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind == FieldDescriptor.TYPE_ENUM:
        return st.integers(-3, 1000) | st.sampled_from([v.number for v in field.enum_type.values])
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(allow_nan=True, allow_infinity=True, width=32)
    if kind in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64):
        return st.integers(-(2**63), 2**63 - 1)
    return st.integers(-(2**31), 2**31 - 1)


def message_strategy(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy:
    """Any message of this type, field by field (nested messages three levels deep)."""
    cls = _message_class(descriptor)
    fields = {}
    for field in descriptor.fields:
        if field.message_type is not None:
            if depth >= 3 or field.message_type.GetOptions().map_entry:
                continue
            value = message_strategy(field.message_type, depth + 1)
        else:
            value = _scalar(field)
        if field.is_repeated:
            value = st.lists(value, max_size=3)
        fields[field.name] = st.none() | value

    def build(values: dict) -> object:
        message = cls()
        for name, value in values.items():
            if value is None:
                continue
            target = getattr(message, name)
            if isinstance(value, list):
                if value and hasattr(value[0], "CopyFrom"):
                    for item in value:
                        target.add().CopyFrom(item)
                else:
                    target.extend(value)
            elif hasattr(value, "CopyFrom"):
                target.CopyFrom(value)
            else:
                setattr(message, name, value)
        return message

    return st.fixed_dictionaries(fields).map(build)


def _call(fuzz_kit, channel: grpc.Channel, path: str, payload: bytes):
    """Send raw request bytes; returns (code, reason)."""
    method = _method(path)
    token = fuzz_kit.technician_token if FUZZED_METHODS.get(path) == "technician" else None
    metadata = [("authorization", f"Bearer {token or fuzz_kit.operator_token}")]
    kwargs = {"request_serializer": lambda b: b, "response_deserializer": lambda b: b}
    try:
        if method.server_streaming:
            stream = channel.unary_stream(path, **kwargs)(payload, metadata=metadata, timeout=15)
            for _ in stream:
                pass
        else:
            channel.unary_unary(path, **kwargs)(payload, metadata=metadata, timeout=15)
    except grpc.RpcError as exc:
        return exc.code(), error_reason(exc)
    return grpc.StatusCode.OK, ""


def _assert_proper(code: grpc.StatusCode, reason: str, what: str) -> None:
    assert code in PROPER, f"{what} answered {code}"
    if code is not grpc.StatusCode.OK and code is not grpc.StatusCode.RESOURCE_EXHAUSTED:
        assert reason, f"{what} answered {code} without a machine-readable reason"


@pytest.fixture(scope="module")
def channel(fuzz_kit):
    with grpc.insecure_channel(fuzz_kit.address) as channel:
        yield channel
        # Whatever came before, the daemon still serves.
        health = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=10
        )
        assert health.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("path", sorted(FUZZED_METHODS), ids=lambda p: p.rsplit("/", 1)[-1])
def test_random_requests_get_a_proper_status(fuzz_kit, channel, path):
    @FUZZ
    @given(request=message_strategy(_method(path).input_type))
    def check(request) -> None:
        code, reason = _call(fuzz_kit, channel, path, request.SerializeToString())
        _assert_proper(code, reason, f"{path} {request!r:.200}")

    check()


@pytest.mark.parametrize("path", sorted(FUZZED_METHODS), ids=lambda p: p.rsplit("/", 1)[-1])
def test_random_bytes_get_a_proper_status(fuzz_kit, channel, path):
    @FUZZ
    @given(payload=st.binary(max_size=256))
    def check(payload: bytes) -> None:
        code, reason = _call(fuzz_kit, channel, path, payload)
        _assert_proper(code, reason, f"{path} {payload.hex()[:100]}")

    check()


@pytest.mark.parametrize("path", corpus("api", ".json"), ids=lambda p: p.stem)
def test_api_corpus_gets_the_expected_status(fuzz_kit, channel, path):
    case = json.loads(path.read_text())
    if "raw_hex" in case:
        payload = bytes.fromhex(case["raw_hex"])
    else:
        cls = _message_class(_method(case["method"]).input_type)
        message = json_format.ParseDict(case["request"], cls())
        payload = message.SerializeToString()
    code, reason = _call(fuzz_kit, channel, case["method"], payload)
    assert code.name == case["code"], f"{path.stem}: {code} {reason}"
    assert reason == case["reason"]
