from __future__ import annotations

import threading

import pytest

from simulator.centre import CentreServer
from uploader.keys import StationKeys, load_centre_public_key


@pytest.fixture
def centre(tmp_path):
    server = CentreServer(tmp_path / "centre", decision_delay=0.05).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def station_keys() -> StationKeys:
    return StationKeys.generate()


@pytest.fixture
def centre_public(centre):
    return load_centre_public_key(centre.public_key_path)


@pytest.fixture(autouse=True)
def no_leftover_threads():
    """Every server and worker a test starts must be stopped by the end of the test."""
    before = set(threading.enumerate())
    yield
    leftovers = [
        t for t in threading.enumerate()
        if t not in before and t.is_alive() and t.name.startswith(("rekam-", "centre-"))
    ]
    assert not leftovers, f"threads still running: {[t.name for t in leftovers]}"
