"""A configured device whose installed driver fails to import: the kit starts with its other
devices, and ListDevices and RunDiagnostics name the broken driver and its cause."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from station.auth import Role, TokenStore
from station.devices import DeviceManager
from station.services.devices import DevicesService
from station.v1 import devices_pb2

pytestmark = pytest.mark.timeout(30)

SPECS = [
    {"id": "fingerprint-0", "driver": "r30x", "port": "/nonexistent/ttyUSB0"},
    {"id": "vendor-fingerprint-0", "driver": "acme-broken", "port": "/dev/acme0"},
]


@pytest.fixture
def broken_driver_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """rekam-broken-driver 0.1: its entry point's module raises on import."""
    site = tmp_path / "site"
    info = site / "rekam_broken_driver-0.1.dist-info"
    info.mkdir(parents=True)
    (site / "rekam_broken_driver.py").write_text('raise ImportError("libacme.so.1 missing")\n')
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rekam-broken-driver\n")
    (info / "entry_points.txt").write_text(
        "[rekam.drivers]\nacme-broken = rekam_broken_driver:Scanner\n"
    )
    monkeypatch.syspath_prepend(str(site))
    return site


class FakeContext:
    """What the servicer reads of a gRPC call: metadata, callbacks, abort."""

    def __init__(self, token: str, language: str) -> None:
        self.metadata = (("authorization", f"Bearer {token}"), ("accept-language", language))

    def invocation_metadata(self):  # type: ignore[no-untyped-def]
        return self.metadata

    def add_callback(self, callback) -> None:  # type: ignore[no-untyped-def]
        pass

    def abort_with_status(self, status) -> None:  # type: ignore[no-untyped-def]
        raise AssertionError(f"aborted: {status}")


@pytest.fixture
def service(broken_driver_installed: Path, tmp_path: Path) -> Iterator[tuple[DevicesService, str]]:
    tokens = TokenStore(tmp_path / "operators.db")
    technician = tokens.add("tech-dewi", Role.TECHNICIAN)
    manager = DeviceManager(SPECS)
    try:
        yield DevicesService(manager, tokens, stopping=threading.Event()), technician
    finally:
        manager.close()
        tokens.close()


def test_the_manager_keeps_the_other_devices(broken_driver_installed: Path) -> None:
    manager = DeviceManager(SPECS)
    assert [d.device_id for d in manager.devices()] == ["fingerprint-0"]
    (unusable,) = manager.unusable()
    assert (unusable.device_id, unusable.driver) == ("vendor-fingerprint-0", "acme-broken")
    assert unusable.error.module == "rekam_broken_driver"


@pytest.mark.parametrize("language", ["en", "id"])
def test_list_devices_names_the_broken_driver_and_its_cause(service, language: str) -> None:
    servicer, token = service
    listed = servicer.ListDevices(devices_pb2.ListDevicesRequest(), FakeContext(token, language))
    broken = next(d for d in listed.devices if d.id == "vendor-fingerprint-0")
    assert broken.driver == "acme-broken"
    assert broken.status == devices_pb2.DEVICE_STATUS_DISCONNECTED
    assert "acme-broken" in broken.status_message
    assert "libacme.so.1 missing" in broken.status_message
    assert ("Driver perangkat" in broken.status_message) == (language == "id")


def test_diagnostics_fail_connectivity_with_the_cause(service) -> None:
    servicer, token = service
    request = devices_pb2.RunDiagnosticsRequest(device_ids=["vendor-fingerprint-0"])
    steps = list(servicer.RunDiagnostics(request, FakeContext(token, "en")))
    assert [(s.device_id, s.check, s.passed) for s in steps] == [
        ("vendor-fingerprint-0", "connectivity", False)
    ]
    assert "rekam_broken_driver" in steps[0].detail and "libacme.so.1" in steps[0].detail
    assert "reinstall the driver package" in steps[0].remedy
