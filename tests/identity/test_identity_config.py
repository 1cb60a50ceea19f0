"""The rogue (or careless) set-up: a kit served with file keys, or with a TPM it cannot reach."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from simulator.devices.swtpm import SoftwareTpm
from station.cli import main
from station.config import CentreConfig, IdentityConfig, StationConfig
from station.server import ConfigurationError, StationDaemon
from uploader.keys import STATION_PRIVATE_FILE, CentreKeys, public_pem
from uploader.tpm import SIGNING_KEY_FILE

# A centre the kit trusts but never reaches in these tests: its keys and a TLS pin.
UNREACHED_PIN = "00" * 32


def _centre_keys(tmp_path: Path) -> tuple[Path, Path]:
    centre_key = tmp_path / "centre.pem"
    centre_key.write_bytes(CentreKeys.generate().public_pem())
    receipt_key = tmp_path / "centre_receipts.pub.pem"
    receipt_key.write_bytes(public_pem(Ed25519PrivateKey.generate().public_key()))
    return centre_key, receipt_key


def _config(tmp_path: Path, identity: IdentityConfig) -> StationConfig:
    centre_key, receipt_key = _centre_keys(tmp_path)
    return StationConfig(
        station_id="KIT-ID-02",
        data_dir=tmp_path / "station",
        listen="127.0.0.1:0",
        centre=CentreConfig(
            url="https://127.0.0.1:9",
            public_key=centre_key,
            receipt_key=receipt_key,
            tls_pin=UNREACHED_PIN,
        ),
        identity=identity,
    )


def _config_file(tmp_path: Path, backend: str) -> Path:
    centre_key, receipt_key = _centre_keys(tmp_path)
    path = tmp_path / "rekam.toml"
    path.write_text(
        f'[station]\ndata_dir = "{tmp_path / "station"}"\nlisten = "127.0.0.1:0"\n'
        f'[centre]\nurl = "https://127.0.0.1:9"\npublic_key = "{centre_key}"\n'
        f'receipt_key = "{receipt_key}"\ntls_pin = "{UNREACHED_PIN}"\n'
        f'[identity]\nbackend = "{backend}"\n'
    )
    return path


def test_rekam_serve_refuses_file_keys_without_simulate(tmp_path, capsys) -> None:
    status = main(["serve", "--config", str(_config_file(tmp_path, "file"))])
    assert status == 2
    assert 'backend = "tpm"' in capsys.readouterr().err
    assert not (tmp_path / "station" / "keys" / STATION_PRIVATE_FILE).exists()


def test_file_keys_warn_at_every_start(tmp_path, caplog) -> None:
    config = _config(tmp_path, IdentityConfig(backend="file"))
    for _ in range(2):
        with caplog.at_level(logging.WARNING, logger="station.identity"):
            caplog.clear()
            StationDaemon(config).stop(grace=0.1)
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert any("development" in r.getMessage().lower() for r in warnings)


def test_the_tpm_backend_keeps_no_private_key_file(tmp_path, software_tpm: SoftwareTpm) -> None:
    config = _config(tmp_path, IdentityConfig(backend="tpm", tcti=software_tpm.tcti))
    daemon = StationDaemon(config)
    try:
        assert daemon.keys.algorithm == "ecdsa-p256-sha256"
    finally:
        daemon.stop(grace=0.1)
    keys = sorted(p.name for p in (tmp_path / "station" / "keys").iterdir())
    assert SIGNING_KEY_FILE in keys
    assert STATION_PRIVATE_FILE not in keys and "journal.key" not in keys


def test_an_unreachable_tpm_stops_the_daemon_with_a_reason(tmp_path) -> None:
    emulator = SoftwareTpm(tmp_path / "gone").start()
    tcti = emulator.tcti
    emulator.stop()
    with pytest.raises(ConfigurationError, match="cannot use the TPM"):
        StationDaemon(_config(tmp_path, IdentityConfig(backend="tpm", tcti=tcti)))


def test_an_unknown_backend_is_refused_when_the_file_is_read(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["serve", "--config", str(_config_file(tmp_path, "hsm"))])
    assert ended.value.code == 2
    assert "[identity] backend: must be one of tpm, file" in capsys.readouterr().err
