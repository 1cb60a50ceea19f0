"""Station configuration: a TOML file, with defaults that suit a kit on loopback."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capture.assess import thresholds_from
from capture.engine import CaptureSettings
from capture.workflow import Thresholds
from drivers.base import Modality
from quality.config import QualityConfig


@dataclass
class CentreConfig:
    url: str = ""
    public_key: str = ""  # path to the centre's X25519 public key (PEM)


@dataclass
class UploaderConfig:
    delivery_interval_s: float = 2.0
    poll_interval_s: float = 30.0
    max_backoff_s: float = 600.0
    max_concurrent_uploads: int = 2
    max_bytes_per_second: float = 0.0  # 0: no bandwidth cap
    transfer_timeout_s: float = 600.0
    min_free_mb: float = 256.0  # refuse new enrollments below this much free disk
    package_retention_days: float = 30.0  # keep settled packages this long (< 0: forever)
    purge_interval_s: float = 3600.0
    sink: str = "centre"  # a name from the rekam.sinks group: centre, s3, bundle ...

    @property
    def min_free_bytes(self) -> int:
        return int(self.min_free_mb * 2**20)

    @property
    def package_retention_s(self) -> float | None:
        return None if self.package_retention_days < 0 else self.package_retention_days * 86400


@dataclass
class TlsConfig:
    """``[station.tls]``: the daemon's certificate and key (PEM paths); with ``client_ca``,
    callers must present a certificate that CA signed (mutual TLS)."""

    cert: str = ""
    key: str = ""
    client_ca: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.cert or self.key)


@dataclass
class StationConfig:
    """Everything the daemon needs to run. See ``docs/configuration.md``."""

    station_id: str = "KIT-0001"
    data_dir: Path = Path("/var/lib/rekam")
    listen: str = "127.0.0.1:50051"
    language: str = "en"
    # Prometheus endpoint, e.g. 127.0.0.1:9464 (loopback only); empty: off.
    metrics_listen: str = ""
    tls: TlsConfig = field(default_factory=TlsConfig)
    centre: CentreConfig = field(default_factory=CentreConfig)
    uploader: UploaderConfig = field(default_factory=UploaderConfig)
    capture: CaptureSettings = field(default_factory=CaptureSettings)
    quality: QualityConfig = field(default_factory=QualityConfig)
    # Relaxed pass thresholds a category's plan may allow (normal ones live in [quality.*]).
    relaxed_thresholds: dict[Modality, int] = field(
        default_factory=lambda: dict(Thresholds().relaxed)
    )
    devices: list[dict[str, Any]] = field(default_factory=list)
    # [sinks.<name>] tables as written; each sink reads and checks its own.
    sinks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> StationConfig:
        """Build from a parsed TOML document; unknown keys are an error."""
        station = dict(data.get("station", {}))
        config = cls()
        _assign(config, station, {"id": "station_id"})
        if "data_dir" in station:
            config.data_dir = Path(station.pop("data_dir"))
        for key in ("listen", "language", "metrics_listen"):
            if key in station:
                setattr(config, key, str(station.pop(key)))
        tls = dict(station.pop("tls", {}))
        known = {name: str(tls.pop(name)) for name in ("cert", "key", "client_ca") if name in tls}
        _reject_unknown("station.tls", tls)
        config.tls = TlsConfig(**known)
        _reject_unknown("station", station)
        config.centre = CentreConfig(**data.get("centre", {}))
        config.uploader = UploaderConfig(**data.get("uploader", {}))
        config.capture = CaptureSettings(**data.get("capture", {}))
        config.quality = QualityConfig.from_mapping(data.get("quality", {}))
        config.relaxed_thresholds = _thresholds(
            data.get("relaxed_thresholds", {}), Thresholds().relaxed
        )
        config.devices = [dict(d) for d in data.get("devices", [])]
        config.sinks = {name: dict(table) for name, table in data.get("sinks", {}).items()}
        extra = set(data) - {
            "station",
            "centre",
            "uploader",
            "capture",
            "thresholds",
            "relaxed_thresholds",
            "quality",
            "devices",
            "sinks",
        }
        _reject_unknown("", dict.fromkeys(extra))
        return config

    @classmethod
    def load(cls, path: Path) -> StationConfig:
        with path.open("rb") as handle:
            return cls.from_mapping(tomllib.load(handle))

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(normal=thresholds_from(self.quality), relaxed=self.relaxed_thresholds)

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])


def _assign(config: StationConfig, section: dict[str, Any], renames: dict[str, str]) -> None:
    for key, attr in renames.items():
        if key in section:
            setattr(config, attr, str(section.pop(key)))


def _thresholds(section: dict[str, Any], defaults: dict[Modality, int]) -> dict[Modality, int]:
    values = dict(defaults)
    for name, value in section.items():
        try:
            modality = Modality(name)
        except ValueError as exc:
            raise ValueError(f"unknown modality {name!r} in thresholds") from exc
        if not 0 <= int(value) <= 100:
            raise ValueError(f"threshold for {name} must be 0..100, got {value}")
        values[modality] = int(value)
    return values


def _reject_unknown(section: str, leftover: dict[str, Any]) -> None:
    if leftover:
        where = f"[{section}] " if section else ""
        raise ValueError(f"unknown configuration keys {where}{', '.join(sorted(leftover))}")
