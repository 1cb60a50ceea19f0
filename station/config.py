"""Station configuration: a TOML file, with defaults that suit a kit on loopback.

Every section is parsed by ``domain.settings`` into the dataclasses below; what each key means
is in ``docs/configuration.md``."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar

from capture.assess import final_thresholds_from, thresholds_from
from capture.engine import CaptureSettings
from capture.workflow import Thresholds
from domain.messages import languages, normalise_language
from domain.settings import Settings, SettingsError, parse_settings
from drivers.base import Modality
from quality.config import QualityConfig


@dataclass
class CentreConfig:
    """``[centre]``: where records go, the key they are sealed for, and what the kit pins to
    know it talks to that centre (``uploader.centre_trust``)."""

    url: str = ""
    public_key: Path | None = None  # the centre's ML-KEM-768 + X25519 public key (PEM)
    receipt_key: Path | None = None  # the centre's Ed25519 receipt-signing public key (PEM)
    tls_pin: str = ""  # sha256/<base64> of the centre's TLS key, or its certificate's path
    client_cert: Path | None = None  # this kit's TLS client certificate (mutual TLS)
    client_key: Path | None = None


IDENTITY_BACKENDS = ("tpm", "file")


def _identity_backend(value: str) -> str:
    if value not in IDENTITY_BACKENDS:
        raise ValueError(f"must be one of {', '.join(IDENTITY_BACKENDS)}, got {json.dumps(value)}")
    return value


@dataclass
class IdentityConfig:
    """``[identity]``: where the station's signing key and journal key live.

    ``tpm``: in the kit's TPM 2.0, reached through the TSS TCTI ``tcti`` (``rekam serve``
    requires it). ``file``: plain key files, for development and simulated kits only (refused by
    ``rekam serve`` without ``--simulate``, and a WARNING at every start)."""

    backend: Annotated[str, _identity_backend] = "file"
    tcti: str = "device:/dev/tpmrm0"


@dataclass
class UploaderConfig:
    """``[uploader]``: delivery of sealed packages from the outbox."""

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
class AuditConfig:
    """``[audit]``: how often the daemon signs the audit head with the station key (it also
    signs at every seal and when it stops)."""

    sign_interval_s: float = 300.0


@dataclass
class LimitsConfig:
    """``[limits]``: what one caller may hold or send."""

    streams_per_token: int = 4  # open streaming calls per token; the excess: RESOURCE_EXHAUSTED
    failed_logins_per_peer: int = 20  # bad-token calls per peer address per window
    failed_login_window_s: float = 60.0
    max_request_kb: int = 4096  # the largest request message accepted
    proof_photo_max_kb: int = 2048  # an exception's proof photo (JPEG or PNG)
    approval_ttl_s: float = 120.0  # how long a supervisor's approval waits to be used


def _under_no_system_path(roots: list[Path]) -> list[Path]:
    from station.export_paths import refuse_system_root

    for root in roots:
        refuse_system_root(root)
    return roots


@dataclass
class ExportConfig:
    """``[export]``: the removable-media mount points bundles may be written under."""

    roots: Annotated[list[Path], _under_no_system_path] = field(
        default_factory=lambda: [Path("/media"), Path("/run/media")]
    )


@dataclass(frozen=True)
class TlsConfig:
    """``[station.tls]``: the daemon's certificate and key (PEM paths); with ``client_ca``,
    callers must present a certificate that CA signed (mutual TLS)."""

    cert: Path | None = None
    key: Path | None = None
    client_ca: Path | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.cert or self.key)


def listen_host(listen: str) -> str:
    """The host of a ``host:port`` listen address (brackets of an IPv6 address removed)."""
    return listen.rsplit(":", 1)[0].strip("[]")


def listen_port(listen: str) -> int:
    """The port of a ``host:port`` listen address."""
    return int(listen.rsplit(":", 1)[1])


@dataclass(frozen=True)
class WebConfig:
    """``[station.web]``: gRPC-Web and MJPEG previews for browser and Electron apps, served on
    loopback (``listen`` empty: off). Only pages from ``allowed_origins`` may call it."""

    listen: str = ""  # e.g. 127.0.0.1:50080 (loopback only)
    allowed_origins: list[str] = field(default_factory=list)  # e.g. ["http://127.0.0.1:8080"]
    preview_url_ttl_s: float = 60.0  # how long a signed preview URL may be opened
    max_connections: int = 32  # connections served at once (each a thread)

    @property
    def enabled(self) -> bool:
        return bool(self.listen)

    @property
    def host(self) -> str:
        return listen_host(self.listen)

    @property
    def port(self) -> int:
        return listen_port(self.listen)


def _catalogue_language(tag: str) -> str:
    """``tag`` as a language of the message catalogue ("id-ID" -> "id")."""
    language = normalise_language(tag)
    if language not in languages():
        available = ", ".join(languages())
        raise ValueError(f"no sentences in {json.dumps(tag)}; the catalogue has {available}")
    return language


def _percent(value: int) -> int:
    if not 0 <= value <= 100:
        raise ValueError(f"a threshold is 0..100, got {value}")
    return value


def _filled(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value


@dataclass(frozen=True)
class DeviceEntry:
    """One ``[[devices]]`` table: a device the named driver opens at ``port``."""

    id: Annotated[str, _filled]
    driver: Annotated[str, _filled]  # a name in the ``rekam.drivers`` entry-point group
    port: Annotated[str, _filled]
    options: dict[str, Any] = field(default_factory=dict)  # the driver's keyword arguments


def _device_specs(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each ``[[devices]]`` table checked as a DeviceEntry; ids must be unique."""
    specs: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        device = parse_settings(DeviceEntry, entry, (index,))
        if any(spec["id"] == device.id for spec in specs):
            raise SettingsError((index, "id"), f"a second device with id {json.dumps(device.id)}")
        specs.append(dataclasses.asdict(device))
    return specs


