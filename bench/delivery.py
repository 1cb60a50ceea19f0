"""Outbox and delivery benches: durable enqueue against the disk's raw rate, goodput on a
rate-limited link, lost/duplicated records with a fifth of the connections cut, and how soon
deliveries resume after a ten-minute outage."""

from __future__ import annotations

import os
import random
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.report import Row
from domain.files import write_durably
from simulator.centre import CentreServer
from simulator.centre.samples import small_record
from simulator.faultproxy import FaultPlan, FaultProxy
from uploader.centre_trust import CentreTrust
from uploader.keys import StationKeys, load_centre_public_key
from uploader.outbox import Outbox, RecordState
from uploader.package import SealedPackage, seal
from uploader.retry import LinkPause
from uploader.service import Uploader

STATION = "KIT-BENCH"
ENQUEUES = 60
LINK_BYTES_PER_SECOND = 1_000_000
GOODPUT_RECORDS = 24
CUT_RECORDS = 60
OUTAGE_S = 600.0
MAX_BACKOFF_S = 600.0  # [uploader] max_backoff_s


def _packages(centre: CentreServer, keys: StationKeys, count: int, prefix: str):
    public = load_centre_public_key(centre.public_key_path)
    return [seal(small_record(f"{prefix}-{i:04d}", i, STATION), keys, public) for i in range(count)]


def _rate(action: Callable[[int], None], count: int) -> float:
    started = time.perf_counter()
    for index in range(count):
        action(index)
    return count / (time.perf_counter() - started)


def bench_enqueue(root: Path, packages: list[SealedPackage]) -> Row:
    raw_dir = root / "raw"
    raw_dir.mkdir(parents=True)
    payloads = [p.data for p in packages]
    raw = _rate(lambda i: write_durably(raw_dir / f"{i}.pkg", payloads[i]), len(payloads))
    with Outbox(root / "outbox") as outbox:
        durable = _rate(lambda i: outbox.enqueue(packages[i], category="regular"), len(packages))
    return Row(
        "outbox.enqueue_vs_fsync",
        durable / raw,
        "ratio",
        ">= 0.5",
        f"{durable:.0f} enqueues/s vs {raw:.0f} raw write+fsync+rename/s, "
        f"{packages[0].size // 1024} KiB packages",
    )


def _deliver_all(
    outbox: Outbox, url: str, trust: CentreTrust, ids: list[str], limit_s: float
) -> float:
    """Deliver every record through ``url``; returns seconds until the last left SEALED."""
    uploader = Uploader(
        outbox,
        url,
        trust=trust,
        timeout=5.0,
        poll_interval=3600.0,
        idle_interval=0.02,
        backoff_base=0.02,
        backoff_cap=0.2,
        max_concurrent_uploads=2,
        rng=random.Random(1),
    )
    started = time.perf_counter()
    with uploader:
        deadline = started + limit_s
        while time.perf_counter() < deadline:
            if all(outbox.get(r).state != RecordState.SEALED for r in ids):
                break
            time.sleep(0.01)
    return time.perf_counter() - started


def bench_goodput(root: Path, centre: CentreServer, packages: list[SealedPackage]) -> Row:
    plan = FaultPlan(bytes_per_second=LINK_BYTES_PER_SECOND)
    ids = [p.record_id for p in packages]
    with FaultProxy("127.0.0.1", centre.port, plan, seed=1) as proxy, Outbox(root) as outbox:
        for package in packages:
            outbox.enqueue(package)
        elapsed = _deliver_all(outbox, proxy.url, centre.trust, ids, 120.0)
        delivered = sum(outbox.get(r).state != RecordState.SEALED for r in ids)
    payload = sum(p.size for p in packages)
    goodput = payload / elapsed
    return Row(
        "delivery.goodput_ratio",
        goodput / LINK_BYTES_PER_SECOND,
        "ratio",
        ">= 0.9",
        f"{goodput / 1e6:.2f} MB/s of packages over a {LINK_BYTES_PER_SECOND / 1e6:.1f} MB/s "
        f"link; {delivered}/{len(ids)} delivered",
    )


