"""Kits for the security tests: a bare daemon (no devices, for TLS and auth) and a whole
simulated kit with the metrics endpoint on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bare_station import bare_config
from simkit import Kit, running_kit

from station.auth import Role
from station.config import TlsConfig
from station.server import StationDaemon


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    """A whole kit with the metrics endpoint on, and an operator token that has expired."""
    data_dir = tmp_path_factory.mktemp("seckit") / "station"
    with running_kit("KIT-SEC-01", data_dir, metrics_listen="127.0.0.1:0") as kit:
        long_ago = datetime.now(UTC) - timedelta(days=120)
        kit.extra_tokens["expired"] = kit.daemon.tokens.add(
            "op-lama", Role.OPERATOR, expires_days=90, now=long_ago
        )
        yield kit


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
