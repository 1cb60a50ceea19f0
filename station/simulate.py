"""``rekam serve --simulate``: a full simulated kit (and, unless given one, a simulated centre)."""

from __future__ import annotations

import logging
from pathlib import Path

from simulator.centre import CentreServer
from simulator.control import KitControlServer
from simulator.kit import SimulatedKit
from simulator.personas import make_persona
from station.config import StationConfig
from station.server import StationDaemon
from uploader.centre_client import CentreClient

log = logging.getLogger(__name__)


class SimulatedSetup:
    """Starts the simulated devices, their control surface, and optionally a centre."""

    def __init__(
        self, config: StationConfig, control_port: int = 0, decision_delay: float = 0.5
    ) -> None:
        self.kit = SimulatedKit()
        self.control = KitControlServer(self.kit, make_persona, port=control_port).start()
        self.centre: CentreServer | None = None
        config.devices = self.kit.device_specs()
        if not config.centre.url:
            self.centre = CentreServer(
                Path(config.data_dir) / "centre", decision_delay=decision_delay
            )
            self.centre.start()
            config.centre.url = self.centre.url
            config.centre.public_key = str(self.centre.public_key_path)
            log.info("simulated centre at %s", self.centre.url)
        log.info("simulated kit control at %s", self.control.url)

    def provision(self, station_id: str, public_pem: bytes) -> None:
        """Register the station's signing key with the simulated centre this setup runs."""
        if self.centre is not None:
            CentreClient(self.centre.url).provision_station(station_id, public_pem)

    def on_prompt(self, position: str) -> None:
        self.kit.on_prompt(position)

    def close(self) -> None:
        self.control.stop()
        self.kit.close()
        if self.centre is not None:
            self.centre.stop()


def start_simulated_station(
    config: StationConfig, decision_delay: float = 0.5
) -> tuple[SimulatedSetup, StationDaemon, int]:
    """A simulated kit (and centre, unless configured) with the daemon serving in this process.

    Returns the setup, the daemon and the bound gRPC port; the caller stops the daemon, then
    closes the setup.
    """
    setup = SimulatedSetup(config, decision_delay=decision_delay)
    try:
        daemon = StationDaemon(config, on_prompt=setup.on_prompt)
        setup.provision(config.station_id, daemon.keys.public_pem())
        port = daemon.start()
    except BaseException:
        setup.close()
        raise
    return setup, daemon, port
