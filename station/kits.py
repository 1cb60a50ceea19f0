"""Kit plug-ins: a package that assembles a whole kit by itself and hands the daemon its devices.

A kit registers a factory in the ``rekam.kits`` entry-point group; ``rekam serve --simulate``
attaches the ``simulated`` one (from the ``simulator`` package). The factory is called with the
:class:`StationConfig` (and the serve command's options, e.g. ``control_port``), starts its
devices and returns an :class:`AttachedKit`.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any, Protocol

from station.config import CentreConfig, StationConfig

KITS_GROUP = "rekam.kits"


class AttachedKit(Protocol):
    """A running kit as the daemon sees it."""

    @property
    def devices(self) -> list[dict[str, Any]]:
        """Device specs, as ``[[devices]]`` tables in the configuration would hold them."""

    @property
    def centre(self) -> CentreConfig | None:
        """The ``[centre]`` of a centre the kit runs itself (URL, sealing key, the pins);
        None: the configured one."""

    @property
    def control_url(self) -> str:
        """Where the kit is steered (reported in ``--ready-file``); empty when it cannot be."""

    def provision(self, station_id: str, public_pem: bytes) -> None:
        """The daemon's signing key, once it is loaded: a kit that runs its own centre enrolls
        it there (with a one-time code, as a real kit does)."""

    def close(self) -> None:
        """Stop every device (and the kit's centre)."""


class KitNotFound(LookupError):
    """No installed package registers a kit of that name."""


def attach_kit(name: str, config: StationConfig, **options: Any) -> AttachedKit:
    """Start the kit plug-in ``name`` and point ``config`` at its devices (and centre)."""
    found = entry_points(group=KITS_GROUP, name=name)
    if not found:
        raise KitNotFound(f"no kit named {name!r} is installed (entry-point group {KITS_GROUP})")
    factory = next(iter(found)).load()
    kit: AttachedKit = factory(config, **options)
    config.devices = list(kit.devices)
    if kit.centre is not None:
        config.centre = kit.centre
    return kit
