"""The resumable path and the centre's injected faults, with the real client over loopback."""

from __future__ import annotations

import contextlib
import random

from delivery_helpers import wait_until

from simulator.faultproxy import FaultPlan, FaultProxy
from uploader.centre_client import CentreClient, CentreUnreachable
from uploader.outbox import RecordState
from uploader.service import Uploader

FAST = dict(
    timeout=3.0,
    poll_interval=0.05,
    idle_interval=0.05,
    backoff_base=0.05,
    backoff_cap=0.3,
    rng=random.Random(11),
)


def received_once(centre, record_id: str) -> bool:
    return centre.store.ingest_outcomes().get(record_id, {}).get("RECEIVED") == 1


def test_reset_mid_body_resumes_from_the_bytes_the_centre_kept(centre, sealer):
    package = sealer("P-1", 1)
    client = CentreClient(centre.url, trust=centre.trust)
    centre.faults.reset_uploads = 1
    try:
        client.upload("P-1", package.data, package.sha256)
    except CentreUnreachable:
        pass
    else:
        raise AssertionError("the reset upload must fail")
    held = centre.upload_offset("P-1", package.sha256)
    assert held == package.size // 2

    result = client.upload("P-1", package.data, package.sha256)
    assert result.status == 201 and result.code == "RECEIVED"
    assert client.resumed_bytes == held
    assert client.wire_bytes < 2 * package.size
    assert received_once(centre, "P-1")
    assert not list(centre.uploads_dir.iterdir())  # the partial file is gone


def test_a_new_client_resynchronises_on_412(centre, sealer):
    package = sealer("P-2", 2)
    centre.faults.reset_uploads = 1
    with contextlib.suppress(CentreUnreachable):
        CentreClient(centre.url, trust=centre.trust).upload("P-2", package.data, package.sha256)
    restarted = CentreClient(centre.url, trust=centre.trust)  # a restarted kit remembers nothing
    result = restarted.upload("P-2", package.data, package.sha256)
    assert result.status == 201
    assert restarted.resumed_bytes == package.size // 2
    assert received_once(centre, "P-2")


def test_injected_412s_and_slow_link_still_deliver(centre, sealer):
    package = sealer("P-3", 3)
    centre.faults.precondition_failures = 2
    centre.faults.slow_bytes_per_second = 400_000
    client = CentreClient(centre.url, trust=centre.trust)
    result = client.upload("P-3", package.data, package.sha256)
    assert result.status == 201
    assert received_once(centre, "P-3")
    outcomes = centre.store.ingest_outcomes()["P-3"]
    assert outcomes == {"RECEIVED": 1}


def test_identical_copy_and_conflict_over_the_resumable_path(centre, sealer):
    package, other = sealer("P-4", 4), sealer("P-4", 5)
    client = CentreClient(centre.url, trust=centre.trust)
    assert client.upload("P-4", package.data, package.sha256).status == 201
    again = client.upload("P-4", package.data, package.sha256)
    assert again.status == 200 and again.code == "ALREADY_RECEIVED"
    conflict = client.upload("P-4", other.data, other.sha256)
    assert conflict.status == 409 and conflict.permanent
    assert centre.upload_offset("P-4", package.sha256) is None


def test_storm_of_5xx_is_ridden_out(centre, sealer, outbox):
    centre.faults.storm(0.5, 502)
    for i in range(3):
        outbox.enqueue(sealer(f"P-S{i}", 20 + i))
    with Uploader(outbox, centre.url, trust=centre.trust, **FAST) as uploader:
        assert wait_until(
            lambda: all(outbox.get(f"P-S{i}").state != RecordState.SEALED for i in range(3))
        )
        assert uploader.counters()["delivery_retryable_failures"] >= 1
    assert all(received_once(centre, f"P-S{i}") for i in range(3))


def test_links_cut_mid_record_through_the_proxy_resume(centre, sealer, outbox):
    size = sealer("probe", 0).size
    plan = FaultPlan(cut=0.5, cut_after_bytes=(size // 4, size // 2))
    with FaultProxy("127.0.0.1", centre.port, plan, seed=4) as proxy:
        ids = [f"P-C{i}" for i in range(6)]
        for index, record_id in enumerate(ids):
            outbox.enqueue(sealer(record_id, 30 + index))
        with Uploader(outbox, proxy.url, trust=centre.trust, **FAST) as uploader:
            assert wait_until(
                lambda: all(outbox.get(r).state != RecordState.SEALED for r in ids), timeout=30
            )
            counters = uploader.counters()
        assert proxy.counters.cut >= 1
        assert counters["delivery_network_errors"] >= 1
        assert counters["delivery_resumed_bytes"] > 0
    assert all(received_once(centre, r) for r in ids)
