"""ListRecords pages by key (the last record's place), not by offset: a record that changes
state between two pages neither hides another nor shows twice, and a forged or foreign page
token is refused."""

from __future__ import annotations

import grpc
import pytest
from test_daemon_records import Daemon, kit  # noqa: F401  (the module's daemon fixture)

from station.auth import Role
from station.client import StationClient
from station.errors import error_reason
from station.v1 import records_pb2


def page(client: StationClient, token: str = "", size: int = 2):
    return client.records.ListRecords(
        records_pb2.ListRecordsRequest(
            statuses=[records_pb2.RECORD_STATUS_SEALED], page_size=size, page_token=token
        ),
        metadata=client.metadata,
    )


def test_pages_survive_records_leaving_the_filter(kit: Daemon):  # noqa: F811
    for index in range(7):
        kit.enqueue(f"PAGE-{index}", 300 + index)
    waiting = {r.record_id for r in kit.daemon.outbox.list() if r.state.value == "SEALED"}
    first = page(kit.client)
    seen = [r.record_id for r in first.records]
    # The first record listed is delivered before the next page is asked for.
    kit.daemon.outbox.mark_delivered(seen[0])
    token = first.next_page_token
    for _ in range(len(waiting)):  # bounded
        if not token:
            break
        following = page(kit.client, token)
        seen.extend(r.record_id for r in following.records)
        token = following.next_page_token
    assert token == ""
    assert len(seen) == len(set(seen))  # none twice
    assert set(seen) == waiting  # none skipped


def test_a_page_token_is_the_callers_own(kit: Daemon):  # noqa: F811
    for index in range(3):
        kit.enqueue(f"TOKEN-{index}", 400 + index)
    token = page(kit.client, size=1).next_page_token
    assert token
    address = f"127.0.0.1:{kit.daemon.port}"
    other = StationClient(address, kit.daemon.tokens.add("op-eko", Role.OPERATOR))
    try:
        for client, bad in ((kit.client, token[:-4] + "AAAA"), (other, token), (kit.client, "7")):
            with pytest.raises(grpc.RpcError) as refused:
                page(client, bad)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert error_reason(refused.value) == "PAGE_TOKEN_INVALID"
    finally:
        other.close()
