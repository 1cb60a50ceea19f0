"""The rogue operator aims ExportBundle at /etc or through a link; a production configuration is
run with ``--simulate`` to sign injected images with the real key; a camera is pointed at a
file or a URL. Each is refused."""

from __future__ import annotations

import os
from pathlib import Path

import grpc
import pytest

from domain.settings import SettingsError
from drivers.camera import FaceCamera, IrisCamera
from station.auth import Role
from station.client import StationClient
from station.config import ExportConfig, StationConfig
from station.errors import error_reason
from station.export_paths import ExportPathRefused, open_export_folder
from station.server import ConfigurationError
from station.simulation_guard import MARKER, refuse_production
from station.v1 import records_pb2
from uploader.keys import StationKeys


@pytest.fixture
def media(tmp_path: Path) -> Path:
    """The removable-media root, with one drive mounted in it."""
    (tmp_path / "media" / "USB-01").mkdir(parents=True)
    return tmp_path / "media"


@pytest.mark.parametrize(
    ("destination", "reason"),
    [
        ("/etc", "EXPORT_OUTSIDE_ROOTS"),
        ("/etc/cron.d", "EXPORT_OUTSIDE_ROOTS"),
        ("{media}", "EXPORT_OUTSIDE_ROOTS"),  # the root itself is the kit's own disk
        ("{media}/USB-01/../../..", "EXPORT_OUTSIDE_ROOTS"),
        ("relative/USB-01", "EXPORT_OUTSIDE_ROOTS"),
        ("{media}/USB-01/to-etc", "EXPORT_SYMLINK"),
        ("{media}/linked-drive/sub", "EXPORT_SYMLINK"),
        ("{media}/USB-01/a-file", "EXPORT_SYMLINK"),
        ("{media}/USB-02", "EXPORT_DESTINATION_INVALID"),
    ],
)
def test_export_folders_outside_the_roots_or_through_links_are_refused(
    media: Path, destination: str, reason: str
):
    (media / "USB-01" / "to-etc").symlink_to("/etc")
    (media / "linked-drive").symlink_to(media / "USB-01")
    (media / "USB-01" / "sub").mkdir()
    (media / "USB-01" / "a-file").write_text("not a folder")
    with pytest.raises(ExportPathRefused) as refused:
        open_export_folder(destination.format(media=media), [media])
    assert refused.value.reason == reason


def test_the_bundle_goes_into_the_folder_that_was_checked(media: Path, tmp_path: Path):
    drive = media / "USB-01"
    folder = open_export_folder(str(drive), [media])
    try:
        # The folder is swapped for a link to elsewhere after the check...
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        drive.rename(media / "USB-01-moved")
        drive.symlink_to(elsewhere)
        (folder.path / "bundle").mkdir()
    finally:
        folder.close()
    # ...and the write still lands in the folder that was checked.
    assert (media / "USB-01-moved" / "bundle").is_dir()
    assert not (elsewhere / "bundle").exists()


@pytest.mark.parametrize("root", ["/", "/etc", "/usr/local", "/var/lib/rekam", "media"])
def test_a_system_path_cannot_be_configured_as_an_export_root(root: str):
    with pytest.raises(SettingsError, match=r"system path|absolute folder"):
        StationConfig.from_mapping({"export": {"roots": [root]}})


def test_export_bundle_over_grpc_refuses_system_paths_and_links(bare_daemon, tmp_path: Path):
    media = tmp_path / "media"
    (media / "USB-01").mkdir(parents=True)
    (media / "USB-01" / "etc").symlink_to("/etc")
    daemon = bare_daemon(export=ExportConfig(roots=[media]))
    client = StationClient(f"127.0.0.1:{daemon.port}", daemon.tokens.add("op", Role.OPERATOR))
    before = sorted(os.listdir("/etc"))
    for destination, reason in (
        ("/etc", "EXPORT_OUTSIDE_ROOTS"),
        (str(media / "USB-01" / "etc"), "EXPORT_SYMLINK"),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            list(  # the refusal ends ExportBundle's progress stream before its first message
                client.records.ExportBundle(
                    records_pb2.ExportBundleRequest(destination=destination),
                    metadata=client.metadata,
                )
            )
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_reason(caught.value) == reason
        assert str(media) in caught.value.details() or "link" in caught.value.details()
    assert sorted(os.listdir("/etc")) == before
    client.close()


def _production(tmp_path: Path, **centre: str) -> StationConfig:
    config = StationConfig(data_dir=tmp_path / "rekam")
    config.centre.url = centre.get("url", "")
    return config


def test_simulate_refuses_a_production_centre(tmp_path: Path):
    config = _production(tmp_path, url="https://ktp-el-ingest.example.go.id")
    with pytest.raises(ConfigurationError, match="centre"):
        refuse_production(config)
    assert not (config.data_dir / MARKER).exists()


def test_simulate_refuses_the_data_directory_of_a_real_kit(tmp_path: Path):
    config = _production(tmp_path)
    StationKeys.load_or_create(config.data_dir / "keys")  # made by a real `rekam serve`
    with pytest.raises(ConfigurationError, match="keys of a real kit"):
        refuse_production(config)


def test_simulate_refuses_a_key_backend_other_than_the_development_files(tmp_path: Path):
    config = _production(tmp_path)
    config.identity.backend = "tpm"
    with pytest.raises(ConfigurationError, match="key backend"):
        refuse_production(config)


def test_simulate_marks_its_own_data_directory_and_accepts_it_again(tmp_path: Path):
    config = _production(tmp_path, url="http://127.0.0.1:8080")
    refuse_production(config)
    StationKeys.load_or_create(config.data_dir / "keys")  # the simulated kit's own key
    refuse_production(config)  # a restart of the same simulation
    assert (config.data_dir / MARKER).exists()


@pytest.mark.parametrize(
    "port", ["http://127.0.0.1:9/face.mjpg", "rtsp://camera.local/stream", "/tmp/face%03d.png"]
)
def test_cameras_refuse_file_and_url_sources_unless_allowed(port: str):
    for camera in (FaceCamera, IrisCamera):
        with pytest.raises(ValueError, match="allow_file_sources"):
            camera("camera-0", port)
        assert camera("camera-0", port, allow_file_sources=True).port == port
    assert FaceCamera("camera-0", "/dev/video0").port == "/dev/video0"
