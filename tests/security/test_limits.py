"""The caller who floods: forty streams from one token, thousands of bad-token calls, oversized
messages, and streams kept open after the token was revoked. None of it freezes the daemon,
fills the audit log, or outlives the revocation."""

from __future__ import annotations

import threading

import grpc
import pytest
from grpc_health.v1 import health_pb2

from station.audit import AuditLog
from station.auth import Role, TokenStore
from station.client import StationClient
from station.config import LimitsConfig
from station.errors import error_reason
from station.v1 import records_pb2

WAIT_S = 20.0


class Streams:
    """Streaming calls opened at once, and which of them have ended."""

    def __init__(self, client: StationClient, count: int) -> None:
        self.calls = []
        self.ended = threading.Semaphore(0)
        for _ in range(count):
            call = client.records.WatchRecords(
                records_pb2.WatchRecordsRequest(), metadata=client.metadata, timeout=60
            )
            call.add_done_callback(lambda _call: self.ended.release())
            self.calls.append(call)

    def wait_ended(self, count: int) -> bool:
        return all(self.ended.acquire(timeout=WAIT_S) for _ in range(count))

    def cancel(self) -> None:
        for call in self.calls:
            call.cancel()


def _eventually(condition) -> bool:
    done = threading.Event()
    for _ in range(200):
        if condition():
            return True
        done.wait(0.05)
    return False


def _client(daemon, token: str) -> StationClient:
    client = StationClient(f"127.0.0.1:{daemon.port}", token)
    client.wait_until_serving()
    return client


def test_forty_streams_of_one_token_leave_health_and_other_tokens_working(bare_daemon):
    daemon = bare_daemon(limits=LimitsConfig(streams_per_token=4))
    greedy = _client(daemon, daemon.tokens.add("op-rakus", Role.OPERATOR))
    other = _client(daemon, daemon.tokens.add("op-lain", Role.OPERATOR))
    streams = Streams(greedy, 40)
    try:
        assert streams.wait_ended(36)
        refused = [c for c in streams.calls if not c.is_active()]
        assert len(refused) == 36
        assert {c.code() for c in refused} == {grpc.StatusCode.RESOURCE_EXHAUSTED}
        assert {error_reason(c) for c in refused} == {"TOO_MANY_STREAMS"}
        health = greedy.health.Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        listed = other.records.ListRecords(
            records_pb2.ListRecordsRequest(), metadata=other.metadata, timeout=5
        )
        assert list(listed.records) == []
        theirs = Streams(other, 1)
        assert _eventually(lambda: daemon.stream_guard.open_streams() == 5)
        assert theirs.calls[0].is_active()
        theirs.cancel()
    finally:
        streams.cancel()
        greedy.close()
        other.close()


def test_revoking_a_token_ends_its_open_streams(bare_daemon):
    daemon = bare_daemon()
    client = _client(daemon, daemon.tokens.add("op-pergi", Role.OPERATOR))
    streams = Streams(client, 2)
    try:
        assert _eventually(lambda: daemon.stream_guard.open_streams() == 2)
        assert streams.calls[0].is_active() and streams.calls[1].is_active()
        # Revoked from another process, as `rekam operator revoke` does.
        other_process = TokenStore(daemon.config.data_dir / "operators.db")
        assert other_process.revoke("op-pergi") == 1
        other_process.close()
        assert streams.wait_ended(2)
        assert {c.code() for c in streams.calls} == {grpc.StatusCode.CANCELLED}
        assert _eventually(lambda: daemon.stream_guard.open_streams() == 0)  # handlers ended
    finally:
        streams.cancel()
        client.close()


def test_bad_token_floods_are_throttled_and_coalesced_in_the_audit_log(bare_daemon):
    daemon = bare_daemon(limits=LimitsConfig(failed_logins_per_peer=20))
    intruder = _client(daemon, "rk_guessed-token")
    codes = []
    for _ in range(300):
        with pytest.raises(grpc.RpcError) as caught:
            intruder.records.ListRecords(
                records_pb2.ListRecordsRequest(), metadata=intruder.metadata, timeout=5
            )
        codes.append(caught.value.code())
    assert codes[:20] == [grpc.StatusCode.UNAUTHENTICATED] * 20
    assert set(codes[20:]) == {grpc.StatusCode.RESOURCE_EXHAUSTED}
    # The operator at the same address still works: only bad tokens are throttled.
    operator = _client(daemon, daemon.tokens.add("op-ani", Role.OPERATOR))
    operator.records.ListRecords(records_pb2.ListRecordsRequest(), metadata=operator.metadata)
    daemon.trail.flush_refusals()
    log = AuditLog(daemon.config.data_dir / "audit.db", readonly=True)
    first = list(log.entries("login_refused"))
    repeated = list(log.entries("login_refused_repeated"))
    log.close()
    assert len(first) == 1 and first[0].detail_map["peer"] == "ipv4:127.0.0.1"
    assert [r.detail_map["count"] for r in repeated] == [299]
    intruder.close()
    operator.close()


def test_an_oversized_request_is_refused_before_it_is_read(bare_daemon):
    daemon = bare_daemon(limits=LimitsConfig(max_request_kb=64))
    client = _client(daemon, daemon.tokens.add("op-ani", Role.OPERATOR))
    with pytest.raises(grpc.RpcError) as caught:
        list(  # the refusal ends ExportBundle's progress stream before its first message
            client.records.ExportBundle(
                records_pb2.ExportBundleRequest(destination="/media/" + "x" * 100_000),
                metadata=client.metadata,
                timeout=10,
            )
        )
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    health = client.health.Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    client.close()
