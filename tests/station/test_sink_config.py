"""``[uploader] sink`` names a plug-in of ``rekam.sinks``; its keys live in ``[sinks.<name>]``.
``build_uploader`` builds the sink from that table or refuses the configuration with a sentence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from station.config import StationConfig
from station.server import ConfigurationError, build_uploader
from uploader.bundle_sink import BundleSink
from uploader.keys import StationKeys, public_pem
from uploader.outbox import Outbox
from uploader.s3 import S3Sink


@pytest.fixture
def outbox(tmp_path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox")
    yield box
    box.close()


def config_for(sink: str, sinks: dict, directory: Path | None = None) -> StationConfig:
    """A kit delivering through ``sink``; with ``directory``, a centre it can pin (never
    contacted)."""
    centre: dict[str, str] = {"url": "https://127.0.0.1:9"}
    if directory is not None:
        receipt_key = directory / "centre_receipts.pub.pem"
        receipt_key.write_bytes(public_pem(Ed25519PrivateKey.generate().public_key()))
        centre.update(receipt_key=str(receipt_key), tls_pin="00" * 32)
    return StationConfig.from_mapping(
        {"station": {"id": "KIT-09"}, "centre": centre, "uploader": {"sink": sink}, "sinks": sinks}
    )


def test_sink_tables_are_kept_as_written():
    config = config_for("s3", {"s3": {"bucket": "landing", "prefix": "kits/"}, "bundle": {}})
    assert config.uploader.sink == "s3"
    assert config.sinks == {"s3": {"bucket": "landing", "prefix": "kits/"}, "bundle": {}}
    assert StationConfig.from_mapping({}).sinks == {}


def test_each_named_sink_is_built_from_its_table(outbox, tmp_path):
    keys = StationKeys.generate()
    centre = build_uploader(outbox, config_for("centre", {}, tmp_path), keys)
    assert centre.sink is centre.client  # one client: cancelling the uploader cancels uploads

    usb = tmp_path / "usb"
    bundle_config = config_for("bundle", {"bundle": {"directory": str(usb)}}, tmp_path)
    bundle = build_uploader(outbox, bundle_config, keys)
    assert isinstance(bundle.sink, BundleSink)
    assert bundle.sink.bundle_path("R-1") == usb / "rekam-KIT-09-R-1"

    table = {"bucket": "landing", "endpoint_url": "http://127.0.0.1:9", "prefix": "kits/"}
    s3 = build_uploader(outbox, config_for("s3", {"s3": table}, tmp_path), keys)
    assert isinstance(s3.sink, S3Sink) and s3.sink.key("R-1") == "kits/R-1.pkg"


@pytest.mark.parametrize(
    ("sink", "sinks", "expected"),
    [
        ("pigeon", {}, r"unknown sink 'pigeon'; installed sinks: bundle, centre, s3"),
        ("s3", {}, r"\[sinks\.s3\] bucket: missing.* Check \[uploader\] sink and \[sinks\.s3\]"),
        ("bundle", {"bundle": {"dir": "/media/usb"}}, r"\[sinks\.bundle\] dir: unknown key"),
        ("centre", {"centre": {"url": "http://x"}}, r"\[sinks\.centre\] url: unknown key; this"),
    ],
)
def test_a_bad_sink_configuration_is_refused_with_a_sentence(
    outbox, tmp_path, sink, sinks, expected
):
    with pytest.raises(ConfigurationError, match=expected):
        build_uploader(outbox, config_for(sink, sinks, tmp_path), StationKeys.generate())
