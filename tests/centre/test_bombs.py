"""The malicious file: packages, images and bundles built to exhaust or crash the parsers.

A bomb package here is what a thief holding a kit's key can sign: a real transaction whose face
image header declares 12000 x 12000 pixels (a few hundred bytes that would decode to 432 MB).
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator

import imagecodecs
import numpy as np
import pytest
from centre_records import wait_until
from PIL import Image

from simulator.centre.samples import small_record
from uploader import package as package_module
from uploader.bundle import BundleError, open_bundle, write_bundle
from uploader.centre_client import CentreClient
from uploader.image_limits import (
    ImageRefused,
    checked_header,
    decoded_as_declared,
    read_image_header,
)
from uploader.nist import build_transaction, encode_wsq
from uploader.outbox import Outbox, RecordState
from uploader.package import SealedPackage, seal
from uploader.service import Uploader

STATION = "KIT-01"
HUGE = 12000


def _patch_jpeg2000(data: bytes, side: int = HUGE) -> bytes:
    """The same JPEG 2000 bytes with a SIZ segment declaring ``side`` x ``side`` pixels."""
    siz = data.index(b"\xff\x4f\xff\x51")
    return data[: siz + 8] + struct.pack(">II", side, side) + data[siz + 16 :]


def _patch_wsq(data: bytes, side: int = 0xFFFF) -> bytes:
    sof = data.index(b"\xff\xa2")
    return data[: sof + 6] + struct.pack(">HH", side, side) + data[sof + 10 :]


def _bomb_transaction(content) -> tuple[bytes, list]:
    """The real transaction with its face image's header declaring 12000 x 12000 pixels."""
    transaction, summaries = build_transaction(content)
    face = transaction.index(b"\x00\x00\x00\x0cjP  ")
    return transaction[:face] + _patch_jpeg2000(transaction[face:]), summaries


@pytest.fixture
def seal_bomb(monkeypatch, station_keys, centre_public) -> Callable[[str, int], SealedPackage]:
    """Seal, signed with the enrolled kit's key, a package whose face image is a bomb."""

    def make(record_id: str, index: int) -> SealedPackage:
        with monkeypatch.context() as patched:
            patched.setattr(package_module, "build_transaction", _bomb_transaction)
            return seal(small_record(record_id, index, STATION), station_keys, centre_public)

    return make


@pytest.fixture
def enrolled(centre, station_keys) -> CentreClient:
    centre.provision(STATION, station_keys.public_pem())
    return CentreClient(centre.url, trust=centre.trust, timeout=30)


