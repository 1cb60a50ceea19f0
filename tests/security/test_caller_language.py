"""The language of an error's sentence: the caller's accept-language (q-values honoured, "in"
meaning Indonesian), else the station's [station] language. Over the real gRPC server, for a
refusal by the authentication interceptor and one by the enrollment service."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from bare_station import bare_config
from google.rpc import error_details_pb2

from station.auth import Role
from station.errors import error_detail, error_reason
from station.server import StationDaemon
from station.v1 import enrollment_pb2, enrollment_pb2_grpc

# The start of each refusal's sentence, per language.
UNAUTHENTICATED = {"en": "Sign in first", "id": "Masuk terlebih dahulu"}
NOT_FOUND = {"en": "No enrollment 'nope'", "id": "Tidak ada perekaman 'nope'"}


@pytest.fixture(scope="module")
def stations(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, str]]]:
    """A running bare station per configured language: its address and an operator token."""
    running: dict[str, tuple[str, str]] = {}
    daemons = []
    try:
        for language in ("en", "id"):
            config = bare_config(tmp_path_factory.mktemp(language), language=language)
            daemon = StationDaemon(config)
            daemons.append(daemon)
            port = daemon.start()
            token = daemon.tokens.add("op-ani", Role.OPERATOR)
            running[language] = (f"127.0.0.1:{port}", token)
        yield running
    finally:
        for daemon in daemons:
            daemon.stop(grace=0.5)


def _refusal(address: str, metadata: list[tuple[str, str]]) -> grpc.RpcError:
    with grpc.insecure_channel(address) as channel:
        stub = enrollment_pb2_grpc.EnrollmentStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetEnrollment(
                enrollment_pb2.GetEnrollmentRequest(enrollment_id="nope"),
                metadata=metadata,
                timeout=10,
            )
    return caught.value


def _localized(error: grpc.RpcError) -> error_details_pb2.LocalizedMessage:
    localized = error_detail(error, error_details_pb2.LocalizedMessage)
    assert localized is not None, "no LocalizedMessage detail"
    return localized


CASES = [
    # (the station's language, the accept-language header or None, the language expected)
    ("en", "in", "id"),
    ("en", "in-ID", "id"),
    ("en", "fr, id;q=0.5", "id"),
    ("id", "id;q=0.1, en", "en"),
    ("en", "id;q=0.1, en", "en"),
    ("id", "fr", "id"),
    ("id", None, "id"),
    ("en", None, "en"),
]


@pytest.mark.parametrize(("station", "header", "expected"), CASES)
def test_a_service_refusal_speaks_the_negotiated_language(stations, station, header, expected):
    address, token = stations[station]
    metadata = [("authorization", f"Bearer {token}")]
    if header is not None:
        metadata.append(("accept-language", header))
    error = _refusal(address, metadata)
    assert error_reason(error) == "ENROLLMENT_NOT_FOUND"
    assert error.details().startswith(NOT_FOUND[expected])
    assert _localized(error).locale == {"en": "en-US", "id": "id-ID"}[expected]


@pytest.mark.parametrize(("station", "header", "expected"), CASES)
def test_an_authentication_refusal_speaks_the_negotiated_language(
    stations, station, header, expected
):
    address, _ = stations[station]
    metadata = [] if header is None else [("accept-language", header)]
    error = _refusal(address, metadata)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error.details().startswith(UNAUTHENTICATED[expected])
