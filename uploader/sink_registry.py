"""Sink lookup through the ``rekam.sinks`` entry-point group (other delivery sinks plug in here).

Only the sink asked for is imported. A sink whose module fails to import is reported with its
cause, never skipped; an unknown name is answered with the names that are installed.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import Any

from uploader.sink import Sink, SinkContext, SinkPlugin, settings_from

ENTRY_POINT_GROUP = "rekam.sinks"


class UnknownSink(LookupError):
    """No installed package provides a sink by that name."""


class SinkUnavailable(ImportError):
    """The sink is installed but cannot be loaded; the message carries the cause."""


def installed_sinks() -> list[str]:
    """The names of every installed sink, without importing any of them."""
    return sorted({entry.name for entry in entry_points(group=ENTRY_POINT_GROUP)})


def sink_plugin(name: str) -> SinkPlugin:
    """The sink class registered under ``name``, imported now."""
    found = entry_points(group=ENTRY_POINT_GROUP, name=name)
    if not found:
        known = ", ".join(installed_sinks()) or "none"
        raise UnknownSink(f"unknown sink {name!r}; installed sinks: {known}")
    entry = next(iter(found))
    try:
        loaded = entry.load()
    except Exception as exc:
        raise SinkUnavailable(
            f"sink {name!r} ({entry.value}) failed to import: {type(exc).__name__}: {exc}"
        ) from exc
    settings_type = getattr(loaded, "settings_type", None)
    if not dataclasses.is_dataclass(settings_type) or not hasattr(loaded, "from_settings"):
        raise SinkUnavailable(
            f"sink {name!r} ({entry.value}) is not a sink: it needs a settings_type dataclass "
            "and from_settings"
        )
    return loaded


def sink_factory(name: str, table: Mapping[str, Any]) -> Callable[[SinkContext], Sink]:
    """Load the sink ``name`` and read its ``[sinks.<name>]`` table now (so a bad configuration
    is found at start-up); the returned function builds the sink once the station is ready."""
    plugin = sink_plugin(name)
    settings = settings_from(plugin.settings_type, table, ("sinks", name))
    return functools.partial(plugin.from_settings, settings)
