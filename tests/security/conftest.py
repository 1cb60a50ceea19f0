"""Kits for the security tests: a bare daemon (no devices, for TLS and auth) and a whole
simulated kit with the metrics endpoint on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bare_station import bare_config

from simulator.personas import make_persona
from station.auth import Role
from station.client import StationClient
from station.config import StationConfig, TlsConfig, UploaderConfig
from station.server import StationDaemon
from station.simulate import SimulatedSetup, start_simulated_station


@dataclass
class SecurityKit:
    daemon: StationDaemon
    setup: SimulatedSetup
    address: str
    operator_token: str
    supervisor_token: str
    technician_token: str
    expired_token: str

    @property
    def data_dir(self) -> Path:
        return self.daemon.config.data_dir

    def client(self, token: str | None = None, language: str = "en") -> StationClient:
        return StationClient(
            self.address, self.operator_token if token is None else token, language
        )

    def present(self, kind: str, seed: int) -> None:
        self.setup.kit.present(make_persona(kind, seed))


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecurityKit]:
    config = StationConfig(
        station_id="KIT-SEC-01",
        data_dir=tmp_path_factory.mktemp("seckit") / "station",
        listen="127.0.0.1:0",
        metrics_listen="127.0.0.1:0",
        uploader=UploaderConfig(delivery_interval_s=0.2, poll_interval_s=0.2, max_backoff_s=2.0),
    )
    setup, daemon, port = start_simulated_station(config, decision_delay=0.2)
    tokens = daemon.tokens
    long_ago = datetime.now(UTC) - timedelta(days=120)
    try:
        yield SecurityKit(
            daemon=daemon,
            setup=setup,
            address=f"127.0.0.1:{port}",
            operator_token=tokens.add("op-ani", Role.OPERATOR),
            supervisor_token=tokens.add("sup-budi", Role.SUPERVISOR),
            technician_token=tokens.add("tech-citra", Role.TECHNICIAN),
            expired_token=tokens.add("op-lama", Role.OPERATOR, expires_days=90, now=long_ago),
        )
    finally:
        daemon.stop()
        setup.close()


@pytest.fixture
def bare_daemon(tmp_path: Path) -> Iterator[Callable[..., StationDaemon]]:
    """Start bare daemons (keyword arguments go to StationConfig); all stop at the end."""
    started: list[StationDaemon] = []

    def start(name: str = "bare", tls: TlsConfig | None = None, **station: object) -> StationDaemon:
        config = bare_config(tmp_path / name, **station)
        if tls is not None:
            config.tls = tls
        daemon = StationDaemon(config)
        started.append(daemon)
        daemon.start()
        return daemon

    yield start
    for daemon in started:
        daemon.stop(grace=0.5)
