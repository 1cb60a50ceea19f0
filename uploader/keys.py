"""Key material: the station's signing key and the centre's sealing key.

A station signs with Ed25519 (:class:`StationKeys`, a PEM file: development kits) or with ECDSA
P-256 inside a TPM 2.0 (``uploader.tpm``); both are a :class:`StationSigner` and both give raw
64-byte signatures (Ed25519's own, or ECDSA's fixed-size ``r || s``). The centre seals with a
hybrid key pair (:class:`CentreKeys`): ML-KEM-768 plus X25519 (HPKE KEM MLKEM768-X25519); its
X25519 half is also the key that version-1 packages were sealed to, so old packages still open.

Private keys live in PKCS#8 PEM files with mode 0600 inside a 0700 directory; public keys in
SubjectPublicKeyInfo PEM files (the centre's public file holds two blocks: ML-KEM-768, then
X25519). A key id is the first 8 bytes of SHA-256 of the raw public key (for EC P-256 the
uncompressed X9.62 point; for the centre's hybrid key the ML-KEM key then the X25519 key).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey, MLKEM768PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.hpke import MLKEM768X25519PrivateKey, MLKEM768X25519PublicKey

from domain.files import write_durably

STATION_PRIVATE_FILE = "station_ed25519.pem"
STATION_PUBLIC_FILE = "station_ed25519.pub.pem"
CENTRE_PRIVATE_FILE = "centre_x25519.pem"
CENTRE_PUBLIC_FILE = "centre_x25519.pub.pem"

ED25519 = "ed25519"
ECDSA_P256_SHA256 = "ecdsa-p256-sha256"
SIGNATURE_BYTES = 64
_P256_COORDINATE_BYTES = 32
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----\n?", re.DOTALL)

StationPublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey


class KeyFileError(Exception):
    """A key file is missing, unreadable, of the wrong type, or too widely readable."""


class StationSigner(Protocol):
    """What seals a package: the station's key, wherever its private half lives."""

    @property
    def public_key(self) -> StationPublicKey: ...

    @property
    def key_id(self) -> bytes: ...

    @property
    def algorithm(self) -> str: ...

    def public_pem(self) -> bytes: ...

    def sign(self, data: bytes) -> bytes:
        """A raw 64-byte signature over ``data`` (Ed25519, or ECDSA P-256/SHA-256 ``r || s``)."""
        ...


def raw_public_bytes(key: PublicKey) -> bytes:
    """The raw bytes a key id is taken over (see the module docstring)."""
    if isinstance(key, CentrePublicKey):
        return key.public_bytes_raw()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    return key.public_bytes_raw()


def key_id(key: PublicKey) -> bytes:
    """8-byte identifier of a public key (SHA-256 prefix of its raw bytes)."""
    return hashlib.sha256(raw_public_bytes(key)).digest()[:8]


def public_pem(key: StationPublicKey | X25519PublicKey | MLKEM768PublicKey) -> bytes:
    """The public key as SubjectPublicKeyInfo PEM."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def is_station_key(key: object) -> bool:
    """True for the kinds of key a station signs with: Ed25519 or EC P-256."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        return isinstance(key.curve, ec.SECP256R1)
    return isinstance(key, Ed25519PublicKey)


def signature_algorithm(key: StationPublicKey) -> str:
    """The signature algorithm a station key signs with (``ED25519`` or ``ECDSA_P256_SHA256``)."""
    return ED25519 if isinstance(key, Ed25519PublicKey) else ECDSA_P256_SHA256


def raw_ecdsa_signature(der: bytes) -> bytes:
    """An ECDSA P-256 signature in DER as fixed-size ``r || s`` (32 bytes each)."""
    r, s = decode_dss_signature(der)
    return r.to_bytes(_P256_COORDINATE_BYTES, "big") + s.to_bytes(_P256_COORDINATE_BYTES, "big")


