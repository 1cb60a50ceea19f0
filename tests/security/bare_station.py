"""A station configuration with no devices, for tests that need only the gRPC port."""

from __future__ import annotations

from pathlib import Path

from station.config import StationConfig
from uploader.keys import CentreKeys


def bare_config(directory: Path, **station: object) -> StationConfig:
    """A station with no devices and a centre that is never reached."""
    directory.mkdir(parents=True, exist_ok=True)
    centre_key = directory / "centre.pub.pem"
    centre_key.write_bytes(CentreKeys.generate().public_pem())
    settings: dict[str, object] = {"listen": "127.0.0.1:0", **station}
    config = StationConfig(
        station_id="KIT-BARE-01",
        data_dir=directory / "station",
        **settings,  # type: ignore[arg-type]
    )
    config.centre.url = "http://127.0.0.1:9"
    config.centre.public_key = str(centre_key)
    return config
