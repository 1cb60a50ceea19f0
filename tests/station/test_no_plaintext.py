"""After sealing, no plaintext biometric image exists anywhere in the station's data directory.

Real enrollments run through the daemon over gRPC. Just before each CompleteEnrollment, the images
the daemon holds (kept samples and best-of-N candidates) are copied from its enrollment store;
after sealing, every file under the data directory (outbox packages, SQLite databases and their
journals, keys, the enrollment journal, temp files) is scanned for image codec signatures and
for raw pixel rows of those captures. Positive controls show the scanner finds both.
"""

from __future__ import annotations

import io
import os
import re
import stat
from pathlib import Path

import cv2
import imagecodecs
import numpy as np
import pytest
from PIL import Image
from test_enrollment_e2e import wait_for_final

from simulator.demo import Operator, Visit
from station.v1 import records_pb2
from uploader.nist import encode_wsq

# Codec and container signatures, long enough that ciphertext never matches them by chance.
SIGNATURES: dict[str, re.Pattern[bytes]] = {
    "PNG": re.compile(re.escape(b"\x89PNG\r\n\x1a\n")),
    "JPEG": re.compile(rb"\xff\xd8\xff(?:\xe0..JFIF|\xe1..Exif|\xdb\x00[\x43\x84]|\xfe)", re.S),
    "JPEG 2000 (JP2)": re.compile(re.escape(b"\x00\x00\x00\x0cjP  \r\n\x87\n")),
    "JPEG 2000 (codestream)": re.compile(re.escape(b"\xff\x4f\xff\x51\x00")),
    "WSQ": re.compile(rb"\xff\xa0\xff[\xa2-\xa8]|NIST_COM"),
    "ANSI/NIST-ITL": re.compile(rb"1\.001:|14\.001:|10\.001:|17\.001:"),
    "numpy array": re.compile(re.escape(b"\x93NUMPY")),
    "TIFF": re.compile(rb"II\*\x00|MM\x00\*"),
}
NEEDLE_BYTES = 48
NEEDLES_PER_IMAGE = 6


class SnapshotBeforeSealing:
    """The enrollment stub, copying the daemon's in-memory images just before sealing."""

    def __init__(self, stub, store, images: list[np.ndarray]) -> None:
        self._stub, self._store, self._images = stub, store, images

    def __getattr__(self, name: str):
        return getattr(self._stub, name)

    def CompleteEnrollment(self, request, **kwargs):  # the gRPC method name
        enrollment = self._store.get(request.enrollment_id)
        for sample in [*enrollment.samples.values(), *enrollment.candidates.values()]:
            if sample.image is not None:
                self._images.append(np.array(sample.image, copy=True))
        return self._stub.CompleteEnrollment(request, **kwargs)


def needles(image: np.ndarray) -> list[bytes]:
    """Raw pixel runs from rows spread over the image, skipping flat stretches."""
    rows = np.ascontiguousarray(image).reshape(image.shape[0], -1)
    found = []
    for row in np.linspace(rows.shape[0] * 0.2, rows.shape[0] * 0.8, 40).astype(int):
        line = rows[row]
        for start in range(0, len(line) - NEEDLE_BYTES, NEEDLE_BYTES * 3):
            window = line[start : start + NEEDLE_BYTES]
            if len(np.unique(window)) >= 8:
                found.append(window.tobytes())
                break
        if len(found) >= NEEDLES_PER_IMAGE:
            break
    return found


def snapshot(root: Path, passes: int = 5) -> dict[Path, bytes]:
    """Every file under ``root`` and its content, read in one pass in which no file vanished.

    The daemon keeps running while the test reads (SQLite journals come and go), so a pass that
    loses a file to a rename or delete is read again, whole, up to ``passes`` times."""
    for _ in range(passes):
        contents: dict[Path, bytes] = {}
        try:
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                contents[path] = path.read_bytes()
        except FileNotFoundError:
            continue
        return contents
    raise AssertionError(f"files under {root} kept vanishing in {passes} passes")


def scan(root: Path, images: list[np.ndarray]) -> list[str]:
    """Every codec signature or raw pixel run of ``images`` found in a file under ``root``."""
    runs = [n for image in images for n in needles(image)]
    runs += [n for image in images if image.ndim == 3 for n in needles(image[:, :, ::-1])]
    findings = []
    for path, data in snapshot(root).items():
        for name, pattern in SIGNATURES.items():
            if pattern.search(data):
                findings.append(f"{path.relative_to(root)}: {name} signature")
        hits = sum(1 for run in runs if run in data)
        if hits:
            findings.append(f"{path.relative_to(root)}: {hits} raw pixel runs of a capture")
    return findings


@pytest.fixture(scope="module")
def sealed_enrollments(station):
    """Two residents enrolled and sealed; the images the daemon captured for them."""
    images: list[np.ndarray] = []
    client = station.client()
    client.enrollment = SnapshotBeforeSealing(
        client.enrollment, station.daemon.workflow.store, images
    )
    operator = Operator(client, station.client(station.supervisor_token), report=lambda _line: None)
    visits = []
    for kind, seed in (("adult", 4401), ("blind", 4402)):
        station.present(kind, seed)
        visit = Visit(kind, kind, seed, records_pb2.RECORD_STATUS_PRINT_READY_RECORD)
        operator.enroll(visit, {})
        visits.append(visit)
    for visit in visits:  # delivery settled: no upload is half written while the disk is read
        wait_for_final(client, visit.record_id)
    return visits, images


def test_no_plaintext_biometrics_in_the_data_directory(station, sealed_enrollments):
    visits, images = sealed_enrollments
    assert all(v.record_id for v in visits)
    modalities = {("face" if i.ndim == 3 else "grey") for i in images}
    assert modalities == {"face", "grey"} and len(images) >= 10 + 1 + 2 + 9 + 1
    data_dir = station.daemon.config.data_dir
    packages = [p for p, data in snapshot(data_dir).items() if data[:8] == b"REKAMPKG"]
    assert len(packages) >= len(visits)  # the sealed records are on disk, and were scanned
    assert scan(data_dir, images) == []


def test_the_scanner_finds_images_and_codecs(tmp_path, sealed_enrollments):
    _, images = sealed_enrollments
    grey = next(i for i in images if i.ndim == 2)
    face = next(i for i in images if i.ndim == 3)
    png = io.BytesIO()
    Image.fromarray(grey).save(png, "PNG")
    planted = {
        "raw.bin": b"\x00" * 1000 + grey.tobytes() + b"\x00" * 1000,
        "face_rgb.bin": face[:, :, ::-1].tobytes(),
        "print.wsq": encode_wsq(grey),
        "photo.jpg": cv2.imencode(".jpg", face)[1].tobytes(),
        "photo.png": png.getvalue(),
        "iris.jp2": bytes(imagecodecs.jpeg2k_encode(grey, level=40)),
        "iris.j2k": bytes(imagecodecs.jpeg2k_encode(grey, level=40, codecformat="J2K")),
    }
    for name, data in planted.items():
        (tmp_path / name).write_bytes(data)
    findings = "\n".join(scan(tmp_path, images))
    for name in planted:
        assert name in findings, findings


def test_key_files_are_owner_only(station):
    keys = station.daemon.config.data_dir / "keys"
    assert stat.S_IMODE(os.stat(keys).st_mode) == 0o700
    files = [p for p in keys.iterdir() if p.is_file()]
    assert files
    for path in files:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode & 0o077 == 0, (path.name, oct(mode))
