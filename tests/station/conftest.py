"""A whole kit in one process: simulated centre, simulated devices, the daemon on a real port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from simulator.personas import make_persona
from station.auth import Role
from station.client import StationClient
from station.config import StationConfig, UploaderConfig
from station.server import StationDaemon
from station.simulate import SimulatedSetup, start_simulated_station


@dataclass
class Kit:
    daemon: StationDaemon
    setup: SimulatedSetup
    address: str
    operator_token: str
    supervisor_token: str
    technician_token: str

    def client(self, token: str | None = None, language: str = "en") -> StationClient:
        return StationClient(
            self.address, self.operator_token if token is None else token, language
        )

    def present(self, kind: str, seed: int) -> None:
        self.setup.kit.present(make_persona(kind, seed))


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    config = StationConfig(
        station_id="KIT-TEST-01",
        data_dir=tmp_path_factory.mktemp("kit") / "station",
        listen="127.0.0.1:0",
        uploader=UploaderConfig(delivery_interval_s=0.2, poll_interval_s=0.2, max_backoff_s=2.0),
    )
    setup, daemon, port = start_simulated_station(config, decision_delay=0.2)
    tokens = daemon.tokens
    try:
        yield Kit(
            daemon=daemon,
            setup=setup,
            address=f"127.0.0.1:{port}",
            operator_token=tokens.add("op-ani", Role.OPERATOR),
            supervisor_token=tokens.add("sup-budi", Role.SUPERVISOR),
            technician_token=tokens.add("tech-citra", Role.TECHNICIAN),
        )
    finally:
        daemon.stop()
        setup.close()
