"""What several test folders share: a whole simulated kit served in this process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from simulator.demo import OperatorClient
from simulator.personas import make_persona
from simulator.simulate import SimulatedSetup, start_simulated_station
from station.auth import Role
from station.config import StationConfig, UploaderConfig
from station.server import StationDaemon


@dataclass
class Kit:
    """A running kit: the daemon, its simulated devices and centre, and tokens per role."""

    daemon: StationDaemon
    setup: SimulatedSetup
    address: str
    operator_token: str
    supervisor_token: str
    technician_token: str
    extra_tokens: dict[str, str] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return self.daemon.config.data_dir

    def client(self, token: str | None = None, language: str = "en") -> OperatorClient:
        """A client whose ``capture`` first tells the resident what to present, through the
        kit's control surface, as the operator does."""
        return OperatorClient(
            self.setup.control_url,
            self.address,
            self.operator_token if token is None else token,
            language,
        )

    def present(self, kind: str, seed: int) -> None:
        self.setup.kit.present(make_persona(kind, seed))


@contextmanager
def running_kit(station_id: str, data_dir: Path, **station: object) -> Iterator[Kit]:
    """Start a kit with quick delivery and status polling; stop it on exit."""
    config = StationConfig(
        station_id=station_id,
        data_dir=data_dir,
        listen="127.0.0.1:0",
        uploader=UploaderConfig(delivery_interval_s=0.2, poll_interval_s=0.2, max_backoff_s=2.0),
        **station,
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
