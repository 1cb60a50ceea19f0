"""A whole simulated kit for fuzzing the API through a real gRPC port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from simulator.simulate import start_simulated_station
from station.auth import Role
from station.config import StationConfig
from station.server import StationDaemon


@dataclass
class FuzzKit:
    daemon: StationDaemon
    address: str
    operator_token: str
    technician_token: str


@pytest.fixture(scope="module")
def fuzz_kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzKit]:
    config = StationConfig(
        station_id="KIT-FUZZ-01",
        data_dir=tmp_path_factory.mktemp("fuzzkit") / "station",
        listen="127.0.0.1:0",
    )
    setup, daemon, port = start_simulated_station(config, decision_delay=0.2)
    try:
        yield FuzzKit(
            daemon,
            f"127.0.0.1:{port}",
            daemon.tokens.add("op-fuzz", Role.OPERATOR),
            daemon.tokens.add("tech-fuzz", Role.TECHNICIAN),
        )
    finally:
        daemon.stop(grace=0.5)
        setup.close()
