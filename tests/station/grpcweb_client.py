"""A minimal gRPC-Web client written from the protocol document (grpc/grpc doc/PROTOCOL-WEB.md),
independent of the station's gateway code: frames a request, reads frames and the trailer block."""

from __future__ import annotations

import base64
import http.client
import struct
from dataclasses import dataclass, field
from urllib.parse import unquote


@dataclass
class WebAnswer:
    http_status: int
    headers: dict[str, str]
    messages: list[bytes] = field(default_factory=list)
    trailers: dict[str, str] = field(default_factory=dict)

    @property
    def grpc_status(self) -> int:
        return int(self.trailers.get("grpc-status", self.headers.get("grpc-status", "-1")))

    @property
    def grpc_message(self) -> str:
        return unquote(self.trailers.get("grpc-message", ""))

    def details_bin(self) -> bytes:
        value = self.trailers["grpc-status-details-bin"]
        return base64.b64decode(value + "=" * (-len(value) % 4))


def decode_frames(body: bytes, text: bool) -> tuple[list[bytes], dict[str, str]]:
    """Messages and trailers of a response body (text: padded base64 pieces, 4 chars at a time)."""
    if text:
        body = b"".join(base64.b64decode(body[i : i + 4]) for i in range(0, len(body), 4))
    messages: list[bytes] = []
    trailers: dict[str, str] = {}
    offset = 0
    while offset < len(body):
        flag, length = struct.unpack_from(">BI", body, offset)
        payload = body[offset + 5 : offset + 5 + length]
        offset += 5 + length
        if flag & 0x80:
            for line in payload.decode().split("\r\n"):
                if line:
                    key, _, value = line.partition(":")
                    trailers[key.strip().lower()] = value.strip()
        else:
            messages.append(payload)
    return messages, trailers


def grpc_web_call(
    port: int,
    method: str,
    message: bytes,
    headers: dict[str, str] | None = None,
    *,
    text: bool = False,
    timeout: float = 20.0,
) -> WebAnswer:
    """POST one framed message to ``/package.Service/Method``; the whole answer."""
    body = struct.pack(">BI", 0, len(message)) + message
    kind = "application/grpc-web-text" if text else "application/grpc-web+proto"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(
            "POST",
            method,
            body=base64.b64encode(body) if text else body,
            headers={"content-type": kind, "x-grpc-web": "1", **(headers or {})},
        )
        response = connection.getresponse()
        raw = response.read()
        answer = WebAnswer(response.status, {k.lower(): v for k, v in response.getheaders()})
    finally:
        connection.close()
    if answer.http_status == 200:
        answer.messages, answer.trailers = decode_frames(raw, text)
    return answer


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}
