"""The thief: a copy of a stolen kit's disk, keys in its (emulated) TPM, the TPM left behind.

A kit with ``[identity] backend = "tpm"`` has an enrollment in progress in its journal and a
sealed record in its outbox; the simulated centre has provisioned its TPM-held key and accepts
its records. The thief copies the whole data directory and tries to read the resident's data
and to get a forged "ghost" resident accepted by the centre.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import cv2
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from identity_material import NAME, NIK, fingerprint_image, record

from capture.enrollment import Enrollment, Sample
from capture.journal import STATE_FILE, EnrollmentJournal
from capture.subject import Subject
from domain.categories import policy_for
from domain.vocabulary import Category
from quality.base import QualityResult
from simulator.centre import CentreServer
from simulator.devices.swtpm import SoftwareTpm
from station.config import CentreConfig, IdentityConfig, StationConfig
from station.server import ConfigurationError, StationDaemon
from uploader import errors
from uploader.centre_client import CentreClient
from uploader.keys import (
    ECDSA_P256_SHA256,
    ED25519,
    StationPublicKey,
    key_id,
    load_centre_public_key,
    load_station_public_key,
    public_pem,
    raw_ecdsa_signature,
)
from uploader.package import open_package, seal, verify_package
from uploader.sink import DeliveryOutcome
from uploader.tpm import (
    JOURNAL_SEALED_FILE,
    SIGNING_PUBLIC_FILE,
    Tpm,
    TpmError,
    TpmSealedKey,
    TpmStationKey,
)

STATION = "KIT-ID-01"


@dataclass
class StolenKit:
    data_dir: Path  # the thief's copy
    centre: CentreServer
    record_id: str  # a genuine record the kit sealed (and the centre accepted)
    enrollment_id: str  # the enrollment in progress in the journal


def _enrollment_in_progress() -> Enrollment:
    subject = Subject(NIK, NAME, date(1990, 3, 12), "female", Category.REGULAR)
    enrollment = Enrollment(subject=subject, plan=policy_for(Category.REGULAR), operator="ani")
    enrollment.samples["right_index"] = Sample(
        "right_index", QualityResult("fingerprint", 61), 40, "fp", image=fingerprint_image()
    )
    return enrollment


def _kit_config(data_dir: Path, centre: CentreServer, tcti: str) -> StationConfig:
    return StationConfig(
        station_id=STATION,
        data_dir=data_dir,
        listen="127.0.0.1:0",
        centre=CentreConfig(
            url=centre.url,
            public_key=centre.public_key_path,
            receipt_key=centre.identity.receipt_public_path,
            tls_pin=centre.identity.pin_text,
        ),
        identity=IdentityConfig(backend="tpm", tcti=tcti),
    )


@pytest.fixture
def stolen(tmp_path: Path, software_tpm: SoftwareTpm) -> Iterator[StolenKit]:
    with CentreServer(tmp_path / "centre", decision_delay=0.05) as centre:
        kit_dir = tmp_path / "kit"
        daemon = StationDaemon(_kit_config(kit_dir, centre, software_tpm.tcti))
        try:
            client = CentreClient(centre.url, trust=centre.trust)
            centre.provision(STATION, daemon.keys.public_pem())
            journal = EnrollmentJournal(kit_dir / "enrollments", daemon.identity.journal_key)
            enrollment = _enrollment_in_progress()
            journal.save(enrollment)
            sealed = seal(record(), daemon.keys, load_centre_public_key(centre.public_key_path))
            daemon.outbox.enqueue(sealed, category="regular")
            answer = client.deliver(sealed.record_id, sealed.data, sealed.sha256)
            assert answer.outcome is DeliveryOutcome.DELIVERED  # the genuine kit is trusted
        finally:
            daemon.stop(grace=0.2)
        software_tpm.stop()  # the TPM stays in the kit; the thief walks off with the disk
        copy = tmp_path / "thief"
        shutil.copytree(kit_dir, copy)
        yield StolenKit(copy, centre, sealed.record_id, enrollment.enrollment_id)


def _every_file(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_the_copy_holds_no_plaintext_of_the_resident(stolen: StolenKit) -> None:
    image = fingerprint_image()
    ok, png = cv2.imencode(".png", image)
    assert ok
    secrets = {
        "NIK": NIK.encode(),
        "name": NAME.encode(),
        "raw image rows": image.tobytes()[256 * 100 : 256 * 101],
        "PNG image": png.tobytes()[-64:],
    }
    files = _every_file(stolen.data_dir)
    assert any(path.name == STATE_FILE for path in files)  # the journal was copied
    assert any(path.suffix == ".pkg" or "outbox" in path.parts for path in files)
    for path in files:
        data = path.read_bytes()
        for what, needle in secrets.items():
            assert needle not in data, f"{what} in plain text in {path}"


def _journal_keys_in(copy: Path, enrollment_id: str) -> list[bytes]:
    """Every 32-byte window of every file under ``keys/`` that decrypts the journal's state."""
    sealed = (copy / "enrollments" / enrollment_id / STATE_FILE).read_bytes()
    nonce, ciphertext = sealed[:12], sealed[12:]
    found = []
    for path in _every_file(copy / "keys"):
        data = path.read_bytes()
        for offset in range(len(data) - 31):
            candidate = data[offset : offset + 32]
            try:
                AESGCM(candidate).decrypt(nonce, ciphertext, STATE_FILE.encode())
            except InvalidTag:
                continue
            found.append(candidate)
    return found


