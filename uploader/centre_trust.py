"""What a kit trusts about its centre: the TLS key it pins, the key that signs receipts, and the
client certificate it shows (mutual TLS).

Pinning follows RFC 7469's pin (SHA-256 of the server certificate's SubjectPublicKeyInfo): the
kit completes the TLS handshake without consulting any certificate authority, then compares the
pin of the certificate the server presented before it sends a single request byte. A pin can be
given as ``sha256/<base64>`` (RFC 7469's form), as 64 hex digits, or by naming the centre's
certificate file. Plain ``http://`` is refused unless the trust says the kit is simulated.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import http.client
import re
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from uploader.keys import KeyFileError, load_public_key

_HEX_PIN = re.compile(r"^[0-9a-fA-F]{64}$")


class CentreTrustError(ValueError):
    """The centre's trust settings are incomplete or unreadable; the message says which."""


class PinMismatch(ssl.SSLError):
    """The server's certificate key is not the pinned one (a fake centre or an intercepting
    proxy): the connection is closed before any request is sent."""


def spki_sha256(certificate: x509.Certificate) -> bytes:
    """SHA-256 of the certificate's SubjectPublicKeyInfo (RFC 7469 section 2.4)."""
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()


def pin_text(pin: bytes) -> str:
    """``sha256/<base64>``, the form configuration files and logs show."""
    return "sha256/" + base64.b64encode(pin).decode()


def parse_pin(value: str) -> bytes:
    """A pin from ``sha256/<base64>``, 64 hex digits, or the path of a PEM certificate."""
    text = value.strip()
    if _HEX_PIN.match(text):
        return bytes.fromhex(text)
    if text.startswith("sha256/"):
        try:
            pin = base64.b64decode(text[len("sha256/") :], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CentreTrustError(f"TLS pin {value!r} is not base64") from exc
        if len(pin) != 32:
            raise CentreTrustError(f"TLS pin {value!r} is not a SHA-256 digest")
        return pin
    try:
        certificate = x509.load_pem_x509_certificate(Path(text).read_bytes())
    except (OSError, ValueError) as exc:
        raise CentreTrustError(
            f"TLS pin {value!r} is neither sha256/<base64>, 64 hex digits, nor a readable PEM "
            f"certificate: {exc}"
        ) from exc
    return spki_sha256(certificate)


@dataclass(frozen=True)
class CentreTrust:
    """The pins a kit holds for one centre.

    ``receipt_key`` verifies every answer the kit acts on; ``tls_pin`` (SPKI SHA-256) is
    required for ``https://``; ``client_cert``/``client_key`` (PEM paths) are shown to a centre
    that asks for mutual TLS; ``allow_plain_http`` only for a simulated kit.
    """

    receipt_key: Ed25519PublicKey
    tls_pin: bytes | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    allow_plain_http: bool = False

    @classmethod
    def load(
        cls,
        receipt_key: str | Path,
        tls_pin: str = "",
        client_cert: str | Path | None = None,
        client_key: str | Path | None = None,
        *,
        allow_plain_http: bool = False,
    ) -> CentreTrust:
        """From configuration values; raises :class:`CentreTrustError`."""
        try:
            key = load_public_key(receipt_key)
        except KeyFileError as exc:
            raise CentreTrustError(f"centre receipt key: {exc}") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise CentreTrustError(f"centre receipt key {receipt_key} is not an Ed25519 key")
        if bool(client_cert) != bool(client_key):
            raise CentreTrustError("set both the client certificate and its key, or neither")
        return cls(
            key,
            parse_pin(tls_pin) if tls_pin else None,
            Path(client_cert) if client_cert else None,
            Path(client_key) if client_key else None,
            allow_plain_http,
        )

    def check_url(self, scheme: str) -> None:
        """Refuse a scheme this trust cannot protect."""
        if scheme == "http" and not self.allow_plain_http:
            raise CentreTrustError(
                "the centre URL is plain http://; a kit reaches its centre over https:// with "
                "the centre's certificate pinned (plain http only with --simulate)"
            )
        if scheme == "https" and self.tls_pin is None:
            raise CentreTrustError("an https:// centre needs its TLS pin ([centre] tls_pin)")

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that checks the pin itself (see :class:`PinnedHTTPSConnection`)
        and presents the client certificate when one is set."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the pin, not a CA, says who the centre is
        if self.client_cert and self.client_key:
            try:
                context.load_cert_chain(self.client_cert, self.client_key)
            except (OSError, ssl.SSLError) as exc:
                raise CentreTrustError(f"client certificate {self.client_cert}: {exc}") from exc
        return context


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection that is closed unless the server's key matches ``pin``."""

    def __init__(self, host: str, port: int | None, *, pin: bytes, **kwargs: object) -> None:
        super().__init__(host, port, **kwargs)  # type: ignore[arg-type]
        self._pin = pin

    def connect(self) -> None:
        super().connect()
        der = self.sock.getpeercert(binary_form=True)
        presented = spki_sha256(x509.load_der_x509_certificate(der)) if der else b""
        if presented != self._pin:
            self.sock.close()
            raise PinMismatch(
                f"the centre's TLS key {pin_text(presented)} is not the pinned "
                f"{pin_text(self._pin)}"
            )
