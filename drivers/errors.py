"""Driver errors. Each carries a stable reason code and a sentence an operator can act on."""

from __future__ import annotations

from typing import NamedTuple

from domain.messages import Message, msg


class OperatorText(NamedTuple):
    """One operator-facing sentence in English (default) and Bahasa Indonesia."""

    en: str
    id: str

    def in_language(self, language: str) -> str:
        """The sentence in ``language`` ("en" or "id"); English for anything else."""
        return self.id if language.lower().startswith("id") else self.en


class DeviceError(Exception):
    """Base class for everything a driver raises."""

    reason = "DEVICE_ERROR"

    def __init__(self, detail: str, text: OperatorText | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.text = text or OperatorText(
            en="The device reported an error. Check its cable and try again.",
            id="Perangkat melaporkan kesalahan. Periksa kabelnya lalu coba lagi.",
        )

    @property
    def message(self) -> Message:
        """The operator sentence, as a catalogue message."""
        return msg(self.reason)


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
