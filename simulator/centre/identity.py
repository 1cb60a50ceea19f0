"""The simulated centre's own identity: its TLS certificate and its receipt-signing key.

Both are created on first start in the centre's data directory and kept: ``tls/centre.pem``
(a self-signed ECDSA P-256 certificate for 127.0.0.1 and localhost) with its key, and
``keys/receipts_ed25519.pem`` (Ed25519), whose public half ``centre_receipts.pub.pem`` kits pin
together with the certificate's SPKI pin (written to ``centre_tls.pin``).
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from domain.files import write_durably
from uploader.centre_trust import pin_text, spki_sha256
from uploader.keys import public_pem

PrivateKey = ec.EllipticCurvePrivateKey | Ed25519PrivateKey
RECEIPT_PRIVATE_FILE = "receipts_ed25519.pem"
RECEIPT_PUBLIC_FILE = "centre_receipts.pub.pem"
TLS_PIN_FILE = "centre_tls.pin"
_CERT_DAYS = 3650


def _private_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_or_create_private(path: Path, make: Callable[[], PrivateKey]) -> object:
    if path.exists():
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    key = make()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_durably(path, _private_pem(key))
    return key


def self_signed_certificate(key: ec.EllipticCurvePrivateKey, name: str) -> x509.Certificate:
    """A certificate for ``key`` naming 127.0.0.1, ::1 and localhost, signed by itself."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_CERT_DAYS))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                    x509.DNSName("localhost"),
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )


@dataclass(frozen=True)
class CentreIdentity:
    """Paths and keys of the centre's TLS certificate and receipt key."""

    cert_path: Path
    key_path: Path
    receipt_key: Ed25519PrivateKey
    receipt_public_path: Path
    tls_pin: bytes

    @property
    def pin_text(self) -> str:
        return pin_text(self.tls_pin)

    @classmethod
    def load_or_create(cls, data_dir: Path) -> CentreIdentity:
        tls_dir = data_dir / "tls"
        key_path = tls_dir / "centre.key"
        cert_path = tls_dir / "centre.pem"
        tls_key = _load_or_create_private(
            key_path, lambda: ec.generate_private_key(ec.SECP256R1())
        )
        assert isinstance(tls_key, ec.EllipticCurvePrivateKey)
        if not cert_path.exists():
            certificate = self_signed_certificate(tls_key, "rekam simulated centre")
            write_durably(
                cert_path, certificate.public_bytes(serialization.Encoding.PEM), mode=0o644
            )
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        receipt_key = _load_or_create_private(
            data_dir / "keys" / RECEIPT_PRIVATE_FILE, Ed25519PrivateKey.generate
        )
        assert isinstance(receipt_key, Ed25519PrivateKey)
        receipt_public_path = data_dir / RECEIPT_PUBLIC_FILE
        write_durably(receipt_public_path, public_pem(receipt_key.public_key()), mode=0o644)
        pin = spki_sha256(certificate)
        write_durably(data_dir / TLS_PIN_FILE, (pin_text(pin) + "\n").encode(), mode=0o644)
        return cls(cert_path, key_path, receipt_key, receipt_public_path, pin)
