"""The hotplug monitor follows a scanner that re-enumerates at another node, and says once (then
once a minute) that a device is unavailable.

The scanner is a simulated R30x module behind a pty; the USB adapter it sits on is described to
pyserial's ``list_ports`` as the kernel would list it: first at ``ttyUSB0``, then, replugged, at
``ttyUSB1`` on the same hub port.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from serial.tools.list_ports_common import ListPortInfo

from drivers import usb_identity
from drivers.base import DeviceStatus
from simulator.devices.r30x import SimulatedR30x
from station.devices import UNAVAILABLE_LOG_EVERY_S, DeviceManager

pytestmark = pytest.mark.timeout(60)


def listed(node: str, location: str = "1-1.2", serial_number: str = "") -> ListPortInfo:
    info = ListPortInfo(node, skip_link_detection=True)
    info.vid, info.pid, info.location = 0x10C4, 0xEA60, location
    info.serial_number = serial_number or None
    return info


class Adapter:
    """What ``list_ports.comports()`` reports, changed by the test as the kernel would."""

    def __init__(self) -> None:
        self.ports: list[ListPortInfo] = []

    def __call__(self) -> list[ListPortInfo]:
        return list(self.ports)


@pytest.fixture
def adapter(monkeypatch) -> Iterator[Adapter]:
    listing = Adapter()
    monkeypatch.setattr("serial.tools.list_ports.comports", listing)
    yield listing
    for spec in list(usb_identity._opened):
        usb_identity.forget(spec)


@pytest.fixture
def modules(tmp_path: Path) -> Iterator[tuple[SimulatedR30x, SimulatedR30x]]:
    """The same module before and after a replug: behind ttyUSB0, then behind ttyUSB1."""
    before = SimulatedR30x(lambda: None, link_path=tmp_path / "ttyUSB0")
    after = SimulatedR30x(lambda: None, link_path=tmp_path / "ttyUSB1")
    before.start()
    try:
        yield before, after
    finally:
        before.stop()
        after.stop()


@pytest.mark.parametrize(
    "port", ["usb-serial:10c4:ea60/SIM-A", "usb-path:1-1.2", "{tmp}/ttyUSB0"], ids=str
)
def test_the_monitor_reopens_a_device_that_re_enumerated(adapter, modules, tmp_path, port) -> None:
    before, after = modules
    port = port.format(tmp=tmp_path)
    adapter.ports = [listed(before.port, serial_number="SIM-A")]
    manager = DeviceManager([{"id": "fp", "driver": "r30x", "port": port}])
    manager.open_all()
    device = manager.get("fp")
    assert device is not None and device.status is DeviceStatus.READY
    events = manager.subscribe()

    before.stop()  # unplugged: ttyUSB0 is gone; plugged back, it is ttyUSB1
    after.start()
    adapter.ports = [listed(after.port, serial_number="SIM-A")]
    manager.poll_once()

    assert device.status is DeviceStatus.READY
    opened = usb_identity.opened(port)
    assert opened is not None and opened.node == os.path.realpath(after.port)
    assert device.ping()
    assert after.commands_seen  # the handshake and the ping went to the module where it is now
    assert events.empty() or events.get_nowait().kind != "detached"
    manager.close()


def test_unavailable_is_logged_on_the_transition_then_once_a_minute(
    adapter, tmp_path, caplog
) -> None:
    now = [1000.0]
    module = SimulatedR30x(lambda: None, link_path=tmp_path / "ttyUSB0")
    manager = DeviceManager(
        [{"id": "fp", "driver": "r30x", "port": module.port}], clock=lambda: now[0]
    )
    caplog.set_level(logging.DEBUG, logger="station.devices")

    def warnings() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]

    for _ in range(6):  # three seconds of rounds, twice a second
        manager.poll_once()
        now[0] += 0.5
    assert len(warnings()) == 1 and "unavailable" in warnings()[0]
    now[0] += UNAVAILABLE_LOG_EVERY_S
    for _ in range(4):
        manager.poll_once()
        now[0] += 0.5
    assert len(warnings()) == 2 and "still unavailable" in warnings()[1]

    module.start()
    try:
        manager.poll_once()
        device = manager.get("fp")
        assert device is not None and device.status is DeviceStatus.READY
        assert any("available again" in r.getMessage() for r in caplog.records)
        assert len(warnings()) == 2
    finally:
        manager.close()
        module.stop()
