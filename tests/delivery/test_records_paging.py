"""ListRecords pages by key (the last record's place), not by offset: a record that changes
state or is sealed between two pages neither hides another nor shows twice; a forged, altered,
foreign or other-filter page token is refused; page sizes outside 0..500 are refused; the
history comes with the full view."""

from __future__ import annotations

import base64

import grpc
import pytest
from google.rpc import error_details_pb2
from test_daemon_records import Daemon, kit  # noqa: F401  (the module's daemon fixture)

from station.auth import Role
from station.client import StationClient
from station.errors import error_detail, error_reason
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


def listing(client: StationClient, **fields) -> records_pb2.ListRecordsResponse:
    return client.records.ListRecords(
        records_pb2.ListRecordsRequest(**fields), metadata=client.metadata
    )


def refusal(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as refused:
        call()
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return refused.value


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo:
    info = error_detail(error, error_details_pb2.ErrorInfo)
    assert info is not None, "no ErrorInfo"
    return info


def test_every_altered_token_is_refused_with_a_sentence(kit: Daemon):  # noqa: F811
    for index in range(3):
        kit.enqueue(f"TAMPER-{index}", 500 + index)
    token = listing(kit.client, page_size=1).next_page_token
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert b"TAMPER" not in raw and b"op-ani" not in raw  # opaque: no ids, no caller inside
    altered = [
        base64.urlsafe_b64encode(raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1 :]).decode()
        for i in range(len(raw))
    ]
    altered += [token[:-1], token + "A", "!!" + token, token.upper(), "é"]
    for bad in altered:
        error = refusal(lambda b=bad: listing(kit.client, page_size=1, page_token=b))
        assert error_reason(error) == "PAGE_TOKEN_INVALID"
        assert error.details()  # an operator sentence, not a bare code
    # The genuine token still works, padded or not: the page is found by key.
    assert listing(kit.client, page_size=1, page_token=token).records


def test_a_token_only_serves_the_filter_it_was_given_for(kit: Daemon):  # noqa: F811
    for index in range(3):
        kit.enqueue(f"FILTER-{index}", 520 + index)
    token = listing(kit.client, page_size=1).next_page_token
    sealed = [records_pb2.RECORD_STATUS_SEALED]
    error = refusal(lambda: listing(kit.client, page_size=1, page_token=token, statuses=sealed))
    assert error_reason(error) == "PAGE_TOKEN_INVALID"
    # The same filter in another order is the same filter.
    both = [records_pb2.RECORD_STATUS_SEALED, records_pb2.RECORD_STATUS_DEAD_LETTER]
    first = listing(kit.client, page_size=1, statuses=both)
    again = listing(
        kit.client, page_size=1, statuses=list(reversed(both)), page_token=first.next_page_token
    )
    assert again.records and again.records[0].record_id != first.records[0].record_id


@pytest.mark.parametrize("size", [-1, -500, 501, 2**31 - 1])
def test_page_sizes_outside_the_documented_range_are_refused(kit: Daemon, size: int):  # noqa: F811
    error = refusal(lambda: listing(kit.client, page_size=size))
    assert error_reason(error) == "PAGE_SIZE_INVALID"
    assert error_info(error).metadata["max_page_size"] == "500"
    assert "500" in error.details()


def test_page_size_zero_is_the_documented_default(kit: Daemon):  # noqa: F811
    while len(kit.daemon.outbox.list()) <= 101:  # bounded: each turn adds one record
        index = len(kit.daemon.outbox.list())
        kit.enqueue(f"DEFAULT-{index}", 600 + index)
    listed = listing(kit.client, page_size=0)
    assert len(listed.records) == 100 and listed.next_page_token
    assert len(listing(kit.client, page_size=500).records) == len(kit.daemon.outbox.list())


def test_pages_stay_stable_while_records_are_sealed_between_them(kit: Daemon):  # noqa: F811
    before = [r.record_id for r in kit.daemon.outbox.list()]
    seen: list[str] = []
    token = ""
    added: list[str] = []
    for turn in range(len(before) + 10):  # bounded
        page_ = listing(kit.client, page_size=3, page_token=token)
        seen.extend(r.record_id for r in page_.records)
        token = page_.next_page_token
        if not token:
            break
        if turn < 4:  # a record sealed while the app reads the list
            added.append(f"BETWEEN-{turn}")
            kit.enqueue(added[-1], 700 + turn)
    assert token == ""
    assert len(seen) == len(set(seen))  # none twice
    assert seen[: len(before)] == before  # every earlier one, in order, none skipped
    assert seen[len(before) :] == added  # the new ones after them, in the order sealed


def test_the_full_view_carries_the_history_and_the_basic_one_does_not(kit: Daemon):  # noqa: F811
    kit.enqueue("VIEW-0", 800)
    for view, wanted in (
        (records_pb2.RECORD_VIEW_UNSPECIFIED, 0),
        (records_pb2.RECORD_VIEW_BASIC, 0),
        (records_pb2.RECORD_VIEW_FULL, 1),
    ):
        listed = listing(kit.client, page_size=500, view=view).records
        record = next(r for r in listed if r.record_id == "VIEW-0")
        assert len(record.history) == wanted
    full = next(
        r
        for r in listing(kit.client, page_size=500, view=records_pb2.RECORD_VIEW_FULL).records
        if r.record_id == "VIEW-0"
    )
    assert full.history[0].status == records_pb2.RECORD_STATUS_SEALED
    assert full.history[0].reason_code == "SEALED"
    got = kit.client.records.GetRecord(
        records_pb2.GetRecordRequest(record_id="VIEW-0"), metadata=kit.client.metadata
    )
    assert list(got.history) == list(full.history)