def _in_station(key: str) -> dict[str, str]:
    return {"key": f"station.{key}"}


@dataclass
class StationConfig(Settings):
    """Everything the daemon needs to run. See ``docs/configuration.md``."""

    RETIRED_KEYS: ClassVar[dict[str, str]] = {
        "thresholds": "the [thresholds] table is not read; set a modality's pass threshold as "
        "[quality.<modality>] min_score, e.g. [quality.fingerprint] min_score = 40",
    }

    station_id: str = field(default="KIT-0001", metadata=_in_station("id"))
    data_dir: Path = field(default=Path("/var/lib/rekam"), metadata=_in_station("data_dir"))
    listen: str = field(default="127.0.0.1:50051", metadata=_in_station("listen"))
    # The operators' language when a caller asks for none the catalogue has.
    language: Annotated[str, _catalogue_language] = field(
        default="en", metadata=_in_station("language")
    )
    # Prometheus endpoint, e.g. 127.0.0.1:9464 (loopback only); empty: off.
    metrics_listen: str = field(default="", metadata=_in_station("metrics_listen"))
    tls: TlsConfig = field(default_factory=TlsConfig, metadata=_in_station("tls"))
    web: WebConfig = field(default_factory=WebConfig, metadata=_in_station("web"))
    centre: CentreConfig = field(default_factory=CentreConfig)
    identity: IdentityConfig = field(default_factory=IdentityConfig)
    uploader: UploaderConfig = field(default_factory=UploaderConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    capture: CaptureSettings = field(default_factory=CaptureSettings)
    quality: QualityConfig = field(default_factory=QualityConfig)
    # Relaxed pass thresholds a category's plan may allow (normal ones live in [quality.*]).
    relaxed_thresholds: dict[Modality, Annotated[int, _percent]] = field(
        default_factory=lambda: dict(Thresholds().relaxed)
    )
    devices: Annotated[list[dict[str, Any]], _device_specs] = field(default_factory=list)
    # The raw [sinks.<name>] tables; each sink's plug-in checks its own table.
    sinks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> StationConfig:
        """The configuration in the TOML file at ``path``; a SettingsError names the file."""
        try:
            with path.open("rb") as handle:
                data = tomllib.load(handle)
        except OSError as exc:
            raise SettingsError((), f"cannot read it: {exc.strerror}", path) from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError((), f"not valid TOML: {exc}", path) from None
        try:
            return cls.from_mapping(data)
        except SettingsError as error:
            raise error.in_file(path) from None

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(
            normal=thresholds_from(self.quality),
            relaxed=self.relaxed_thresholds,
            final=final_thresholds_from(self.quality),
        )

    @property
    def host(self) -> str:
        return listen_host(self.listen)

    @property
    def port(self) -> int:
        return listen_port(self.listen)
