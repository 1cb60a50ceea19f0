"""Opaque page tokens and bounded page sizes for the list calls.

A token is a versioned keyset cursor: base64url of ``version (1 byte) | tag (16 bytes) |
key (8 bytes, big-endian)``, where ``key`` is the place of the last item of the page (its
sequence number, never an offset) and ``tag`` an HMAC-SHA256 under a key this process drew,
over the version, the caller, the query (the filters the token was given for) and the key. A
token cannot be forged, altered, used by another caller or with other filters, or carried over
a restart; items added or removed between two pages neither repeat nor hide others.
(Keyset pagination, AIP-158 "Pagination": https://google.aip.dev/158.)"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct

VERSION = 1
TAG_BYTES = 16
_KEY = struct.Struct(">Q")
_TOKEN_BYTES = 1 + TAG_BYTES + _KEY.size


class PageSizeInvalid(ValueError):
    """A page size below 0 or above the call's maximum."""


def page_size(requested: int, default: int, maximum: int) -> int:
    """The page size to serve: ``default`` for 0, ``requested`` within 1..``maximum``;
    PageSizeInvalid otherwise."""
    if requested < 0 or requested > maximum:
        raise PageSizeInvalid(f"page size {requested} is outside 0..{maximum}")
    return requested or default


class PageTokens:
    """Issues and reads the page tokens of one list call family."""

    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)

    def _tag(self, caller: str, query: str, key: bytes) -> bytes:
        bound = b"\x00".join((bytes([VERSION]), caller.encode(), query.encode(), key))
        return hmac.new(self._secret, bound, hashlib.sha256).digest()[:TAG_BYTES]

    def token(self, caller: str, query: str, after: int) -> str:
        """The token for the page after the item at ``after``, for ``caller`` and ``query``."""
        key = _KEY.pack(after)
        raw = bytes([VERSION]) + self._tag(caller, query, key) + key
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def after(self, caller: str, query: str, token: str) -> int:
        """The place ``token`` continues after (0 for no token); ValueError when it is not one
        this process gave ``caller`` for ``query``."""
        if not token:
            return 0
        try:
            raw = base64.urlsafe_b64decode(token.encode("ascii") + b"=" * (-len(token) % 4))
        except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
            raise ValueError("not a page token") from exc
        if len(raw) != _TOKEN_BYTES or raw[0] != VERSION:
            raise ValueError("not a page token of this version")
        tag, key = raw[1 : 1 + TAG_BYTES], raw[1 + TAG_BYTES :]
        if not hmac.compare_digest(tag, self._tag(caller, query, key)):
            raise ValueError("not a page token for this caller and query")
        return int(_KEY.unpack(key)[0])
