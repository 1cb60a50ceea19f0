"""The matching rules of port specs over ListPortInfo records: cases the sysfs emulation
(test_serial_ports_sysfs.py) does not express, such as a replug between two listings in one
process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from serial.tools.list_ports_common import ListPortInfo

from drivers import usb_identity
from drivers.errors import DeviceUnavailable
from drivers.serial_ports import find_port, parse_port, remember_opened, resolve_port
from drivers.usb_identity import (
    AmbiguousPort,
    UsbMatch,
    natural_key,
    port_moved,
    resolve_video_device,
)

CP210X = (0x10C4, 0xEA60)


def adapter(device: str, vid: int, pid: int, serial_number: str = "", location: str = ""):
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid = vid, pid
    info.serial_number = serial_number or None
    info.location = location or None
    return info


@pytest.fixture(autouse=True)
def forget_opened() -> Iterator[None]:
    yield
    for spec in list(usb_identity._opened):
        usb_identity.forget(spec)


def test_usb_serial_spec_matches_vid_pid_and_serial() -> None:
    ports = [
        adapter("/dev/ttyUSB0", 0x067B, 0x2303, "PL1", "1-1"),
        adapter("/dev/ttyUSB1", 0x1A86, 0x7523, "CH-A", "1-2"),
        adapter("/dev/ttyUSB2", 0x1A86, 0x7523, "CH-B", "1-3"),
    ]
    assert find_port("usb-serial:1a86:7523/CH-B", ports) == "/dev/ttyUSB2"
    assert find_port("usb-serial:1a86:7523/CH-Z", ports) is None
    assert resolve_port("usb-serial:067b:2303", ports) == "/dev/ttyUSB0"
    with pytest.raises(FileNotFoundError):
        resolve_port("usb-serial:0403:6001", ports)
    assert parse_port("usb-serial:0403:6001/FT1") == UsbMatch(0x0403, 0x6001, "FT1")
    assert parse_port("/dev/ttyUSB0") is None
    with pytest.raises(ValueError):
        parse_port("usb-serial:0403")
    with pytest.raises(ValueError):
        parse_port("usb-path:not a path")


def test_two_adapters_matching_one_spec_is_an_error_naming_both_topology_paths() -> None:
    ports = [
        adapter("/dev/ttyUSB10", *CP210X, location="1-1.3"),
        adapter("/dev/ttyUSB2", *CP210X, location="1-1.2"),
    ]
    with pytest.raises(AmbiguousPort) as caught:
        find_port("usb-serial:10c4:ea60", ports)
    error = caught.value
    assert error.code == "DEVICE_PORT_AMBIGUOUS"
    assert [c.node for c in error.candidates] == ["/dev/ttyUSB2", "/dev/ttyUSB10"]  # natural
    sentence = error.message.render("en")
    assert "usb-path:1-1.2" in sentence and "usb-path:1-1.3" in sentence
    assert "/dev/ttyUSB10" in sentence
    assert "usb-path:1-1.2" in error.message.render("id")
    assert find_port("usb-path:1-1.3", ports) == "/dev/ttyUSB10"


def test_a_multi_interface_adapter_is_named_down_to_its_interface() -> None:
    ports = [adapter(f"/dev/ttyUSB{i}", 0x0403, 0x6011, "FT4", f"1-4:1.{i}") for i in range(4)]
    with pytest.raises(AmbiguousPort):
        find_port("usb-path:1-4", ports)
    assert find_port("usb-path:1-4:1.2", ports) == "/dev/ttyUSB2"


def test_natural_order() -> None:
    names = ["ttyUSB10", "ttyUSB2", "ttyACM0", "ttyUSB1"]
    assert sorted(names, key=natural_key) == ["ttyACM0", "ttyUSB1", "ttyUSB2", "ttyUSB10"]


def test_a_plain_path_that_vanishes_is_found_again_by_the_adapter_seen_at_open(tmp_path) -> None:
    node = tmp_path / "ttyUSB0"
    node.touch()
    before = [adapter(str(node), *CP210X, location="1-1.2")]
    remember_opened(str(node), str(node), before)
    node.unlink()
    after = [
        adapter("/dev/ttyUSB1", *CP210X, location="1-1.2"),
        adapter("/dev/ttyUSB3", *CP210X, location="1-1.4"),  # its twin, elsewhere
    ]
    assert find_port(str(node), after) == "/dev/ttyUSB1"  # same position wins
    moved_port = [adapter("/dev/ttyUSB5", *CP210X, location="1-1.6")]
    assert find_port(str(node), moved_port) == "/dev/ttyUSB5"  # the only one of its model
    twins_elsewhere = [
        adapter("/dev/ttyUSB5", *CP210X, location="1-1.6"),
        adapter("/dev/ttyUSB6", *CP210X, location="1-1.7"),
    ]
    assert find_port(str(node), twins_elsewhere) is None  # not certain: not found
    assert resolve_port(str(node), []) == str(node)  # pyserial then reports it missing


def test_an_adapter_with_a_serial_number_is_followed_by_it(tmp_path) -> None:
    node = tmp_path / "ttyUSB0"
    node.touch()
    remember_opened(str(node), str(node), [adapter(str(node), *CP210X, "SN-A", "1-1.2")])
    node.unlink()
    after = [
        adapter("/dev/ttyUSB1", *CP210X, "SN-B", "1-1.2"),
        adapter("/dev/ttyUSB2", *CP210X, "SN-A", "1-1.3"),
    ]
    assert find_port(str(node), after) == "/dev/ttyUSB2"


def test_port_moved_tells_an_open_device_re_enumerated(monkeypatch, tmp_path) -> None:
    first, second = tmp_path / "ttyUSB0", tmp_path / "ttyUSB1"
    first.touch()
    spec = "usb-serial:10c4:ea60/SN-A"
    listing = [adapter(str(first), *CP210X, "SN-A", "1-1.2")]
    monkeypatch.setattr("serial.tools.list_ports.comports", lambda: listing)
    assert not port_moved(spec)  # never opened
    remember_opened(spec, resolve_port(spec))
    assert not port_moved(spec)
    second.touch()
    listing[:] = [adapter(str(second), *CP210X, "SN-A", "1-1.2")]
    assert port_moved(spec)
    listing[:] = []
    assert not port_moved(spec)  # gone: the presence probe reports that


def test_a_camera_spec_with_no_match_is_unavailable_with_the_drivers_code() -> None:
    with pytest.raises(DeviceUnavailable) as caught:
        resolve_video_device("usb:046d:0000", "DEVICE_FACE_CAMERA_NOT_CONNECTED")
    assert caught.value.code == "DEVICE_FACE_CAMERA_NOT_CONNECTED"
    with pytest.raises(DeviceUnavailable):
        resolve_video_device("usb:046d", "DEVICE_FACE_CAMERA_NOT_CONNECTED")
    assert (
        resolve_video_device("http://127.0.0.1:9/stream.mjpg", "X")
        == "http://127.0.0.1:9/stream.mjpg"
    )
