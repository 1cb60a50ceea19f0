"""Status tracking benches: requests per minute and wire bytes per waiting record per day at
4,000 records, and the tracker's CPU at 20,000, against the real simulated centre (TLS) through
the seeded fault proxy, which counts every connection and byte both ways.

Time is compressed: every interval of the tracker (poll, back-off ceiling, reconcile, long-poll
wait) and the records' ages at the centre are divided by ``SPEEDUP``, the tracker runs for
``WINDOW_S`` seconds of real time after its first full pass, and the rates measured are divided
by ``SPEEDUP`` again (the work is proportional to the rate of requests). The CPU figure is kept
as measured at the compressed rate: an upper bound of the real one.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.report import Row
from simulator.centre import CentreServer
from simulator.centre.abis import PRINT_READY, RECEIVED
from simulator.faultproxy import FaultProxy
from uploader.centre_client import CentreClient
from uploader.outbox import Outbox, RecordState
from uploader.tracker import StatusTracker

STATION = "KIT-BENCH"
SPEEDUP = 10.0
WINDOW_S = 24.0
POLL_INTERVAL_S = 30.0  # [uploader] poll_interval_s
MAX_POLL_INTERVAL_S = 600.0
RECONCILE_S = 3600.0
FEED_WAIT_S = 25.0
AGES_S = (0.0, 3 * 86400.0)  # how long the waiting records have been at the centre
DECISIONS = 6  # records the centre decides during the window (about 2 per record in 3 days)
OLD_WAY_SAMPLE = 40  # single-record GETs measured for the old way's figure
DETAIL = "received and verified"


@dataclass(frozen=True)
class Window:
    requests_per_min: float
    bytes_per_record_day: float
    cpu_pct: float
    changes_seen: int


def _load(centre: CentreServer, kit: Path, count: int, rng: random.Random) -> list[str]:
    """``count`` records delivered and RECEIVED_AT_CENTRAL on both sides, written straight
    into both databases (as a kit and a centre that have run for days would hold them)."""
    now = time.time()
    rows = []
    for index in range(count):
        record_id = f"TR-{index:06d}"
        sha256 = hashlib.sha256(record_id.encode()).hexdigest()
        age = rng.uniform(*AGES_S) / SPEEDUP
        rows.append((record_id, sha256, now - age))
    with Outbox(kit):
        pass  # creates the schema
    with sqlite3.connect(kit / "outbox.sqlite") as db:
        db.executemany(
            "INSERT INTO records (record_id, sha256, size, state, next_attempt_at, created_at, "
            "updated_at, delivered_at, detail) VALUES (?,?,1,?,?,?,?,?,?)",
            [
                (r, h, RecordState.RECEIVED_AT_CENTRAL.value, at, at, at, at, DETAIL)
                for r, h, at in rows
            ],
        )
    with sqlite3.connect(centre.data_dir / "centre.sqlite") as db:
        db.executemany(
            "INSERT INTO records VALUES (?,?,1,?,?,?,?,?,?,NULL)",
            [(r, h, STATION, f"NIK-{r}", RECEIVED, DETAIL, at, at) for r, h, at in rows],
        )
        db.executemany(
            "INSERT INTO changes (record_id, station_id, sha256, status, detail, at) "
            "VALUES (?,?,?,?,?,?)",
            [(r, STATION, h, RECEIVED, DETAIL, at) for r, h, at in rows],
        )
    return [r for r, _h, _at in rows]


def _thread_cpu(thread: threading.Thread) -> float:
    assert thread.ident is not None
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def _window(root: Path, count: int, *, feed: bool, seed: int) -> Window:
    """Run the tracker over ``count`` waiting records for one window; what it cost."""
    rng = random.Random(seed)
    with CentreServer(root / "centre", decision_delay=3600.0, feed=feed) as centre:
        ids = _load(centre, root / "kit", count, rng)
        with FaultProxy("127.0.0.1", centre.port, seed=seed) as proxy, Outbox(root / "kit") as box:
            tracker = StatusTracker(
                box,
                CentreClient(proxy.url, trust=centre.trust, timeout=10.0),
                station_id=STATION,
                poll_interval=POLL_INTERVAL_S / SPEEDUP,
                max_poll_interval=MAX_POLL_INTERVAL_S / SPEEDUP,
                reconcile_interval=RECONCILE_S / SPEEDUP,
                feed_wait=FEED_WAIT_S / SPEEDUP,
            )
            tracker.start()
            try:
                window = _measure(tracker, centre, proxy, ids, rng)
            finally:
                tracker.client.abort_in_flight()
                tracker.stop()
    return window


def _measure(
    tracker: StatusTracker,
    centre: CentreServer,
    proxy: FaultProxy,
    ids: list[str],
    rng: random.Random,
) -> Window:
    deadline = time.monotonic() + 120.0
    while tracker.counters.polls < len(ids) and time.monotonic() < deadline:
        time.sleep(0.05)  # the first full pass after a start is not the steady state
    time.sleep(1.0)  # its last batch's answer
    assert tracker._thread is not None
    connections, wire = proxy.counters.connections, proxy.counters.bytes_up
    wire += proxy.counters.bytes_down
    changes = tracker.counters.status_changes
    cpu, started = _thread_cpu(tracker._thread), time.monotonic()
    decided = rng.sample(ids, DECISIONS)
    for index in range(DECISIONS):
        time.sleep(WINDOW_S / (DECISIONS + 1))
        assert centre.store is not None
        centre.store.set_status(decided[index], PRINT_READY, "bench decision")
    time.sleep(WINDOW_S / (DECISIONS + 1))
    elapsed = time.monotonic() - started
    cpu_pct = 100.0 * (_thread_cpu(tracker._thread) - cpu) / elapsed
    requests = proxy.counters.connections - connections
    wire = proxy.counters.bytes_up + proxy.counters.bytes_down - wire
    real_seconds = elapsed * SPEEDUP
    return Window(
        requests_per_min=requests / real_seconds * 60.0,
        bytes_per_record_day=wire / real_seconds * 86400.0 / len(ids),
        cpu_pct=cpu_pct,
        changes_seen=tracker.counters.status_changes - changes,
    )


def _old_way_bytes_per_record_day(root: Path) -> float:
    """The wire bytes of one single-record GET on a new TLS connection (the kit's old poll),
    times the two such GETs a waiting record cost per minute."""
    rng = random.Random(3)
    with CentreServer(root / "centre", decision_delay=3600.0) as centre:
        ids = _load(centre, root / "kit", OLD_WAY_SAMPLE, rng)
        with FaultProxy("127.0.0.1", centre.port, seed=3) as proxy:
            client = CentreClient(proxy.url, trust=centre.trust, timeout=10.0)
            for record_id in ids:
                client.status(record_id, hashlib.sha256(record_id.encode()).hexdigest())
            per_request = (proxy.counters.bytes_up + proxy.counters.bytes_down) / len(ids)
    return per_request * 2 * 60 * 24


def tracking_rows() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="rekam-bench-tracking-") as tmp:
        root = Path(tmp)
        old_bytes = _old_way_bytes_per_record_day(root / "old")
        fed = _window(root / "feed-4000", 4000, feed=True, seed=1)
        batched = _window(root / "batch-4000", 4000, feed=False, seed=2)
        large = _window(root / "feed-20000", 20_000, feed=True, seed=4)
    scale = f"intervals and ages / {SPEEDUP:g}, {WINDOW_S:g} s window, rates x 1/{SPEEDUP:g}"
    return [
        Row(
            "tracking.requests_per_min_4000",
            fed.requests_per_min,
            "req/min",
            "<= 80",
            f"change feed (long-poll {FEED_WAIT_S:g} s) + hourly batch reconcile; "
            f"{fed.changes_seen}/{DECISIONS} decisions seen; a centre without a feed "
            f"(batches of 500, back-off to {MAX_POLL_INTERVAL_S:g} s): "
            f"{batched.requests_per_min:.1f}/min; the old one-GET-per-record poll: 8000/min; "
            + scale,
        ),
        Row(
            "tracking.bytes_per_record_day",
            fed.bytes_per_record_day,
            "bytes",
            f"<= {old_bytes / 100:.0f}",
            f"wire bytes (TLS included) per waiting record per day at 4000 records; batches "
            f"only: {batched.bytes_per_record_day:.0f}; the old poll: {old_bytes:.0f} "
            f"(measured the same way, {OLD_WAY_SAMPLE} GETs); " + scale,
        ),
        Row(
            "tracking.cpu_pct_20000",
            large.cpu_pct,
            "% of a core",
            "<= 5",
            f"tracker thread CPU following 20000 waiting records (feed), measured at "
            f"{SPEEDUP:g}x the real rate (an upper bound); {large.changes_seen}/{DECISIONS} "
            "decisions seen",
        ),
    ]


BENCHES = {"tracking": tracking_rows}
