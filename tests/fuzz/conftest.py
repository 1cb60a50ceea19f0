"""A whole simulated kit for fuzzing the API through a real gRPC port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from station.auth import Role
from station.config import StationConfig
from station.server import StationDaemon
from station.simulate import SimulatedSetup


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
    setup = SimulatedSetup(config, decision_delay=0.2)
    daemon = StationDaemon(config, on_prompt=setup.on_prompt)
    setup.provision(config.station_id, daemon.keys.public_pem())
    port = daemon.start()
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
