"""What a delivery sink is: the Sink protocol, the neutral result of one delivery attempt, and
how a sink plug-in builds itself from its ``[sinks.<name>]`` table.

A sink speaks its own protocol (HTTP statuses, S3 error codes, files on a drive) and answers the
delivery worker in one vocabulary: delivered, already held, retry later, rejected, transport
failed. The worker's retry, backoff and dead-letter rules read only that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from domain.settings import Key, parse_settings

if TYPE_CHECKING:
    from uploader.centre_client import CentreClient
    from uploader.keys import StationSigner


class DeliveryOutcome(Enum):
    """How one delivery attempt ended."""

    DELIVERED = "delivered"  # the receiver took the record
    ALREADY_HELD = "already_held"  # the receiver already holds these exact bytes
    RETRY_LATER = "retry_later"  # the receiver refused for now; the same bytes may pass later
    REJECTED = "rejected"  # no retry will help: the record goes to the dead-letter list
    TRANSPORT_FAILED = "transport_failed"  # the receiver could not be reached


@dataclass(frozen=True)
class DeliveryResult:
    """A sink's answer for one record.

    ``detail`` is a line for the record's history, complete in itself; ``reason`` a stable
    machine code (RETRY_LATER and REJECTED); ``retry_after`` the receiver's own wait, in seconds;
    ``receiver_busy`` says the receiver as a whole asked for a rest (the whole link pauses), not
    only this record.
    """

    outcome: DeliveryOutcome
    detail: str
    reason: str = ""
    retry_after: float | None = None
    receiver_busy: bool = False

    @classmethod
    def delivered(cls, detail: str) -> DeliveryResult:
        return cls(DeliveryOutcome.DELIVERED, detail)

    @classmethod
    def already_held(cls, detail: str) -> DeliveryResult:
        return cls(DeliveryOutcome.ALREADY_HELD, detail)

    @classmethod
    def retry_later(
        cls,
        reason: str,
        detail: str,
        *,
        retry_after: float | None = None,
        receiver_busy: bool = False,
    ) -> DeliveryResult:
        return cls(DeliveryOutcome.RETRY_LATER, detail, reason, retry_after, receiver_busy)

    @classmethod
    def rejected(cls, reason: str, detail: str) -> DeliveryResult:
        return cls(DeliveryOutcome.REJECTED, detail, reason)

    @classmethod
    def transport_failed(cls, detail: str) -> DeliveryResult:
        return cls(DeliveryOutcome.TRANSPORT_FAILED, detail)


class Sink(Protocol):
    """Where packages go. ``deliver`` is idempotent by record id and content hash (a copy the
    receiver already holds answers ALREADY_HELD) and reports every failure, a network one
    included, as a :class:`DeliveryResult` rather than raising."""

    name: str

    def deliver(self, record_id: str, data: bytes, sha256: str) -> DeliveryResult: ...


@dataclass(frozen=True)
class SinkContext:
    """What the station hands a sink plug-in as it builds the sink."""

    centre: CentreClient  # the station's centre client (one cancel, one set of counters)
    station_id: str
    keys: StationSigner  # the station's signing key (bundles sign their manifest)


class SinkPlugin(Protocol):
    """What a ``rekam.sinks`` entry point names: a sink class with its settings dataclass."""

    settings_type: type[Any]

    def from_settings(self, settings: Any, context: SinkContext) -> Sink: ...


class InvalidSinkSettings(ValueError):
    """A ``[sinks.<name>]`` table the sink cannot be built from; the message says why."""


def settings_from(settings_type: type[Any], table: Mapping[str, Any], key: Key = ()) -> Any:
    """An instance of the dataclass ``settings_type`` from a configuration table, parsed the way
    every settings table is (``domain.settings``): unknown keys, missing keys and values of the
    wrong type are refused, as is whatever the dataclass's own ``__post_init__`` refuses."""
    try:
        return parse_settings(settings_type, table, key)
    except ValueError as exc:  # SettingsError included
        raise InvalidSinkSettings(str(exc)) from exc
