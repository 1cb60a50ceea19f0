"""A separately installed driver package registers through ``rekam.drivers``; the daemon lists it.

The test builds a tiny distribution (a module and its ``.dist-info`` with ``entry_points.txt``)
in a temporary folder, puts the folder on a daemon subprocess's PYTHONPATH, and asks the daemon
over gRPC what it has.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.registry import available_drivers
from simulator.centre import CentreServer
from simulator.devices.swtpm import SoftwareTpm
from station.auth import Role, TokenStore
from station.client import StationClient
from station.v1 import devices_pb2

pytestmark = pytest.mark.timeout(120)

DRIVER_MODULE = '''
"""Acme FolderScan: a vendor fingerprint driver whose "platen" is a folder of images."""

import os

import numpy as np

from drivers.base import Capabilities, DeviceIdentity, DeviceStatus, ImageDevice, Modality
from drivers.errors import DeviceUnavailable


class FolderScanner(ImageDevice):
    driver_name = "acme-folderscan"

    def __init__(self, device_id, port, *, serial="FS-1"):
        super().__init__(device_id, port)
        self.serial = serial

    @property
    def capabilities(self):
        return Capabilities(Modality.FINGERPRINT, ("right_index", "left_index"), 64, 64, 500)

    def present(self):
        return os.path.isdir(self.port)

    def open(self):
        if not os.path.isdir(self.port):
            raise DeviceUnavailable(f"no folder {self.port}")
        self.identity = DeviceIdentity(
            "Acme Biometrik", "FolderScan 1", self.serial, "0.1", "file", self.port
        )
        self.status = DeviceStatus.READY

    def close(self):
        self.status = DeviceStatus.DISCONNECTED

    def capture(self, *, timeout, cancel=None, position=None):
        return np.full((64, 64), 128, dtype=np.uint8)
'''


def build_distribution(site: Path) -> None:
    """rekam-acme-driver 0.1, installed into ``site`` as pip would lay it out."""
    package = site / "rekam_acme_driver"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(DRIVER_MODULE)
    info = site / "rekam_acme_driver-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rekam-acme-driver\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[rekam.drivers]\nacme-folderscan = rekam_acme_driver:FolderScanner\n"
    )


@pytest.fixture
def plugin_daemon(tmp_path: Path) -> Iterator[tuple[str, str]]:
    site = tmp_path / "site"
    build_distribution(site)
    platen = tmp_path / "platen"
    platen.mkdir()
    centre = CentreServer(tmp_path / "centre").start()
    kit_tpm = SoftwareTpm(tmp_path / "tpm", lifetime_s=600).start()  # `rekam serve` needs a TPM
    data_dir = tmp_path / "station"
    token = TokenStore(data_dir / "operators.db")
    technician = token.add("tech-dewi", Role.TECHNICIAN)
    token.close()
    config = tmp_path / "rekam.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            [station]
            id = "KIT-PLUGIN-01"
            data_dir = "{data_dir}"
            listen = "127.0.0.1:0"

            [centre]
            url = "{centre.url}"
            public_key = "{centre.public_key_path}"
            receipt_key = "{centre.identity.receipt_public_path}"
            tls_pin = "{centre.identity.pin_text}"

            [identity]
            backend = "tpm"
            tcti = "{kit_tpm.tcti}"

            [[devices]]
            id = "vendor-fingerprint-0"
            driver = "acme-folderscan"
            port = "{platen}"
            options = {{ serial = "FS-0042" }}
            """
        )
    )
    ready = tmp_path / "ready.json"
    python_path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)
    command = ["serve", "--config", str(config), "--ready-file", str(ready)]
    daemon = subprocess.Popen(
        [sys.executable, "-m", "station.cli", *command],
        env={**os.environ, "PYTHONPATH": python_path},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            if daemon.poll() is not None or time.monotonic() > deadline:
                _, stderr = daemon.communicate(timeout=10)
                pytest.fail(f"the daemon did not start: {stderr.decode()[-2000:]}")
            time.sleep(0.1)
        yield json.loads(ready.read_text())["grpc"], technician
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(timeout=5)
        if daemon.stderr is not None:
            daemon.stderr.close()
        centre.stop()
        kit_tpm.stop()


def test_a_separately_installed_driver_is_listed_by_the_daemon(plugin_daemon) -> None:
    assert "acme-folderscan" not in available_drivers()  # not installed in this process
    address, technician = plugin_daemon
    client = StationClient(address, technician)
    try:
        client.wait_until_serving()
        listed = client.devices.ListDevices(
            devices_pb2.ListDevicesRequest(), metadata=client.metadata
        )
        (device,) = listed.devices
        assert device.id == "vendor-fingerprint-0"
        assert device.driver == "acme-folderscan"
        assert device.status == devices_pb2.DEVICE_STATUS_READY
        assert (device.identity.vendor, device.identity.serial) == ("Acme Biometrik", "FS-0042")
        assert device.capabilities.width == 64 and device.capabilities.ppi == 500
        steps = list(
            client.devices.RunDiagnostics(
                devices_pb2.RunDiagnosticsRequest(), metadata=client.metadata, timeout=30
            )
        )
        assert [(s.check, s.passed) for s in steps] == [
            ("connectivity", True),
            ("identity", True),
            ("mode", True),  # from its capabilities: the driver fills no mode of its own
        ]
    finally:
        client.close()
