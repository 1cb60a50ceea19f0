"""TLS and mutual TLS: for the gRPC port, server credentials from ``[station.tls]`` and the
matching channel credentials for clients (the operator app, tests); towards the centre, the pins
of ``[centre]`` (its TLS key, its receipt key, this kit's client certificate)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import grpc

from station.config import StationConfig, TlsConfig
from uploader.centre_trust import CentreTrust, CentreTrustError


class TlsSetupError(ValueError):
    """``[station.tls]`` or the centre's pins in ``[centre]`` are incomplete or unreadable."""


def _read(path: str, what: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TlsSetupError(f"cannot read the {what} {path}: {exc.strerror}") from exc
    if b"-----BEGIN " not in data:
        raise TlsSetupError(f"the {what} {path} is not PEM")
    return data


def server_credentials(tls: TlsConfig) -> grpc.ServerCredentials:
    """Credentials for the gRPC port: TLS, and mutual TLS when ``client_ca`` is set (callers
    without a certificate signed by that CA are refused during the handshake)."""
    if not (tls.cert and tls.key):
        raise TlsSetupError("set both [station.tls] cert and key")
    pair = (_read(tls.key, "TLS key"), _read(tls.cert, "TLS certificate"))
    client_ca = _read(tls.client_ca, "client CA") if tls.client_ca else None
    return grpc.ssl_server_credentials(
        [pair], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


def channel_credentials(
    ca_pem: bytes, cert_pem: bytes | None = None, key_pem: bytes | None = None
) -> grpc.ChannelCredentials:
    """Client credentials trusting ``ca_pem``, with a client certificate for mutual TLS."""
    return grpc.ssl_channel_credentials(
        root_certificates=ca_pem, private_key=key_pem, certificate_chain=cert_pem
    )


def centre_trust(config: StationConfig, simulated: bool = False) -> CentreTrust:
    """What the kit pins for its centre (``[centre] receipt_key``, ``tls_pin``, client
    certificate). The centre is reached over https:// with its key pinned; plain http:// is
    refused unless the kit is simulated (``rekam serve --simulate``)."""
    centre = config.centre
    if not centre.receipt_key:
        raise TlsSetupError(
            "Set [centre] receipt_key: the kit acts only on answers the centre signed."
        )
    try:
        trust = CentreTrust.load(
            centre.receipt_key,
            centre.tls_pin,
            centre.client_cert,
            centre.client_key,
            allow_plain_http=simulated,
        )
        trust.check_url(urlsplit(centre.url).scheme)
    except CentreTrustError as exc:
        raise TlsSetupError(f"[centre]: {exc}.") from exc
    return trust
