"""Errors raised while opening or verifying a sealed package. Each has a stable reason code."""

from __future__ import annotations


class PackageError(Exception):
    """Base class: the bytes are not a package this reader can trust and open."""

    reason = "PACKAGE_ERROR"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotAPackage(PackageError):
    """The bytes do not start with the package magic."""

    reason = "NOT_A_PACKAGE"


class UnsupportedVersion(PackageError):
    """The container version is newer (or older) than this reader understands."""

    reason = "UNSUPPORTED_VERSION"


class MalformedPackage(PackageError):
    """Header fields or lengths are inconsistent, or there are bytes after the signature."""

    reason = "MALFORMED_PACKAGE"


class TruncatedPackage(MalformedPackage):
    """The package ends before the lengths in its header say it should."""

    reason = "TRUNCATED_PACKAGE"


class UnknownStation(PackageError):
    """The station id (or its key id) is not among the trusted stations."""

    reason = "UNKNOWN_STATION"


class SignatureInvalid(PackageError):
    """The station signature does not verify: the package was altered or forged."""

    reason = "SIGNATURE_INVALID"


class WrongRecipient(PackageError):
    """The package was sealed for another centre key."""

    reason = "WRONG_CENTRE_KEY"


class DecryptionFailed(PackageError):
    """The ciphertext does not decrypt with this centre key."""

    reason = "DECRYPTION_FAILED"


class ContentInvalid(PackageError):
    """The decrypted content is inconsistent (manifest, hashes or transaction)."""

    reason = "CONTENT_INVALID"
