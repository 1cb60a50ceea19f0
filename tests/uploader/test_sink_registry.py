"""Sinks are found through the ``rekam.sinks`` entry-point group: only the one asked for is
imported, a broken one is reported with its cause, an unknown name lists what is installed.

Third-party sinks are laid out the way pip installs them (a module and its ``.dist-info`` with
``entry_points.txt``) in a temporary folder put on ``sys.path``.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from uploader.centre_client import CentreClient
from uploader.centre_trust import CentreTrust
from uploader.keys import StationKeys
from uploader.sink import DeliveryOutcome, InvalidSinkSettings, SinkContext, settings_from
from uploader.sink_registry import (
    SinkUnavailable,
    UnknownSink,
    installed_sinks,
    sink_factory,
    sink_plugin,
)

PACKAGE = "rekam_acme_sinks"

WORKING = """
from dataclasses import dataclass

from uploader.sink import DeliveryResult


@dataclass(frozen=True)
class TapeSettings:
    label: str
    capacity_mb: float = 100.0


class TapeSink:
    name = "acme-tape"
    settings_type = TapeSettings

    def __init__(self, settings, station_id):
        self.settings = settings
        self.station_id = station_id

    @classmethod
    def from_settings(cls, settings, context):
        return cls(settings, context.station_id)

    def deliver(self, record_id, data, sha256):
        return DeliveryResult.delivered(f"{record_id} on tape {self.settings.label}")
"""

BROKEN = """
import rekam_acme_missing_dependency  # not installed: importing this module fails
"""

NOT_A_SINK = '''
class Tape:
    """Has no settings_type or from_settings."""
'''


@pytest.fixture
def acme_sinks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """rekam-acme-sinks 0.1 with three entry points, importable from a temporary site folder."""
    package = tmp_path / PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "tape.py").write_text(textwrap.dedent(WORKING))
    (package / "broken.py").write_text(textwrap.dedent(BROKEN))
    (package / "plain.py").write_text(textwrap.dedent(NOT_A_SINK))
    info = tmp_path / "rekam_acme_sinks-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rekam-acme-sinks\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[rekam.sinks]\n"
        f"acme-tape = {PACKAGE}.tape:TapeSink\n"
        f"acme-broken = {PACKAGE}.broken:Sink\n"
        f"acme-plain = {PACKAGE}.plain:Tape\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith(PACKAGE)]:
        del sys.modules[name]


def context() -> SinkContext:
    trust = CentreTrust(Ed25519PrivateKey.generate().public_key(), allow_plain_http=True)
    centre = CentreClient("http://127.0.0.1:9", trust=trust)  # never contacted
    return SinkContext(centre, "KIT-01", StationKeys.generate())


def test_the_three_sinks_of_the_project_are_installed():
    assert {"centre", "s3", "bundle"} <= set(installed_sinks())
    assert sink_plugin("bundle").__name__ == "BundleSink"


def test_an_unknown_name_lists_the_installed_sinks():
    with pytest.raises(UnknownSink) as caught:
        sink_plugin("carrier-pigeon")
    message = str(caught.value)
    assert "'carrier-pigeon'" in message
    assert "bundle, centre, s3" in message


def test_only_the_sink_asked_for_is_imported(acme_sinks):
    plugin = sink_plugin("acme-tape")
    assert f"{PACKAGE}.broken" not in sys.modules and f"{PACKAGE}.plain" not in sys.modules
    sink = sink_factory("acme-tape", {"label": "T-7", "capacity_mb": 5})(context())
    assert isinstance(sink, plugin)
    assert sink.settings.capacity_mb == 5 and sink.station_id == "KIT-01"
    answer = sink.deliver("R-1", b"package", "0" * 64)
    assert answer.outcome is DeliveryOutcome.DELIVERED and answer.detail == "R-1 on tape T-7"
    assert {"acme-tape", "acme-broken", "acme-plain"} <= set(installed_sinks())


def test_a_sink_that_fails_to_import_is_reported_with_its_cause(acme_sinks):
    with pytest.raises(SinkUnavailable) as caught:
        sink_plugin("acme-broken")
    message = str(caught.value)
    assert f"{PACKAGE}.broken:Sink" in message
    assert "No module named 'rekam_acme_missing_dependency'" in message
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)


def test_an_entry_point_that_is_no_sink_is_refused(acme_sinks):
    with pytest.raises(SinkUnavailable, match="is not a sink"):
        sink_plugin("acme-plain")


@dataclass(frozen=True)
class Sample:
    path: str
    limit: int = 3
    rate: float = 1.5
    enabled: bool = True


def test_settings_are_read_strictly_from_the_table():
    assert settings_from(Sample, {"path": "/media/usb", "rate": 2}) == Sample("/media/usb", 3, 2)
    with pytest.raises(InvalidSinkSettings, match=r"(colour|size): unknown key"):
        settings_from(Sample, {"path": "p", "size": 1, "colour": "red"})
    with pytest.raises(InvalidSinkSettings, match="path: missing"):
        settings_from(Sample, {"limit": 1})
    with pytest.raises(InvalidSinkSettings, match="limit: expected a whole number"):
        settings_from(Sample, {"path": "p", "limit": "3"})
    with pytest.raises(InvalidSinkSettings, match="limit: expected a whole number"):
        settings_from(Sample, {"path": "p", "limit": True})
    with pytest.raises(InvalidSinkSettings, match="enabled: expected true or false"):
        settings_from(Sample, {"path": "p", "enabled": 1})
