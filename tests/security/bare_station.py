"""A station configuration with no devices, for tests that need only the gRPC port."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from station.config import StationConfig
from uploader.keys import CentreKeys, public_pem


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
    receipt_key = directory / "centre_receipts.pub.pem"
    receipt_key.write_bytes(public_pem(Ed25519PrivateKey.generate().public_key()))
    config.centre.url = "https://127.0.0.1:9"
    config.centre.public_key = str(centre_key)
    config.centre.receipt_key = receipt_key
    config.centre.tls_pin = "00" * 32
    return config
