"""Driver lookup through the ``rekam.drivers`` entry-point group (vendor drivers plug in here).

Only the driver a spec names is imported; one whose import fails raises DriverImportError with
the entry point, the module and the cause, so a broken package is reported as broken, never as
missing.

A device spec is what the station's configuration holds for one device::

    {"id": "fingerprint-0", "driver": "r30x", "port": "/dev/ttyUSB0", "options": {...}}

Options named ``expect_<setting>`` are not the driver's: they become ``Device.expected``, what
the diagnostics compare the identified device with.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

from drivers.base import Device, split_expectations
from drivers.errors import DriverImportError

ENTRY_POINT_GROUP = "rekam.drivers"


class UnknownDriver(LookupError):
    """The spec names a driver that no installed package provides."""


class InvalidDeviceSpec(ValueError):
    """The spec is missing a field or carries options the driver does not take."""


def driver_names() -> list[str]:
    """The names of every installed driver, without importing any."""
    return sorted({entry.name for entry in entry_points(group=ENTRY_POINT_GROUP)})


def driver_class(name: str) -> type[Device]:
    """The class registered under ``name``, importing that driver alone.

    UnknownDriver (naming the installed ones) when no package provides ``name``;
    DriverImportError when its module fails to import.
    """
    found = entry_points(group=ENTRY_POINT_GROUP, name=name)
    entry = next(iter(found), None)
    if entry is None:
        known = ", ".join(driver_names()) or "none"
        raise UnknownDriver(f"unknown device driver {name!r}; installed drivers: {known}")
    return _load(entry)


def available_drivers() -> dict[str, type[Device]]:
    """Every installed driver class by name (imports them all; DriverImportError on the first
    that fails)."""
    return {name: driver_class(name) for name in driver_names()}


def _load(entry: EntryPoint) -> type[Device]:
    try:
        loaded = entry.load()
    except Exception as error:  # whatever the vendor module raises is the cause to report
        raise DriverImportError(entry.name, entry.module, error) from error
    if not (isinstance(loaded, type) and issubclass(loaded, Device)):
        raise UnknownDriver(f"driver {entry.name!r} ({entry.value}) is not a Device class")
    return loaded


def create_device(spec: dict[str, Any]) -> Device:
    """A driver instance (not yet opened) for ``spec``."""
    missing = [key for key in ("id", "driver", "port") if not spec.get(key)]
    if missing:
        raise InvalidDeviceSpec(f"device spec lacks {', '.join(missing)}: {spec!r}")
    cls = driver_class(str(spec["driver"]))
    options, expected = split_expectations(dict(spec.get("options") or {}))
    try:
        device = cls(str(spec["id"]), str(spec["port"]), **options)
    except TypeError as error:
        raise InvalidDeviceSpec(
            f"device {spec['id']!r} (driver {spec['driver']!r}): {error}"
        ) from None
    device.expected = expected
    return device
