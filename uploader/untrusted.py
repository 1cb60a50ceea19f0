"""Opening a package that came from outside (the centre's ingest, ``rekam inspect``): whatever
the bytes make the parsers raise, the caller gets a :class:`uploader.errors.PackageError` with a
reason, never another exception that would drop a connection or crash a command."""

from __future__ import annotations

import logging
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from uploader import errors
from uploader.package import OpenedPackage, open_package

log = logging.getLogger(__name__)


def open_untrusted(
    data: bytes,
    centre_private_key: X25519PrivateKey,
    trusted_stations: dict[str, Any],
    *,
    decode_images: bool = True,
) -> OpenedPackage:
    """:func:`uploader.package.open_package`, with every failure a PackageError.

    The image decoders run only on headers ``uploader.image_limits`` accepted; anything a
    parser still raises (a RecursionError from a deeply nested manifest, a MemoryError, a
    decoder's own error) is reported as CONTENT_INVALID with its cause.
    """
    try:
        return open_package(
            data, centre_private_key, trusted_stations, decode_images=decode_images
        )
    except errors.PackageError:
        raise
    except Exception as exc:  # a hostile package must not escape as anything else
        log.warning("package refused: its content broke a parser: %r", exc)
        raise errors.ContentInvalid(f"content cannot be parsed: {exc!r}"[:500]) from exc
