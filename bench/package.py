"""Sealing speed and size of a full record (10 WSQ prints, face, 2 irises, signature), and the
time to refuse a bomb: the same record whose face image header declares 12000 x 12000 pixels."""

from __future__ import annotations

import statistics
import struct
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from unittest import mock

from bench.report import Row
from domain.vocabulary import FINGERS, Category, Sex
from uploader.content import (
    ImageSample,
    RecordContent,
    SignatureSample,
    Subject,
)

if TYPE_CHECKING:
    from uploader.keys import CentrePublicKey, StationSigner

REPEATS = 7


def full_record(seed: int = 1) -> RecordContent:
    """A complete enrollment of synthetic biometrics at the kit's capture sizes."""
    from simulator.synth.face import FaceKnobs, render_face
    from simulator.synth.fingerprint import FingerSpec, quantise_4bit, render_capture
    from simulator.synth.iris import IrisSpec, render_eye
    from simulator.synth.signature import make_signature, to_pen_reports

    samples = [
        ImageSample(
            name,
            "fingerprint",
            quantise_4bit(render_capture(FingerSpec.random(seed * 100 + code), 0)),
            90,
            1,
            False,
        )
        for name, code in ((f, f.finger_code) for f in FINGERS)
    ]
    samples.append(
        ImageSample("face", "face", render_face(640, 480, FaceKnobs(), seed), 92, 1, False)
    )
    for offset, eye in enumerate(("right_eye", "left_eye")):
        image, _ = render_eye(IrisSpec.random(seed * 10 + offset))
        samples.append(ImageSample(eye, "iris", image, 88, 1, False))
    pad = (24576, 18432)
    signature = SignatureSample(to_pen_reports(make_signature(seed), *pad), *pad, 1023)
    return RecordContent(
        record_id=f"BENCH-{seed:04d}",
        station_id="KIT-BENCH",
        operator="bench",
        supervisor="",
        subject=Subject(
            "3174010101900001",
            "Bench Resident",
            date(1990, 1, 1),
            Sex.FEMALE,
            Category.REGULAR,
            "BENCH-REF",
        ),
        samples=samples,
        signature=signature,
        started_at=datetime(2024, 5, 1, 9, 0, tzinfo=UTC),
        completed_at=datetime(2024, 5, 1, 9, 6, tzinfo=UTC),
    )


class _TimedSigner:
    """The station signer, with the time its ``sign()`` calls take added up."""

    def __init__(self, signer: StationSigner) -> None:
        self.signer = signer
        self.algorithm = signer.algorithm
        self.key_id = signer.key_id
        self.public_key = signer.public_key
        self.spent_ms = 0.0

    def public_pem(self) -> bytes:
        return self.signer.public_pem()

    def sign(self, data: bytes) -> bytes:
        started = time.perf_counter()
        signature = self.signer.sign(data)
        self.spent_ms += (time.perf_counter() - started) * 1000.0
        return signature


def seal_speed() -> list[Row]:
    """package.seal_ms (encode, sign in the TPM, encrypt with the hybrid KEM) and its split:
    package.seal_sign_ms (the two TPM signatures) and package.seal_kem_ms (HPKE alone)."""
    from simulator.devices.swtpm import SoftwareTpm
    from uploader.keys import CentreKeys
    from uploader.package import seal
    from uploader.tpm import Tpm, TpmStationKey

    centre = CentreKeys.generate()
    records = [full_record(seed) for seed in (1, 2, 3)]
    with (
        tempfile.TemporaryDirectory() as folder,
        SoftwareTpm(Path(folder) / "tpm") as emulator,
        Tpm(emulator.tcti) as tpm,
    ):
        station = _TimedSigner(TpmStationKey.load_or_create(tpm, Path(folder) / "keys"))
        seal(records[0], station, centre.public_key)  # warm-up: codecs load their tables
        times, signing, kem, sizes = [], [], [], []
        for index in range(REPEATS):
            record = records[index % len(records)]
            station.spent_ms = 0.0
            started = time.perf_counter()
            sealed = seal(record, station, centre.public_key)
            times.append((time.perf_counter() - started) * 1000.0)
            signing.append(station.spent_ms)
            kem.append(_hpke_seal_ms(centre.public_key, sealed.size))
            sizes.append(sealed.size / 1024.0)
    return [
        Row(
            "package.seal_ms",
            statistics.median(times),
            "ms",
            "<= 250",
            "median; 10 WSQ prints, face and 2 irises as JPEG 2000, signature, "
            "ECDSA P-256 in swtpm, HPKE MLKEM768-X25519",
        ),
        Row(
            "package.seal_sign_ms",
            statistics.median(signing),
            "ms",
            "",
            "median share of seal_ms: SHA-256 + TPM2_Sign (swtpm, loopback) for the manifest "
            "and the container",
        ),
        Row(
            "package.seal_kem_ms",
            statistics.median(kem),
            "ms",
            "",
            "median HPKE single-shot seal of a package-sized plaintext: ML-KEM-768 + X25519 "
            "encapsulation, HKDF-SHA256, AES-256-GCM",
        ),
        Row("package.size_kb", statistics.median(sizes), "KiB", "", "median sealed package"),
    ]


BOMB_SIDE = 12000


def bomb_transaction(content: RecordContent) -> tuple[bytes, list]:
    """The record's real transaction with the face's JPEG 2000 SIZ declaring 12000 x 12000."""
    from uploader.nist import build_transaction

    transaction, summaries = build_transaction(content)
    siz = transaction.index(b"\xff\x4f\xff\x51", transaction.index(b"jP  "))
    patched = struct.pack(">II", BOMB_SIDE, BOMB_SIDE)
    return transaction[: siz + 8] + patched + transaction[siz + 16 :], summaries


def bomb_refusal() -> list[Row]:
    """package.open_bomb_ms: how long the centre's opening takes to refuse a signed bomb."""
    from uploader import errors
    from uploader import package as package_module
    from uploader.keys import CentreKeys, StationKeys
    from uploader.untrusted import open_untrusted

    station, centre = StationKeys.generate(), CentreKeys.generate()
    record = full_record(4)
    # What a thief holding a kit's key can sign: seal() over a crafted transaction.
    with mock.patch.object(package_module, "build_transaction", bomb_transaction):
        bomb = package_module.seal(record, station, centre.public_key)
    trusted = {record.station_id: station.public_key}
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        try:
            open_untrusted(bomb.data, centre.private_key, trusted)
        except errors.ContentInvalid:
            times.append((time.perf_counter() - started) * 1000.0)
        else:
            raise AssertionError("the bomb package was opened")
    return [
        Row(
            "package.open_bomb_ms",
            statistics.median(times),
            "ms",
            "<= 250",
            f"median; a signed full record whose face declares {BOMB_SIDE}x{BOMB_SIDE} pixels "
            f"({bomb.size // 1024} KiB), refused before decoding",
        )
    ]




def _hpke_seal_ms(centre_public: CentrePublicKey, size: int) -> float:
    from cryptography.hazmat.primitives import hpke

    suite = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
    plaintext = bytes(size)
    started = time.perf_counter()
    suite.encrypt(plaintext, centre_public.hpke_key(), info=b"bench")
    return (time.perf_counter() - started) * 1000.0


BENCHES = {"package": seal_speed, "package_bomb": bomb_refusal}
