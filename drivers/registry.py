"""Driver lookup through the ``rekam.drivers`` entry-point group (vendor drivers plug in here).

A device spec is what the station's configuration holds for one device::

    {"id": "fingerprint-0", "driver": "r30x", "port": "/dev/ttyUSB0", "options": {...}}
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from drivers.base import Device

ENTRY_POINT_GROUP = "rekam.drivers"


class UnknownDriver(LookupError):
    """The spec names a driver that no installed package provides."""


class InvalidDeviceSpec(ValueError):
    """The spec is missing a field or carries options the driver does not take."""


def available_drivers() -> dict[str, type[Device]]:
    """Every installed driver class by name; a driver that fails to import is left out."""
    drivers: dict[str, type[Device]] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry.load()
        except Exception:  # a broken vendor package must not take the others down
            continue
        if isinstance(loaded, type) and issubclass(loaded, Device):
            drivers[entry.name] = loaded
    return drivers


def driver_class(name: str) -> type[Device]:
    """The class registered under ``name``; UnknownDriver names the known ones."""
    drivers = available_drivers()
    try:
        return drivers[name]
    except KeyError:
        known = ", ".join(sorted(drivers)) or "none"
        raise UnknownDriver(f"unknown device driver {name!r}; installed drivers: {known}") from None


def create_device(spec: dict[str, Any]) -> Device:
    """A driver instance (not yet opened) for ``spec``."""
    missing = [key for key in ("id", "driver", "port") if not spec.get(key)]
    if missing:
        raise InvalidDeviceSpec(f"device spec lacks {', '.join(missing)}: {spec!r}")
    cls = driver_class(str(spec["driver"]))
    options = dict(spec.get("options") or {})
    try:
        return cls(str(spec["id"]), str(spec["port"]), **options)
    except TypeError as error:
        raise InvalidDeviceSpec(
            f"device {spec['id']!r} (driver {spec['driver']!r}): {error}"
        ) from None