def verify_signature(key: StationPublicKey, signature: bytes, data: bytes) -> None:
    """Check a raw 64-byte station signature; raises ``InvalidSignature`` when it does not hold."""
    if isinstance(key, Ed25519PublicKey):
        key.verify(signature, data)
        return
    if len(signature) != SIGNATURE_BYTES:
        raise InvalidSignature("an ECDSA P-256 signature is 64 bytes (r || s)")
    r = int.from_bytes(signature[:_P256_COORDINATE_BYTES], "big")
    s = int.from_bytes(signature[_P256_COORDINATE_BYTES:], "big")
    key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))


def signature_valid(key: object, signature: bytes, data: bytes) -> bool:
    """Whether a raw station signature over ``data`` holds with ``key``; any key that is not a
    station key verifies nothing."""
    if not is_station_key(key):
        return False
    try:
        verify_signature(key, signature, data)  # type: ignore[arg-type]
    except (InvalidSignature, ValueError):
        return False
    return True


def _pem_blocks(pem: bytes) -> list[bytes]:
    return [match.group(0) for match in _PEM_BLOCK.finditer(pem)]


def _load_public_block(pem: bytes) -> object:
    try:
        return serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"not a PEM public key: {exc}") from exc


def parse_public_pem(pem: bytes) -> StationPublicKey | X25519PublicKey:
    """Parse a PEM public key: an Ed25519 or EC P-256 station key, or an X25519 key."""
    key = _load_public_block(pem)
    if not (is_station_key(key) or isinstance(key, X25519PublicKey)):
        raise KeyFileError(f"unsupported public key type {type(key).__name__}")
    return key  # type: ignore[return-value]


def load_public_key(path: str | os.PathLike[str]) -> StationPublicKey | X25519PublicKey:
    """Load an Ed25519, EC P-256 or X25519 public key from a PEM file."""
    try:
        return parse_public_pem(Path(path).read_bytes())
    except OSError as exc:
        raise KeyFileError(f"cannot read public key {path}: {exc}") from exc


@dataclass(frozen=True)
class CentrePublicKey:
    """The centre's hybrid sealing key: ML-KEM-768 and X25519 (HPKE KEM MLKEM768-X25519)."""

    mlkem: MLKEM768PublicKey
    x25519: X25519PublicKey

    def hpke_key(self) -> MLKEM768X25519PublicKey:
        return MLKEM768X25519PublicKey(self.mlkem, self.x25519)

    def public_bytes_raw(self) -> bytes:
        """The ML-KEM-768 encapsulation key (1184 bytes), then the X25519 key (32 bytes)."""
        return self.mlkem.public_bytes_raw() + self.x25519.public_bytes_raw()

    @property
    def key_id(self) -> bytes:
        return key_id(self)

    def public_pem(self) -> bytes:
        """Two SubjectPublicKeyInfo PEM blocks: ML-KEM-768, then X25519."""
        return public_pem(self.mlkem) + public_pem(self.x25519)

    @classmethod
    def from_pem(cls, pem: bytes) -> CentrePublicKey:
        keys = [_load_public_block(block) for block in _pem_blocks(pem)]
        mlkem = [k for k in keys if isinstance(k, MLKEM768PublicKey)]
        x25519 = [k for k in keys if isinstance(k, X25519PublicKey)]
        if len(mlkem) != 1 or len(x25519) != 1:
            raise KeyFileError(
                "the centre's public key file must hold one ML-KEM-768 and one X25519 key "
                f"(found {len(mlkem)} and {len(x25519)})"
            )
        return cls(mlkem[0], x25519[0])


PublicKey = StationPublicKey | X25519PublicKey | MLKEM768PublicKey | CentrePublicKey


def load_centre_public_key(path: str | os.PathLike[str]) -> CentrePublicKey:
    """Load the centre's hybrid public key (ML-KEM-768 + X25519 PEM blocks) from a file."""
    try:
        return CentrePublicKey.from_pem(Path(path).read_bytes())
    except OSError as exc:
        raise KeyFileError(f"cannot read public key {path}: {exc}") from exc
    except KeyFileError as exc:
        raise KeyFileError(f"{path}: {exc}") from exc


