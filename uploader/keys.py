"""Key material: the station's Ed25519 signing key and the centre's X25519 sealing key.

Private keys live in PKCS#8 PEM files with mode 0600 inside a 0700 directory; public keys in
SubjectPublicKeyInfo PEM files. A key id is the first 8 bytes of SHA-256 of the raw public key.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from domain.files import write_durably

STATION_PRIVATE_FILE = "station_ed25519.pem"
STATION_PUBLIC_FILE = "station_ed25519.pub.pem"
CENTRE_PRIVATE_FILE = "centre_x25519.pem"
CENTRE_PUBLIC_FILE = "centre_x25519.pub.pem"

PublicKey = Ed25519PublicKey | X25519PublicKey


class KeyFileError(Exception):
    """A key file is missing, unreadable, of the wrong type, or too widely readable."""


def raw_public_bytes(key: PublicKey) -> bytes:
    """The 32 raw bytes of an Ed25519 or X25519 public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: PublicKey) -> bytes:
    """8-byte identifier of a public key (SHA-256 prefix of its raw bytes)."""
    return hashlib.sha256(raw_public_bytes(key)).digest()[:8]


def public_pem(key: PublicKey) -> bytes:
    """The public key as SubjectPublicKeyInfo PEM."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def parse_public_pem(pem: bytes) -> PublicKey:
    """Parse a PEM public key; only Ed25519 and X25519 keys are accepted."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey | X25519PublicKey):
        raise KeyFileError(f"unsupported public key type {type(key).__name__}")
    return key


def load_public_key(path: str | os.PathLike[str]) -> PublicKey:
    """Load an Ed25519 or X25519 public key from a PEM file."""
    try:
        return parse_public_pem(Path(path).read_bytes())
    except OSError as exc:
        raise KeyFileError(f"cannot read public key {path}: {exc}") from exc


def load_centre_public_key(path: str | os.PathLike[str]) -> X25519PublicKey:
    """Load the centre's X25519 public key from a PEM file."""
    key = load_public_key(path)
    if not isinstance(key, X25519PublicKey):
        raise KeyFileError(f"{path} is not an X25519 public key")
    return key


def load_station_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """Load a station's Ed25519 public key from a PEM file."""
    key = load_public_key(path)
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path} is not an Ed25519 public key")
    return key


def _prepare_dir(directory: Path) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)


def _read_private(path: Path) -> bytes:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise KeyFileError(f"{path} is readable by others (mode {mode:o}); expected 0600")
    return path.read_bytes()


def _private_pem(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class StationKeys:
    """The station's Ed25519 signing key pair."""

    private_key: Ed25519PrivateKey

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
class CentreKeys:
    """The centre's X25519 key pair that stations seal packages to."""

    private_key: X25519PrivateKey
    public_key_path: Path | None = None

    @property
    def public_key(self) -> X25519PublicKey:
        return self.private_key.public_key()

    @property
    def key_id(self) -> bytes:
        return key_id(self.public_key)

    def public_pem(self) -> bytes:
        return public_pem(self.public_key)

    @classmethod
    def generate(cls) -> CentreKeys:
        return cls(X25519PrivateKey.generate())

    @classmethod
    def load_or_create(
        cls,
        directory: str | os.PathLike[str],
        public_path: str | os.PathLike[str] | None = None,
    ) -> CentreKeys:
        """Load or create the key pair in ``directory`` (0700, private key 0600).

        The public PEM is written with mode 0644 to ``public_path`` (default: inside
        ``directory``) so that stations can read it.
        """
        folder = Path(directory)
        _prepare_dir(folder)
        private_path = folder / CENTRE_PRIVATE_FILE
        if private_path.exists():
            key = serialization.load_pem_private_key(_read_private(private_path), password=None)
            if not isinstance(key, X25519PrivateKey):
                raise KeyFileError(f"{private_path} is not an X25519 private key")
        else:
            key = X25519PrivateKey.generate()
            write_durably(private_path, _private_pem(key))
        target = Path(public_path) if public_path else folder / CENTRE_PUBLIC_FILE
        if not target.exists() or target.read_bytes() != public_pem(key.public_key()):
            write_durably(target, public_pem(key.public_key()), mode=0o644)
        return cls(key, target)


def load_centre_private_key(path: str | os.PathLike[str]) -> X25519PrivateKey:
    """Load the centre's X25519 private key from a PKCS#8 PEM file readable by its owner only."""
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
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{file} is not a usable PEM private key: {exc}") from exc
    if not isinstance(key, X25519PrivateKey):
        raise KeyFileError(f"{file} is not an X25519 private key")
    return key


class StationKeyring:
    """Trusted station public keys, found by key id (the id a package header names)."""

    def __init__(self, keys: list[Ed25519PublicKey] | None = None) -> None:
        self._by_id: dict[bytes, Ed25519PublicKey] = {}
        for key in keys or []:
            self.add(key)

    def __len__(self) -> int:
        return len(self._by_id)

    def add(self, key: Ed25519PublicKey) -> None:
        self._by_id[key_id(key)] = key

    def get(self, station_key_id: bytes) -> Ed25519PublicKey | None:
        return self._by_id.get(station_key_id)

    @classmethod
    def load(cls, paths: list[str | os.PathLike[str]]) -> StationKeyring:
        """Keys from PEM files and from every public-key ``*.pem`` file in directories.

        A named file must hold an Ed25519 public key; in a directory, other PEM files (private
        keys, X25519 keys) are passed over. Raises KeyFileError when nothing usable is found.
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
                    if isinstance(key, Ed25519PublicKey):
                        ring.add(key)
            else:
                ring.add(load_station_public_key(entry))
        if not ring:
            raise KeyFileError(
                f"no Ed25519 station public key found in {', '.join(map(str, paths))}"
            )
        return ring
