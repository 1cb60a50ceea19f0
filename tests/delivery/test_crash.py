"""Crash tests: 200 records enrolled and delivered while the kit daemon (then the centre) is
SIGKILLed at random moments and restarted. At the end the centre holds every record exactly
once, none is missing, and no package is corrupt.

Full enrollments through the capture workflow take seconds each, so the kit process seals
small synthetic records with the daemon's own sealing and outbox calls (``kit_process.py``);
what is under test — the durable enqueue, the outbox's recovery, resumable delivery, status
tracking, the centre's ingest — is the real code in a real process killed without warning.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from delivery_helpers import STATION, free_ports

from simulator.centre import CentreServer
from simulator.centre.identity import RECEIPT_PUBLIC_FILE, TLS_PIN_FILE
from simulator.centre.store import CentreStore
from uploader.centre_client import CentreClient, CentreUnreachable
from uploader.centre_trust import CentreTrust
from uploader.keys import CentreKeys, StationKeys
from uploader.outbox import Outbox, RecordState
from uploader.package import open_package

RECORDS = 200
KILLS = 8
HERE = Path(__file__).resolve().parent
DEADLINE_S = 150.0


def centre_trust(centre_dir: Path) -> CentreTrust:
    """What a kit pins for the centre keeping its state in ``centre_dir``."""
    return CentreTrust.load(
        centre_dir / RECEIPT_PUBLIC_FILE, (centre_dir / TLS_PIN_FILE).read_text().strip()
    )


def start_kit(data_dir: Path, centre_url: str, centre_dir: Path) -> subprocess.Popen:
    (data_dir / "ready").unlink(missing_ok=True)
    process = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "kit_process.py"),
            str(data_dir),
            centre_url,
            str(centre_dir / "centre_public.pem"),
            str(RECORDS),
            str(centre_dir / RECEIPT_PUBLIC_FILE),
            (centre_dir / TLS_PIN_FILE).read_text().strip(),
        ],
        cwd=HERE,
        stdout=subprocess.DEVNULL,
        stderr=open(data_dir / "kit.log", "ab"),  # noqa: SIM115 - closed with the process
    )
    deadline = time.monotonic() + 60
    for _ in range(1200):
        if (data_dir / "ready").exists() or process.poll() is not None:
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert (data_dir / "ready").exists(), (data_dir / "kit.log").read_text()[-3000:]
    return process


def start_centre(data_dir: Path, port: int, station_pem: Path) -> subprocess.Popen:
    ready = data_dir.parent / "centre.ready"
    ready.unlink(missing_ok=True)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulator.centre.cli",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--decision-delay",
            "0.05",
            "--provision",
            STATION,
            str(station_pem),
            "--ready-file",
            str(ready),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    for _ in range(1200):
        if ready.exists() or process.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert ready.exists(), "the centre did not start"
    return process


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(10)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            kill(process)


def acknowledged(data_dir: Path) -> set[str]:
    path = data_dir / "acks"
    lines = path.read_text().split() if path.exists() else []
    return {f"CR-{int(line):04d}" for line in lines if line.isdigit()}


def all_delivered(data_dir: Path) -> bool:
    with Outbox(data_dir / "outbox") as outbox:
        records = outbox.list()
        return len(records) == RECORDS and all(
            r.state not in (RecordState.SEALED, RecordState.DEAD_LETTER) for r in records
        )


def verify(kit_dir: Path, centre_dir: Path, centre_keys: CentreKeys, station: StationKeys):
    """Every acknowledged record is in the outbox; outbox and centre hold the same records with
    the same bytes; each was received as new exactly once; every package opens."""
    with Outbox(kit_dir / "outbox") as outbox:
        records = {r.record_id: r for r in outbox.list()}
        assert acknowledged(kit_dir) <= set(records)
        assert set(records) == {f"CR-{i:04d}" for i in range(RECORDS)}
        for record in records.values():
            assert outbox.read_package(record.record_id)  # hash-checked against the row
            assert record.state not in (RecordState.SEALED, RecordState.DEAD_LETTER)
    store = CentreStore(centre_dir)
    try:
        held = {r.record_id: r for r in store.all_records()}
        outcomes = store.ingest_outcomes()
        assert set(held) == set(records)
        for record_id, record in records.items():
            assert held[record_id].sha256 == record.sha256
            assert outcomes[record_id].get("RECEIVED") == 1, outcomes[record_id]
            assert "RECORD_CONFLICT" not in outcomes[record_id]
            opened = open_package(
                store.package_path(record_id).read_bytes(),
                centre_keys.private_key,
                {STATION: station.public_key},
                decode_images=False,
            )
            assert opened.record_id == record_id
    finally:
        store.close()


@pytest.fixture
def crash_setup(tmp_path):
    kit_dir = tmp_path / "kit"
    centre_dir = tmp_path / "centre"
    kit_dir.mkdir()
    station = StationKeys.load_or_create(kit_dir / "keys")
    pem = tmp_path / "station.pem"
    pem.write_bytes(station.public_pem())
    centre_keys = CentreKeys.load_or_create(
        centre_dir / "keys", public_path=centre_dir / "centre_public.pem"
    )
    return kit_dir, centre_dir, station, pem, centre_keys


def test_kit_killed_at_random_moments_loses_and_duplicates_nothing(crash_setup):
    kit_dir, centre_dir, station, _pem, centre_keys = crash_setup
    rng = random.Random(7)
    started = time.monotonic()
    with CentreServer(centre_dir, decision_delay=0.05) as centre:
        centre.provision(STATION, station.public_pem())
        kit = start_kit(kit_dir, centre.url, centre_dir)
        try:
            for _ in range(KILLS):
                time.sleep(rng.uniform(0.3, 2.0))
                kill(kit)
                kit = start_kit(kit_dir, centre.url, centre_dir)
            for _ in range(int(DEADLINE_S / 0.5)):
                if all_delivered(kit_dir) or time.monotonic() - started > DEADLINE_S:
                    break
                time.sleep(0.5)
        finally:
            stop(kit)
        assert len(acknowledged(kit_dir)) >= RECORDS
    verify(kit_dir, centre_dir, centre_keys, station)


def test_centre_killed_at_random_moments_loses_and_duplicates_nothing(crash_setup):
    kit_dir, centre_dir, station, pem, centre_keys = crash_setup
    rng = random.Random(8)
    (port,) = free_ports(1)
    url = f"https://127.0.0.1:{port}"
    started = time.monotonic()
    centre = start_centre(centre_dir, port, pem)
    kit = start_kit(kit_dir, url, centre_dir)
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.3, 2.0))
            kill(centre)
            time.sleep(rng.uniform(0.0, 0.5))
            centre = start_centre(centre_dir, port, pem)
        for _ in range(int(DEADLINE_S / 0.5)):
            if all_delivered(kit_dir) or time.monotonic() - started > DEADLINE_S:
                break
            time.sleep(0.5)
        try:
            trust = centre_trust(centre_dir)
            assert CentreClient(url, trust=trust).health()["records"] == RECORDS
        except CentreUnreachable as exc:
            raise AssertionError("the restarted centre does not answer") from exc
    finally:
        stop(kit)
        stop(centre)
    verify(kit_dir, centre_dir, centre_keys, station)
    assert os.path.exists(kit_dir / "acks")