def test_nothing_in_the_copy_decrypts_the_journal(stolen: StolenKit) -> None:
    assert list((stolen.data_dir / "keys").iterdir())  # blobs and public keys were copied
    assert _journal_keys_in(stolen.data_dir, stolen.enrollment_id) == []


def test_a_file_key_kit_is_what_the_tpm_prevents(tmp_path: Path) -> None:
    """The same search on a development kit (file keys) finds the journal key at once."""
    with CentreServer(tmp_path / "centre", decision_delay=0.05) as centre:
        config = _kit_config(tmp_path / "kit", centre, "")
        config.identity = IdentityConfig(backend="file")
        daemon = StationDaemon(config)
        journal = EnrollmentJournal(tmp_path / "kit" / "enrollments", daemon.identity.journal_key)
        enrollment = _enrollment_in_progress()
        journal.save(enrollment)
        daemon.stop(grace=0.2)
    assert _journal_keys_in(tmp_path / "kit", enrollment.enrollment_id) != []


def test_the_thiefs_own_tpm_opens_neither_the_key_nor_the_journal(
    stolen: StolenKit, tmp_path: Path
) -> None:
    keys = stolen.data_dir / "keys"
    with SoftwareTpm(tmp_path / "thief-tpm", lifetime_s=600) as theirs:
        with Tpm(theirs.tcti) as tpm:
            with pytest.raises(TpmError):
                TpmStationKey.load_or_create(tpm, keys)
            with pytest.raises(TpmError):
                TpmSealedKey(tpm, keys / JOURNAL_SEALED_FILE).journal_key()
        config = _kit_config(stolen.data_dir, stolen.centre, theirs.tcti)
        with pytest.raises(ConfigurationError, match="another TPM"):
            StationDaemon(config)  # the copied kit does not even start


class _Impostor:
    """Signs with a key the thief made, while naming the stolen station's key id."""

    def __init__(self, claimed_key_id: bytes, algorithm: str) -> None:
        self.key_id = claimed_key_id
        self.algorithm = algorithm
        self._ed = Ed25519PrivateKey.generate()
        self._ec = ec.generate_private_key(ec.SECP256R1())
        ed_public, ec_public = self._ed.public_key(), self._ec.public_key()
        self.public_key = ed_public if algorithm == ED25519 else ec_public

    def public_pem(self) -> bytes:
        return public_pem(self.public_key)

    def sign(self, data: bytes) -> bytes:
        if self.algorithm == ED25519:
            return self._ed.sign(data)
        return raw_ecdsa_signature(self._ec.sign(data, ec.ECDSA(hashes.SHA256())))


def _station_key(stolen: StolenKit) -> StationPublicKey:
    return load_station_public_key(stolen.data_dir / "keys" / SIGNING_PUBLIC_FILE)


def _packages_in(copy: Path) -> list[bytes]:
    return [data for p in _every_file(copy) if (data := p.read_bytes()).startswith(b"REKAMPKG")]


@pytest.mark.parametrize("algorithm", [ECDSA_P256_SHA256, ED25519])
def test_a_ghost_resident_signed_by_the_thief_is_refused(stolen: StolenKit, algorithm) -> None:
    impostor = _Impostor(key_id(_station_key(stolen)), algorithm)
    centre_key = load_centre_public_key(stolen.centre.public_key_path)
    ghost = seal(record("REC-GHOST-1", STATION), impostor, centre_key)
    client = CentreClient(stolen.centre.url, trust=stolen.centre.trust)
    answer = client.deliver(ghost.record_id, ghost.data, ghost.sha256)
    assert answer.outcome is DeliveryOutcome.REJECTED, answer
    assert answer.reason == "SIGNATURE_INVALID"


def test_an_altered_genuine_record_is_refused(stolen: StolenKit) -> None:
    [genuine] = _packages_in(stolen.data_dir)
    renamed = genuine.replace(stolen.record_id.encode(), b"REC-GH-1")  # same length
    client = CentreClient(stolen.centre.url, trust=stolen.centre.trust)
    answer = client.deliver("REC-GH-1", renamed, hashlib.sha256(renamed).hexdigest())
    assert answer.outcome is DeliveryOutcome.REJECTED, answer
    assert answer.reason == "SIGNATURE_INVALID"
    flipped = bytearray(genuine)
    flipped[len(genuine) // 2] ^= 0x01
    with pytest.raises(errors.SignatureInvalid):
        verify_package(bytes(flipped), {STATION: _station_key(stolen)})


def test_the_genuine_record_opens_at_the_centre_only(stolen: StolenKit) -> None:
    [genuine] = _packages_in(stolen.data_dir)
    opened = open_package(
        genuine, stolen.centre.keys.private_key, {STATION: _station_key(stolen)}
    )
    assert opened.header.version == 2
    assert opened.header.signature_algorithm == ECDSA_P256_SHA256
    assert opened.manifest["subject"]["nik"] == NIK
