"""Checking a station's signature over bytes that are not a package (bundle manifests, key
rotation proofs), whatever kind of station key signed them."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def is_station_key(key: object) -> bool:
    """Whether ``key`` is a kind of public key a station signs with."""
    if isinstance(key, Ed25519PublicKey):
        return True
    return isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)


def signature_valid(key: object, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` over ``data`` verifies with the station key ``key``: Ed25519, or
    ECDSA P-256 with SHA-256 (DER signature). Any other key verifies nothing."""
    try:
        if isinstance(key, Ed25519PublicKey):
            key.verify(signature, data)
        elif isinstance(key, ec.EllipticCurvePublicKey) and is_station_key(key):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        else:
            return False
    except InvalidSignature:
        return False
    return True
