"""Opaque page tokens: the offset of the next page, bound to the caller who asked and tagged
with an HMAC under a key this process drew, so a token cannot be forged, reused by another
caller, or carried over a restart."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets

TAG_BYTES = 16


class PageTokens:
    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def _tag(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:TAG_BYTES]

    def token(self, caller: str, offset: int) -> str:
        body = json.dumps([caller, offset]).encode()
        return base64.urlsafe_b64encode(self._tag(body) + body).decode()

    def offset(self, caller: str, token: str) -> int:
        """The offset ``token`` stands for (0 for none); ValueError when it is not one this
        process gave ``caller``."""
        if not token:
            return 0
        try:
            raw = base64.urlsafe_b64decode(token.encode())
            name, offset = json.loads(raw[TAG_BYTES:])
        except (ValueError, TypeError) as exc:
            raise ValueError("not a page token") from exc
        genuine = hmac.compare_digest(raw[:TAG_BYTES], self._tag(raw[TAG_BYTES:]))
        if not genuine or name != caller or not isinstance(offset, int) or offset < 0:
            raise ValueError("not a page token for this caller")
        return offset
