"""Driver errors: a category (``reason``), a technical ``detail`` for logs, and a message code
with parameters that the catalogue (area ``devices``) turns into the operator's sentence.

Drivers carry no sentences: ``DeviceUnavailable("no answer", code="DEVICE_...")`` names a
catalogue entry, and ``error.message`` is the ``domain.messages.Message`` to render in the
reader's language.
"""

from __future__ import annotations

from typing import ClassVar

from domain.messages import Message, Param, msg


class DeviceError(Exception):
    """Base class for everything a driver raises.

    ``reason`` is the error's category (stable, for APIs); ``code`` and ``params`` name the
    operator's sentence in the message catalogue; ``detail`` is technical English for logs.
    """

    reason: ClassVar[str] = "DEVICE_ERROR"
    default_code: ClassVar[str] = "DEVICE_ERROR"

    def __init__(
        self,
        detail: str,
        *,
        code: str = "",
        **params: Param,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.params: dict[str, Param] = params

    @property
    def message(self) -> Message:
        """The operator's sentence, as a catalogue code and its parameters."""
        return msg(self.code, **self.params)


class DeviceUnavailable(DeviceError):
    """The device is unplugged, powered off, or its port cannot be opened."""

    reason = "DEVICE_UNAVAILABLE"


class CaptureTimeout(DeviceError):
    """Nothing was presented to the device before the timeout (e.g. no finger on the platen)."""

    reason = "CAPTURE_TIMEOUT"


class CaptureCancelled(DeviceError):
    """The capture was cancelled by the caller."""

    reason = "CAPTURE_CANCELLED"


class ProtocolError(DeviceError):
    """The device answered with bytes that do not follow its protocol and resync failed."""

    reason = "PROTOCOL_ERROR"


class DriverImportError(DeviceError):
    """An installed driver's entry point names a module that fails to import."""

    reason = "DRIVER_IMPORT_FAILED"
    default_code = "DEVICE_DRIVER_IMPORT_FAILED"

    def __init__(self, entry_point: str, module: str, cause: BaseException) -> None:
        error = f"{type(cause).__name__}: {cause}"
        super().__init__(
            f"driver {entry_point!r}: importing {module} failed: {error}",
            entry_point=entry_point,
            module=module,
            error=error,
        )
        self.entry_point = entry_point
        self.module = module
        self.cause = cause
