"""``rekam serve --simulate``: a full simulated kit (and, unless given one, a simulated centre).

Registered as the ``simulated`` kit in the station's ``rekam.kits`` entry-point group: the
station builds a :class:`SimulatedSetup` from its configuration and serves the devices it reports.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, cast

from simulator.centre import CentreServer
from simulator.control import KitControlServer
from simulator.kit import SimulatedKit
from simulator.personas import make_persona
from station.config import CentreConfig, StationConfig
from station.kits import attach_kit
from station.server import StationDaemon
from uploader.centre_client import CentreClient

log = logging.getLogger(__name__)


class SimulatedSetup:
    """Starts the simulated devices, their control surface, and optionally a centre.

    The station's ``rekam.kits`` entry ``simulated``: it reports the device specs, the centre
    it runs (if any) and the control URL, as ``station.kits.AttachedKit`` describes.
    """

    def __init__(
        self, config: StationConfig, control_port: int = 0, decision_delay: float = 0.5
    ) -> None:
        self.kit = SimulatedKit()
        self.control = KitControlServer(self.kit, make_persona, port=control_port).start()
        self.centre_server: CentreServer | None = None
        if not config.centre.url:
            self.centre_server = CentreServer(
                Path(config.data_dir) / "centre", decision_delay=decision_delay
            )
            self.centre_server.start()
            log.info("simulated centre at %s", self.centre_server.url)
        log.info("simulated kit control at %s", self.control.url)

    @property
    def devices(self) -> list[dict[str, Any]]:
        return self.kit.device_specs()

    @property
    def centre(self) -> CentreConfig | None:
        """The centre this setup runs, with the pins a kit holds for it."""
        server = self.centre_server
        if server is None:
            return None
        return CentreConfig(
            url=server.url,
            public_key=server.public_key_path,
            receipt_key=server.identity.receipt_public_path,
            tls_pin=server.identity.pin_text,
        )

    @property
    def control_url(self) -> str:
        return self.control.url

    def provision(self, station_id: str, public_pem: bytes) -> None:
        """Enroll the station's signing key at the simulated centre this setup runs, the way a
        real kit is enrolled: the centre's administrator issues a one-time code (here taken
        straight from the simulated centre) and the kit registers its key with it."""
        server = self.centre_server
        if server is not None:
            code = server.issue_enrollment_code(station_id)
            CentreClient(server.url, trust=server.trust).enroll(station_id, code, public_pem)

    def close(self) -> None:
        self.control.stop()
        self.kit.close()
        if self.centre_server is not None:
            self.centre_server.close()


def start_simulated_station(
    config: StationConfig, decision_delay: float = 0.5
) -> tuple[SimulatedSetup, StationDaemon, int]:
    """A simulated kit (and centre, unless configured) with the daemon serving in this process.

    The kit is attached through the station's ``rekam.kits`` seam, as ``rekam serve --simulate``
    does. Returns the setup, the daemon and the bound gRPC port; the caller stops the daemon,
    then closes the setup.
    """
    setup = cast(SimulatedSetup, attach_kit("simulated", config, decision_delay=decision_delay))
    try:
        daemon = StationDaemon(config, simulated=True)
        setup.provision(config.station_id, daemon.keys.public_pem())
        port = daemon.start()
    except BaseException:
        setup.close()
        raise
    return setup, daemon, port