def bench_cut_links(root: Path, centre: CentreServer, packages: list[SealedPackage]) -> list[Row]:
    size = packages[0].size
    plan = FaultPlan(cut=0.2, cut_after_bytes=(256, size))
    ids = [p.record_id for p in packages]
    with FaultProxy("127.0.0.1", centre.port, plan, seed=20) as proxy, Outbox(root) as outbox:
        for package in packages:
            outbox.enqueue(package)
        _deliver_all(outbox, proxy.url, centre.trust, ids, 180.0)
        cut, connections = proxy.counters.cut, proxy.counters.connections
        kit_sha = {r: outbox.get(r).sha256 for r in ids}
    assert centre.store is not None
    outcomes = centre.store.ingest_outcomes()
    lost = sum(1 for r in ids if (held := centre.store.get(r)) is None or held.sha256 != kit_sha[r])
    duplicates = sum(max(0, outcomes.get(r, {}).get("RECEIVED", 0) - 1) for r in ids)
    note = f"{len(ids)} records, {cut} of {connections} connections cut"
    return [
        Row("delivery.lost", lost, "records", "<= 0", note),
        Row("delivery.duplicates", duplicates, "records", "<= 0", note),
    ]


class _SkewedClock:
    """The monotonic clock moved forward by ``skew`` seconds: a link's timers can live through
    an outage's length without the bench waiting for it."""

    def __init__(self) -> None:
        self.skew = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.skew


def _outage(link: LinkPause, clock: _SkewedClock, length: float) -> float:
    """Fail ``link`` as a kit whose centre is down for ``length`` seconds would (one failure
    each time its pause ends), on ``clock``; leaves the clock at the outage's end and returns
    the pause still left then (what the kit used to wait before its next try)."""
    elapsed = 0.0
    for _ in range(10_000):
        link.failed(link.attempt())
        pause = link.remaining()
        if elapsed + pause >= length:
            clock.skew += length - elapsed
            return link.remaining()
        elapsed += pause
        clock.skew += pause
    raise RuntimeError("the outage never ended")


def bench_reconnect(root: Path, keys: StationKeys) -> Row:
    """Seconds from the centre coming back after a ten-minute outage to the first delivery."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    centre = CentreServer(root / "centre", port=port, decision_delay=3600.0)
    centre.provision(STATION, keys.public_pem())
    package = _packages(centre, keys, 1, "RC")[0]
    with Outbox(root / "kit") as outbox:
        outbox.enqueue(package)
        uploader = Uploader(
            outbox,
            f"https://127.0.0.1:{port}",
            trust=centre.trust,
            backoff_cap=MAX_BACKOFF_S,
            poll_interval=3600.0,
            rng=random.Random(7),
        )
        clock = _SkewedClock()
        uploader.delivery.link.clock = clock
        left = _outage(uploader.delivery.link, clock, OUTAGE_S)
        with uploader:
            time.sleep(1.0)  # the kit runs on while the centre is still down
            centre.start()
            back = time.perf_counter()
            for _ in range(6000):
                if outbox.get(package.record_id).state != RecordState.SEALED:
                    break
                time.sleep(0.01)
            reconnect = time.perf_counter() - back
        centre.close()
        failures = uploader.delivery.counters.network_errors
    return Row(
        "delivery.reconnect_s",
        reconnect,
        "s",
        "<= 10",
        f"centre back -> first record delivered; the {OUTAGE_S / 60:.0f}-minute outage is its "
        f"backoff state (one failure each time the pause ended, on a clock moved forward, cap "
        f"{MAX_BACKOFF_S:.0f} s), the centre really down until then; its pause had "
        f"{left:.0f} s left (the wait before this change); health probe every <= 5 s; "
        f"{failures} failed uploads meanwhile",
    )


def delivery_rows() -> list[Row]:
    keys = StationKeys.generate()
    with tempfile.TemporaryDirectory(prefix="rekam-bench-delivery-", dir=_bench_dir()) as tmp:
        root = Path(tmp)
        with CentreServer(root / "centre", decision_delay=3600.0) as centre:
            centre.provision(STATION, keys.public_pem())
            rows = [bench_enqueue(root / "enqueue", _packages(centre, keys, ENQUEUES, "EQ"))]
            rows.append(
                bench_goodput(
                    root / "goodput", centre, _packages(centre, keys, GOODPUT_RECORDS, "GP")
                )
            )
            rows.extend(
                bench_cut_links(root / "cut", centre, _packages(centre, keys, CUT_RECORDS, "CUT"))
            )
        rows.append(bench_reconnect(root / "reconnect", keys))
    return rows


def _bench_dir() -> str:
    """Where the outbox would live: the working directory's disk, not a RAM-backed /tmp."""
    here = Path(os.getcwd())
    return str(here) if os.access(here, os.W_OK) else tempfile.gettempdir()


BENCHES = {"delivery": delivery_rows}
