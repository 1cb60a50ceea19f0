"""Someone else's reading of the protocol: pyfingerprint 1.5 against the simulated modules.

pyfingerprint (bastianraschke/pyfingerprint, pure Python over pyserial) was written for and
used on real ZFM-20 / R30x modules. Here it opens the simulated module's pty like a real
``/dev/ttyUSB0``, verifies the password, reads the system parameters, polls GenImg with and
without a finger and downloads the image (UpImage): the image it assembles must be exactly what
the simulated resident presented, and what the driver downloads from the same buffer.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image
from pyfingerprint.pyfingerprint import PyFingerprint

from drivers.r30x import R30xFingerprintScanner
from simulator.devices.r30x import SimulatedR30x

pytestmark = pytest.mark.timeout(60)

FINGER = np.random.default_rng(31).integers(0, 256, (300, 280), dtype=np.uint8)
UP_IMAGE, END_DATA = 0x0A, 0x08


@pytest.fixture
def client() -> Iterator:
    """pyfingerprint sessions, closed at the end (its destructor is not relied on)."""
    opened: list[PyFingerprint] = []

    def connect(sim: SimulatedR30x, baudrate: int = 57600, password: int = 0) -> PyFingerprint:
        session = PyFingerprint(sim.port, baudrate, 0xFFFFFFFF, password)
        opened.append(session)
        return session

    yield connect
    for session in opened:
        session._PyFingerprint__serial.close()


def test_pyfingerprint_verifies_the_password_and_reads_the_parameters(start_module, client) -> None:
    sim = start_module("R307")
    session = client(sim)
    assert session.verifyPassword() is True
    status, system_id, capacity, level, address, size_code, baud_n = session.getSystemParameters()
    assert (system_id, capacity, level, address) == (0, 1000, 3, 0xFFFFFFFF)
    assert (size_code, baud_n) == (2, 6)
    assert session.getMaxPacketSize() == 128
    assert session.getBaudRate() == 57600
    assert status & 0x08 == 0  # no image in the buffer yet


def test_pyfingerprint_sees_a_wrong_password(start_module, client) -> None:
    sim = start_module("R307", password=0x1234)
    assert client(sim, password=0x9999).verifyPassword() is False
    assert client(sim, password=0x1234).verifyPassword() is True


def test_pyfingerprint_downloads_what_the_resident_presented(
    start_module, client, platen, tmp_path
) -> None:
    sim = start_module("R307")
    session = client(sim)
    assert session.verifyPassword()
    assert session.readImage() is False  # GenImg: no finger on the glass
    platen["image"] = FINGER
    assert session.readImage() is True
    assert session.getSystemParameters()[0] & 0x08  # the image buffer holds an image
    target = tmp_path / "finger.png"
    session.downloadImage(str(target))
    downloaded = np.asarray(Image.open(target))
    assert downloaded.shape == (288, 256)
    assert np.array_equal(downloaded, sim.sensor_image(FINGER) * 17)
    session._PyFingerprint__serial.close()

    driver = R30xFingerprintScanner("fp", sim.port, packet_timeout=0.5)
    try:
        driver.open()
        assert np.array_equal(driver.upload(), downloaded)  # the same buffer, another reader
    finally:
        driver.close()


def test_pyfingerprint_reads_the_r503_image_packets(start_module, client, platen) -> None:
    """pyfingerprint's downloadImage draws a fixed 256x288 (its pull request #117 adds the
    192x192 of capacitive sensors); its packet reader takes the R503's image as it is."""
    sim = start_module("R503")
    session = client(sim)
    assert session.verifyPassword()
    assert session.getStorageCapacity() == 200
    platen["image"] = FINGER
    assert session.readImage() is True
    session._PyFingerprint__writePacket(0x01, (UP_IMAGE,))
    kind, payload = session._PyFingerprint__readPacket()
    assert (kind, payload[0]) == (0x07, 0x00)
    data: list[int] = []
    for _ in range(1000):
        kind, payload = session._PyFingerprint__readPacket()
        assert len(payload) == 128  # the module's packet size, 192*192/2 being a multiple
        data += payload
        if kind == END_DATA:
            break
    packed = np.array(data, dtype=np.uint8)
    levels = np.stack([packed >> 4, packed & 0x0F], axis=1).reshape(192, 192)
    assert np.array_equal(levels, sim.sensor_image(FINGER))


def test_pyfingerprint_sets_the_speed_for_the_next_startup(start_module, client) -> None:
    """R307 manual: the module answers with the old configuration, writes the new one to
    flash, and runs with it "at the next startup"."""
    sim = start_module("R307")
    session = client(sim)
    assert session.verifyPassword()
    assert session.setSystemParameter(4, 12) is True  # N = 12: 115200 baud
    assert session.getBaudRate() == 115200  # stored, while still talking at 57600
    session._PyFingerprint__serial.close()
    sim.unplug()
    sim.plug()  # the next startup
    assert client(sim, baudrate=115200).verifyPassword() is True


def test_pyfingerprint_meets_the_r308_as_reported(start_module, client, platen) -> None:
    """bastianraschke/pyfingerprint issue #44: on an R308 getSystemParameters raises
    "Communication error" while readImage works. The R308 model must give the same."""
    sim = start_module("R308")
    session = client(sim)
    assert session.verifyPassword()
    with pytest.raises(Exception, match="Communication error"):
        session.getSystemParameters()
    platen["image"] = FINGER
    assert session.readImage() is True
