"""Driver errors: a category (``reason``), a technical ``detail`` for logs, and a message code
with parameters that the catalogue (area ``devices``) turns into the operator's sentence.

Drivers carry no sentences: ``DeviceUnavailable("no answer", code="DEVICE_...")`` names a
catalogue entry, and ``error.message`` is the ``domain.messages.Message`` to render in the
reader's language.
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

from domain.messages import Message, Param, msg


# transitional: removed once callers use .message
class OperatorText(NamedTuple):
    """One operator-facing sentence in English (default) and Bahasa Indonesia."""

    en: str
    id: str

    def in_language(self, language: str) -> str:
        """The sentence in ``language`` ("en" or "id"); English for anything else."""
        return self.id if language.lower().startswith("id") else self.en


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
        legacy_text: OperatorText | None = None,
        *,
        code: str = "",
        **params: Param,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.params: dict[str, Param] = params
        self._legacy_text = legacy_text  # transitional: removed once callers use .message

    @property
    def message(self) -> Message:
        """The operator's sentence, as a catalogue code and its parameters."""
        return msg(self.code, **self.params)

    # transitional: removed once callers use .message
    @property
    def text(self) -> OperatorText:
        """The sentence in English and Bahasa Indonesia."""
        if self._legacy_text is not None:
            return self._legacy_text
        return OperatorText(self.message.render("en"), self.message.render("id"))


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