@pytest.fixture
def outbox(tmp_path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox")
    yield box
    box.close()


def _image_bytes(fmt: str, shape: tuple[int, ...]) -> bytes:
    image = np.random.default_rng(1).integers(0, 255, shape, dtype=np.uint8)
    if fmt == "WSQ":
        return encode_wsq(image)
    if fmt == "JPEG 2000":
        return imagecodecs.jpeg2k_encode(image, level=80)
    out = io.BytesIO()
    Image.fromarray(image).save(out, fmt)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG 2000", "WSQ", "PNG", "JPEG"])
def test_image_headers_are_read_before_decoding(fmt):
    data = _image_bytes(fmt, (48, 64) if fmt == "WSQ" else (48, 64, 3))
    header = checked_header(data, fmt)
    assert (header.width, header.height) == (64, 48)
    assert header.components == (1 if fmt == "WSQ" else 3)


def test_a_raw_jpeg2000_codestream_is_read_too():
    data = imagecodecs.jpeg2k_encode(np.zeros((30, 20), np.uint8), level=80, codecformat="J2K")
    header = read_image_header(data)
    assert (header.format, header.width, header.height) == ("JPEG 2000", 20, 30)


@pytest.mark.parametrize(
    ("fmt", "patch"),
    [
        ("JPEG 2000", _patch_jpeg2000),
        ("WSQ", _patch_wsq),
        ("PNG", lambda d: d[:16] + struct.pack(">II", HUGE, HUGE) + d[24:]),
        ("JPEG", lambda d: d.replace(b"\x08\x00\x30\x00\x40", b"\x08\x2e\xe0\x2e\xe0", 1)),
    ],
)
def test_an_image_declaring_too_many_pixels_is_refused_before_decoding(fmt, patch):
    data = patch(_image_bytes(fmt, (48, 64) if fmt == "WSQ" else (48, 64, 3)))
    with pytest.raises(ImageRefused, match="declares"):
        checked_header(data, fmt)


def test_a_decoder_that_disagrees_with_the_header_is_caught():
    header = checked_header(_image_bytes("PNG", (48, 64, 3)), "PNG")
    with pytest.raises(ImageRefused, match="decoded to"):
        decoded_as_declared(np.zeros((64, 48, 3), np.uint8), header)


def test_a_bomb_package_is_a_422_with_a_reason_and_the_connection_is_kept(enrolled, seal_bomb):
    bomb = seal_bomb("B-1", 1)
    refused = enrolled.upload("B-1", bomb.data, bomb.sha256)
    assert refused.status == 422 and refused.code == "CONTENT_INVALID" and refused.permanent
    assert f"{HUGE}x{HUGE}" in refused.message
    assert enrolled.health()["status"] == "ok"


def test_the_kit_dead_letters_the_bomb_and_keeps_delivering_the_rest(
    centre, enrolled, seal_bomb, outbox, station_keys, centre_public
):
    outbox.enqueue(seal_bomb("B-2", 2))
    good = [f"G-{i}" for i in range(2)]
    for index, record_id in enumerate(good):
        record = small_record(record_id, 10 + index, STATION)
        outbox.enqueue(seal(record, station_keys, centre_public))
    fast = dict(poll_interval=0.05, idle_interval=0.05, backoff_base=0.05, backoff_cap=0.3)
    with Uploader(outbox, centre.url, trust=centre.trust, **fast) as uploader:
        assert wait_until(
            lambda: all(outbox.get(r).state == RecordState.PRINT_READY_RECORD for r in good),
            timeout=30,
        )
        counters = uploader.counters()
    dead = outbox.get("B-2")
    assert dead.state == RecordState.DEAD_LETTER
    assert "422" in dead.detail and "CONTENT_INVALID" in dead.detail
    assert counters["delivery_network_errors"] == 0 and counters["delivery_dead_letters"] == 1


def test_rekam_inspect_refuses_the_bomb_with_a_clear_error(
    tmp_path, centre, seal_bomb, station_keys
):
    path = tmp_path / "bomb.pkg"
    path.write_bytes(seal_bomb("B-3", 3).data)
    station_key = tmp_path / "kit.pub.pem"
    station_key.write_bytes(station_keys.public_pem())
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "station.cli",
            "inspect",
            str(path),
            "--station-key",
            str(station_key),
            "--centre-key",
            str(centre.data_dir / "keys" / "centre_x25519.pem"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 1, completed.stderr
    assert "CONTENT_INVALID" in completed.stderr and f"{HUGE}x{HUGE}" in completed.stderr


def _bundle(tmp_path, station_keys, centre_public) -> tuple:
    usb = tmp_path / "usb"
    usb.mkdir()
    sealed = seal(small_record("U-1", 21, STATION), station_keys, centre_public)
    path = write_bundle(usb, "rekam-bundle", STATION, station_keys, [("U-1", sealed.data)])
    return path, sealed


def test_a_nested_manifest_is_refused_by_its_signature_before_it_is_parsed(
    tmp_path, centre, enrolled, station_keys, centre_public
):
    path, _ = _bundle(tmp_path, station_keys, centre_public)
    nested = b"[" * 200_000 + b"]" * 200_000
    (path / "manifest.json").write_bytes(nested)
    with pytest.raises(BundleError, match="does not verify"):
        centre.import_bundle(path)
    # Even signed by the station's own (stolen) key, it is refused, not a crash.
    signature = station_keys.sign(nested).hex()
    (path / "manifest.sig").write_text(f"{STATION}\n{station_keys.key_id.hex()}\n{signature}\n")
    with pytest.raises(BundleError, match="unreadable"):
        centre.import_bundle(path)


def test_bundle_files_are_never_read_through_symbolic_links(
    tmp_path, centre, enrolled, station_keys, centre_public
):
    path, sealed = _bundle(tmp_path, station_keys, centre_public)
    outside = tmp_path / "secret.pkg"
    package = path / "packages" / "U-1.pkg"
    os.replace(package, outside)
    os.symlink(outside, package)
    assert centre.import_bundle(path) == {"DAMAGED_IN_BUNDLE": 1}
    manifest = path / "manifest.json"
    os.replace(manifest, tmp_path / "manifest.json")
    os.symlink(tmp_path / "manifest.json", manifest)
    with pytest.raises(BundleError, match="not a readable bundle"):
        open_bundle(path, {STATION: station_keys.public_key})
    assert json.loads((tmp_path / "manifest.json").read_bytes())["records"][0]["sha256"] == (
        sealed.sha256
    )