def load_station_public_key(path: str | os.PathLike[str]) -> StationPublicKey:
    """Load a station's Ed25519 or EC P-256 public key from a PEM file."""
    key = load_public_key(path)
    if not is_station_key(key):
        raise KeyFileError(f"{path} is not an Ed25519 or EC P-256 public key")
    return key  # type: ignore[return-value]


def _prepare_dir(directory: Path) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)


def _read_private(path: Path) -> bytes:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise KeyFileError(f"{path} is readable by others (mode {mode:o}); expected 0600")
    return path.read_bytes()


def _private_pem(key: Ed25519PrivateKey | X25519PrivateKey | MLKEM768PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class StationKeys:
    """The station's Ed25519 signing key pair in a PEM file: development and simulated kits."""

    private_key: Ed25519PrivateKey
    algorithm: ClassVar[str] = ED25519

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def key_id(self) -> bytes:
        return key_id(self.public_key)

    def public_pem(self) -> bytes:
        return public_pem(self.public_key)

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)

    @classmethod
    def generate(cls) -> StationKeys:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, directory: str | os.PathLike[str]) -> StationKeys:
        """Load the key pair from ``directory``, creating it (0600 files, 0700 dir) if absent."""
        folder = Path(directory)
        _prepare_dir(folder)
        private_path = folder / STATION_PRIVATE_FILE
        if private_path.exists():
            key = serialization.load_pem_private_key(_read_private(private_path), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise KeyFileError(f"{private_path} is not an Ed25519 private key")
            keys = cls(key)
        else:
            keys = cls.generate()
            write_durably(private_path, _private_pem(keys.private_key))
        public_path = folder / STATION_PUBLIC_FILE
        if not public_path.exists():
            write_durably(public_path, keys.public_pem())
        return keys


@dataclass(frozen=True)
class CentrePrivateKey:
    """The centre's hybrid private key; its X25519 half also opens version-1 packages."""

    mlkem: MLKEM768PrivateKey
    x25519: X25519PrivateKey

    def public_key(self) -> CentrePublicKey:
        return CentrePublicKey(self.mlkem.public_key(), self.x25519.public_key())

    def hpke_key(self) -> MLKEM768X25519PrivateKey:
        return MLKEM768X25519PrivateKey(self.mlkem, self.x25519)

    def private_pem(self) -> bytes:
        """Two PKCS#8 PEM blocks: ML-KEM-768 (its 64-byte seed), then X25519."""
        return _private_pem(self.mlkem) + _private_pem(self.x25519)

    @classmethod
    def generate(cls) -> CentrePrivateKey:
        return cls(MLKEM768PrivateKey.generate(), X25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes, *, add_mlkem: bool = False) -> CentrePrivateKey:
        """Parse the private PEM blocks. A file from before the hybrid key holds X25519 only:
        with ``add_mlkem`` a new ML-KEM-768 key joins it, otherwise it is refused."""
        keys = []
        for block in _pem_blocks(pem):
            try:
                keys.append(serialization.load_pem_private_key(block, password=None))
            except (ValueError, TypeError) as exc:
                raise KeyFileError(f"not a usable PEM private key: {exc}") from exc
        mlkem = [k for k in keys if isinstance(k, MLKEM768PrivateKey)]
        x25519 = [k for k in keys if isinstance(k, X25519PrivateKey)]
        if not mlkem and add_mlkem:
            mlkem = [MLKEM768PrivateKey.generate()]
        if len(mlkem) != 1 or len(x25519) != 1:
            raise KeyFileError(
                "the centre's private key file must hold one ML-KEM-768 and one X25519 key "
                f"(found {len(mlkem)} and {len(x25519)})"
            )
        return cls(mlkem[0], x25519[0])


@dataclass(frozen=True)
class CentreKeys:
    """The centre's hybrid key pair (ML-KEM-768 + X25519) that stations seal packages to."""

    private_key: CentrePrivateKey
    public_key_path: Path | None = None

    @property
    def public_key(self) -> CentrePublicKey:
        return self.private_key.public_key()

    @property
    def key_id(self) -> bytes:
        return key_id(self.public_key)

    def public_pem(self) -> bytes:
        return self.public_key.public_pem()

    @classmethod
    def generate(cls) -> CentreKeys:
        return cls(CentrePrivateKey.generate())

    @classmethod
    def load_or_create(
        cls,
        directory: str | os.PathLike[str],
        public_path: str | os.PathLike[str] | None = None,
    ) -> CentreKeys:
        """Load or create the key pair in ``directory`` (0700, private key 0600).

        A key file from before the hybrid key (X25519 only) keeps its X25519 key, which old
        packages were sealed to, and gains an ML-KEM-768 key. The public PEM is written with
        mode 0644 to ``public_path`` (default: inside ``directory``) so that stations can read it.
        """
        folder = Path(directory)
        _prepare_dir(folder)
        private_path = folder / CENTRE_PRIVATE_FILE
        if private_path.exists():
            pem = _read_private(private_path)
            key = CentrePrivateKey.from_pem(pem, add_mlkem=True)
            if key.private_pem() != pem:
                write_durably(private_path, key.private_pem())
        else:
            key = CentrePrivateKey.generate()
            write_durably(private_path, key.private_pem())
        target = Path(public_path) if public_path else folder / CENTRE_PUBLIC_FILE
        published = key.public_key().public_pem()
        if not target.exists() or target.read_bytes() != published:
            write_durably(target, published, mode=0o644)
        return cls(key, target)


def load_centre_private_key(path: str | os.PathLike[str]) -> CentrePrivateKey:
    """Load the centre's hybrid private key from a PKCS#8 PEM file readable by its owner only."""
    file = Path(path)
    try:
        if b"PRIVATE KEY" not in file.read_bytes():
            raise KeyFileError(
                f"{file} is not a private key; opening needs the centre's private key"
            )
        pem = _read_private(file)
    except OSError as exc:
        raise KeyFileError(f"cannot read centre key {file}: {exc.strerror or exc}") from exc
    try:
        return CentrePrivateKey.from_pem(pem)
    except KeyFileError as exc:
        raise KeyFileError(f"{file}: {exc}") from exc


class StationKeyring:
    """Trusted station public keys, found by key id (the id a package header names)."""

    def __init__(self, keys: list[StationPublicKey] | None = None) -> None:
        self._by_id: dict[bytes, StationPublicKey] = {}
        for key in keys or []:
            self.add(key)

    def __len__(self) -> int:
        return len(self._by_id)

    def add(self, key: StationPublicKey) -> None:
        self._by_id[key_id(key)] = key

    def get(self, station_key_id: bytes) -> StationPublicKey | None:
        return self._by_id.get(station_key_id)

    @classmethod
    def load(cls, paths: list[str | os.PathLike[str]]) -> StationKeyring:
        """Keys from PEM files and from every public-key ``*.pem`` file in directories.

        A named file must hold an Ed25519 or EC P-256 public key; in a directory, other PEM
        files (private keys, X25519 keys) are passed over. Raises KeyFileError when nothing
        usable is found.
        """
        ring = cls()
        for entry in map(Path, paths):
            if entry.is_dir():
                for file in sorted(entry.glob("*.pem")):
                    try:
                        if b"BEGIN PUBLIC KEY" not in file.read_bytes():
                            continue
                        key = load_public_key(file)
                    except (OSError, KeyFileError):
                        continue
                    if is_station_key(key):
                        ring.add(key)  # type: ignore[arg-type]
            else:
                ring.add(load_station_public_key(entry))
        if not ring:
            raise KeyFileError(
                f"no Ed25519 station public key found in {', '.join(map(str, paths))}"
            )
        return ring
