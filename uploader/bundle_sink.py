"""The ``bundle`` sink: every record delivered as its own signed bundle into a directory (a
mounted USB drive, a share carried or synced to the centre), in the USB export format, so the
centre imports it exactly like an exported bundle.

One bundle per record, ``rekam-<station>-<record_id>/``: a bundle already there with the same
bytes answers "already held", with other bytes a permanent RECORD_CONFLICT. A missing directory
(the drive is not mounted) or a failed write is a transport failure: the link rests and retries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from uploader.bundle import BundleError, open_bundle, write_bundle
from uploader.keys import StationSigner
from uploader.sink import DeliveryResult, SinkContext


@dataclass(frozen=True)
class BundleSettings:
    """``[sinks.bundle]``: the directory bundles are written into."""

    directory: str

    def __post_init__(self) -> None:
        if not self.directory:
            raise ValueError("set directory to the folder bundles go to, e.g. a mounted USB drive")


class BundleSink:
    """Writes one signed bundle per record into ``directory``."""

    name = "bundle"
    settings_type = BundleSettings

    @classmethod
    def from_settings(cls, settings: BundleSettings, context: SinkContext) -> BundleSink:
        return cls(Path(settings.directory), context.station_id, context.keys)

    def __init__(self, directory: Path, station_id: str, keys: StationSigner) -> None:
        self.directory = directory
        self.station_id = station_id
        self.keys = keys

    def bundle_path(self, record_id: str) -> Path:
        return self.directory / f"rekam-{self.station_id}-{record_id}"

    def deliver(self, record_id: str, data: bytes, sha256: str) -> DeliveryResult:
        """Write the record's bundle unless the directory already holds it."""
        path = self.bundle_path(record_id)
        try:
            if not self.directory.is_dir():
                return DeliveryResult.transport_failed(
                    f"{self.directory} is not a directory (is the drive mounted?)"
                )
            if path.exists():
                return self._answer_existing(path, record_id, sha256)
            write_bundle(self.directory, path.name, self.station_id, self.keys, [(record_id, data)])
        except (OSError, BundleError) as exc:
            return DeliveryResult.transport_failed(f"writing {path}: {exc}")
        return DeliveryResult.delivered(f"bundle {path}")

    def _answer_existing(self, path: Path, record_id: str, sha256: str) -> DeliveryResult:
        try:
            bundle = open_bundle(path, {self.station_id: self.keys.public_key})
        except BundleError as exc:
            return DeliveryResult.rejected("BUNDLE_UNREADABLE", f"{path}: {exc}")
        held = {entry.record_id: entry.sha256 for entry in bundle.entries}
        if held.get(record_id) == sha256:
            return DeliveryResult.already_held(f"bundle {path} holds these exact bytes")
        return DeliveryResult.rejected("RECORD_CONFLICT", f"bundle {path} holds other content")
