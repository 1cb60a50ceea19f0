"""What ``rekam serve --simulate`` refuses: anything of a production kit. A simulated kit signs
whatever images its simulator injects, so it must never sign with a real station's key nor
deliver to a real centre.

Production is marked by:
- a centre URL whose host is not a loopback address (the simulated centre runs on loopback);
- a data directory holding station keys without the ``SIMULATION`` marker that ``--simulate``
  writes into every data directory it starts from empty (a real kit's keys never carry it);
- a key backend other than the development file backend (``[identity] backend``): a
  TPM-held key is a real kit's.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from station.config import StationConfig
from station.server import ConfigurationError, is_loopback

MARKER = "SIMULATION"
DEVELOPMENT_KEY_BACKEND = "file"


def _holds_keys(data_dir: Path) -> bool:
    keys = data_dir / "keys"
    return keys.is_dir() and any(keys.iterdir())


def refuse_production(config: StationConfig) -> None:
    """Raise ConfigurationError when ``config`` is a production kit's; otherwise mark its data
    directory as a simulated kit's."""
    url = config.centre.url
    if url and not is_loopback(urlsplit(url).hostname or ""):
        raise ConfigurationError(
            f"--simulate refuses the centre {url}: a simulated kit delivers only "
            "to a centre on loopback. Leave out [centre] url, or give --centre-url of a "
            "simulated centre."
        )
    if config.identity.backend != DEVELOPMENT_KEY_BACKEND:
        raise ConfigurationError(
            f"--simulate refuses the {config.identity.backend!r} key backend: it holds a real "
            "kit's key. Run the simulation with its own configuration."
        )
    data_dir = config.data_dir
    marker = data_dir / MARKER
    if _holds_keys(data_dir) and not marker.exists():
        raise ConfigurationError(
            f"--simulate refuses {data_dir}: it holds the keys of a real kit. Give the "
            "simulation its own --data-dir."
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text("A simulated kit's data: its keys sign simulated records only.\n")
