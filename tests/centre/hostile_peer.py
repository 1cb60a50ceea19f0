"""A real HTTP server on 127.0.0.1 that stands where the centre should be and answers like
what kits meet in the field: a captive portal's redirect or login page, a proxy's JSON of
another shape, or a peer that trickles its answer a byte at a time."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORTAL_PAGE = b"<html><body><h1>Wi-Fi login</h1><form>...</form></body></html>"
TRICKLE_BYTES = 400  # an answer of this many bytes, one every ``TRICKLE_GAP`` seconds
TRICKLE_GAP = 0.25


class HostilePeer:
    """``mode``: ``redirect`` (302 to a portal), ``html`` (200 text/html), ``other_json``
    (200 application/json that is not the protocol's), ``trickle`` (200 JSON whose bytes come
    one at a time). Counts requests, and answers the kit walked away from."""

    def __init__(self, mode: str) -> None:
        peer = self
        self.mode = mode
        self.requests = 0
        self.abandoned = 0  # trickled answers the kit closed before their last byte
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                with peer._lock:
                    peer.requests += 1
                length = int(self.headers.get("Content-Length", "0") or 0)
                if length:
                    self.rfile.read(length)
                getattr(self, f"_{peer.mode}")()

            do_GET = do_POST = do_PATCH = do_PUT = do_HEAD = _any

            def _answer(self, status: int, content_type: str, body: bytes, **headers: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _redirect(self) -> None:
                location = "http://portal.invalid/login?continue=/v1"
                self._answer(302, "text/html", PORTAL_PAGE, Location=location)

            def _html(self) -> None:
                self._answer(200, "text/html; charset=utf-8", PORTAL_PAGE)

            def _other_json(self) -> None:
                body = json.dumps({"status": "PRINT_READY_RECORD", "code": "RECEIVED"}).encode()
                self._answer(200, "application/json", body)

            def _trickle(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(TRICKLE_BYTES))
                self.end_headers()
                try:
                    for _ in range(TRICKLE_BYTES):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(TRICKLE_GAP)
                except OSError:
                    with peer._lock:
                        peer.abandoned += 1
                    self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="hostile-peer")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> HostilePeer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
