"""The web door's HTTP server: gRPC-Web calls, preview URLs and MJPEG previews on loopback.

Routes (every one behind the loopback ``Host`` check and the origin policy, station.web.origins):

- ``OPTIONS *``: the CORS preflight, answered only for allowed origins.
- ``POST /<package.Service>/<Method>`` with ``application/grpc-web[+proto]`` or
  ``application/grpc-web-text[+proto]``: the call, forwarded (station.web.forwarding).
- ``POST /v1/devices/<id>/preview-url`` with ``authorization: Bearer``: a signed, short-lived
  URL of the device's MJPEG preview, as JSON ``{"url": ..., "expires_at": <unix seconds>}``.
- ``GET /v1/devices/<id>/preview.mjpeg``: the preview, authorised by a bearer token or by the
  ``access`` pass of a preview URL (station.web.preview).

The server is bounded: at most ``max_connections`` connections are served at once, each by its
own thread (more are answered 503 and closed); a request body is read only up to
``MAX_REQUEST_BYTES``; an idle connection is closed after ``IDLE_TIMEOUT_S``; responses are
written frame by frame as the daemon produces them, never gathered.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import grpc

from capture.engine import CaptureSettings
from drivers.base import Device, ImageDevice
from station.auth import TokenStore, allowed_roles, bearer_token
from station.web import framing
from station.web.forwarding import CallStatus, ForwardedCall, Forwarder, Headers
from station.web.origins import OriginPolicy, loopback_host
from station.web.preview import (
    FRAME_WAIT_S,
    MJPEG_CONTENT_TYPE,
    PreviewPasses,
    mjpeg_part,
    preview_frames,
)

MAX_REQUEST_BYTES = 4 * 1024 * 1024
IDLE_TIMEOUT_S = 30.0
DISCONNECT_POLL_S = 0.5
PREVIEW_STOP_WAIT_S = FRAME_WAIT_S + 3.0
# Seeing a resident's live picture is allowed to whoever may capture it.
PREVIEW_ROLES_OF = "/station.v1.Enrollment/Capture"


@dataclass(frozen=True)
class WebDoorSettings:
    """What the door needs from ``[station.web]`` and ``[capture]``."""

    host: str
    port: int
    allowed_origins: list[str]
    preview_url_ttl_s: float
    max_connections: int
    capture: CaptureSettings


class _BoundedServer(ThreadingHTTPServer):
    """A thread per connection, at most ``max_connections`` of them."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type, max_connections: int) -> None:
        self.max_connections = max_connections
        self._served = 0
        self._count_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._count_lock:
            admitted = self._served < self.max_connections
            self._served += admitted
        if not admitted:
            with contextlib.suppress(OSError):
                request.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                    b"Connection: close\r\n\r\n"
                )
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._count_lock:
                self._served -= 1

    def busy(self) -> int:
        """Connections being served now."""
        with self._count_lock:
            return self._served


class WebDoor:
    """gRPC-Web calls (through ``forwarder`` to the daemon's gRPC server) and MJPEG previews of
    the devices ``device(id)`` finds. ``audit(actor, action, target)`` records who opened which
    preview: watching a resident's face is an access like any other."""

    def __init__(
        self,
        settings: WebDoorSettings,
        forwarder: Forwarder,
        tokens: TokenStore,
        device: Callable[[str], Device | None],
        audit: Callable[[str, str, str], object] = lambda *_: None,
    ) -> None:
        self.settings = settings
        self.forwarder = forwarder
        self.tokens = tokens
        self.device = device
        self.audit = audit
        self.origins = OriginPolicy.of(settings.allowed_origins)
        self.passes = PreviewPasses(settings.preview_url_ttl_s)
        self.stopping = threading.Event()
        self._previews: set[threading.Event] = set()
        self._previews_changed = threading.Condition()
        self._server = _BoundedServer(
            (settings.host, settings.port), _handler_for(self), settings.max_connections
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="web-door", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = self.settings.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    def busy(self) -> int:
        """Connections being served now (at most ``max_connections``)."""
        return self._server.busy()

    def start(self) -> WebDoor:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, end running calls and previews."""
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self.forwarder.close()
        with self._previews_changed:
            for cancel in self._previews:
                cancel.set()
            # A preview holds its camera until its frame is in: wait, so that the devices are
            # never closed under a capture.
            self._previews_changed.wait_for(lambda: not self._previews, PREVIEW_STOP_WAIT_S)
        self._thread.join(timeout=5)

    @contextmanager
    def preview_running(self) -> Iterator[threading.Event]:
        """The cancel event of one preview stream, set when the door stops."""
        cancel = threading.Event()
        with self._previews_changed:
            if self.stopping.is_set():
                cancel.set()
            self._previews.add(cancel)
        try:
            yield cancel
        finally:
            cancel.set()
            with self._previews_changed:
                self._previews.discard(cancel)
                self._previews_changed.notify_all()

    def operator_of(self, headers: Any, roles_of: str) -> tuple[int, str]:
        """(HTTP status, operator name) for the bearer token in ``headers``: 200 with the name,
        401 without a valid token, 403 for a role that may not call ``roles_of``."""
        check = self.tokens.check(bearer_token([("authorization", headers.get("authorization"))]))
        if check.operator is None:
            return HTTPStatus.UNAUTHORIZED, ""
        if check.operator.role not in allowed_roles(roles_of):
            return HTTPStatus.FORBIDDEN, check.operator.name
        return HTTPStatus.OK, check.operator.name


def _status(code: grpc.StatusCode, message: str) -> CallStatus:
    return CallStatus(code.value[0], message)


def _watch_disconnect(
    connection: socket.socket, call: ForwardedCall, done: threading.Event
) -> threading.Thread:
    """A thread that cancels ``call`` when the client closes its connection (a page that
    navigated away) while the daemon has nothing to send, so the call does not outlive it."""

    def watch() -> None:
        while not done.is_set():
            readable, _, _ = select.select([connection], [], [], DISCONNECT_POLL_S)
            if not readable:
                continue
            try:
                gone = connection.recv(1, socket.MSG_PEEK) == b""
            except OSError:
                gone = True
            if gone:
                call.cancel()
                return
            done.wait(DISCONNECT_POLL_S)  # bytes of a next request: not a disconnect

    thread = threading.Thread(target=watch, name="web-door-watch", daemon=True)
    thread.start()
    return thread


def _handler_for(door: WebDoor) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "rekam-web/1"
        timeout = IDLE_TIMEOUT_S

        # -- admission -----------------------------------------------------------------------
        def _origin(self) -> str | None:
            return self.headers.get("origin")

        def _admitted(self) -> bool:
            """Loopback Host and an admitted Origin; otherwise answered 403 here."""
            if not loopback_host(self.headers.get("host", "")):
                self._plain(HTTPStatus.FORBIDDEN, {"error": "only loopback host names"}, [])
                return False
            if not door.origins.admits(self._origin()):
                self._plain(HTTPStatus.FORBIDDEN, {"error": "origin not allowed"}, [])
                return False
            return True

        def _plain(
            self, status: int, payload: dict[str, Any] | None, headers: Iterable[tuple[str, str]]
        ) -> None:
            body = json.dumps(payload).encode() if payload is not None else b""
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            if body:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            self._plain(status, payload, door.origins.cors_headers(self._origin()))

        def _body(self) -> bytes | None:
            length = self.headers.get("content-length")
            if length is None or not length.isdigit():
                self.close_connection = True
                self._json(HTTPStatus.LENGTH_REQUIRED, {"error": "Content-Length required"})
                return None
            if int(length) > MAX_REQUEST_BYTES:
                self.close_connection = True
                self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "body too large"})
                return None
            return self.rfile.read(int(length))

        # -- routes --------------------------------------------------------------------------
        def do_OPTIONS(self) -> None:
            if not loopback_host(self.headers.get("host", "")):
                self._plain(HTTPStatus.FORBIDDEN, None, [])
                return
            headers = door.origins.preflight_headers(self._origin())
            if headers is None:
                self._plain(HTTPStatus.FORBIDDEN, None, [])
                return
            self._plain(HTTPStatus.NO_CONTENT, None, headers)

        def do_POST(self) -> None:
            if not self._admitted():
                return
            path = urlsplit(self.path).path
            body = self._body()
            if body is None:
                return
            if framing.is_grpc_web(self.headers.get("content-type", "")):
                self._grpc_web(path, body)
                return
            parts = [part for part in path.split("/") if part]
            if len(parts) == 4 and parts[:2] == ["v1", "devices"] and parts[3] == "preview-url":
                self._preview_url(parts[2])
                return
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint POST {path}"})

        def do_GET(self) -> None:
            if not self._admitted():
                return
            split = urlsplit(self.path)
            parts = [part for part in split.path.split("/") if part]
            if len(parts) == 4 and parts[:2] == ["v1", "devices"] and parts[3] == "preview.mjpeg":
                access = parse_qs(split.query).get("access", [""])[0]
                self._preview(parts[2], access)
                return
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint GET {split.path}"})

        # -- gRPC-Web ------------------------------------------------------------------------
        def _grpc_web(self, path: str, body: bytes) -> None:
            content_type = self.headers.get("content-type", "")
            text = framing.is_text(content_type)
            try:
                request = framing.single_message(body, text)
                metadata = framing.request_metadata(self.headers.items())
                timeout = framing.timeout_seconds(self.headers.get("grpc-timeout"))
            except framing.FramingError as exc:
                self._grpc_answer(text, _status(grpc.StatusCode.INVALID_ARGUMENT, str(exc)))
                return
            if path not in door.forwarder.methods:
                unknown = f"{path} is not a method a browser can call here"
                self._grpc_answer(text, _status(grpc.StatusCode.UNIMPLEMENTED, unknown))
                return
            call = door.forwarder.open(path, request, metadata, timeout)
            done = threading.Event()
            watcher = _watch_disconnect(self.connection, call, done)
            try:
                self._stream(text, call)
            finally:
                done.set()
                call.cancel()
                door.forwarder.finished(call)
                watcher.join(timeout=DISCONNECT_POLL_S * 2)

        def _stream(self, text: bool, call: ForwardedCall) -> None:
            encode = framing.encoder(text)
            try:
                for event in call.events():
                    if isinstance(event, Headers):
                        self._grpc_headers(text, framing.header_pairs(event.metadata))
                    elif isinstance(event, CallStatus):
                        self._end(text, event)
                    else:
                        self._chunk(encode(framing.frame(event)))
            except OSError:  # the page went away mid-answer
                self.close_connection = True

        def _grpc_answer(self, text: bool, status: CallStatus) -> None:
            """An answer with no message: the status alone (no call was made)."""
            self._grpc_headers(text, [])
            self._end(text, status)

        def _end(self, text: bool, status: CallStatus) -> None:
            """The trailer frame, then the end of the body."""
            block = framing.trailer_block(status.code, status.message, status.trailers)
            self._chunk(framing.encoder(text)(framing.frame(block, framing.TRAILER_FLAG)))
            self._chunk(b"")

        def _grpc_headers(self, text: bool, metadata: list[tuple[str, str]]) -> None:
            self.send_response(HTTPStatus.OK)
            kind = framing.GRPC_WEB_TEXT if text else framing.GRPC_WEB
            self.send_header("Content-Type", f"{kind}+proto")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-store")
            for key, value in door.origins.cors_headers(self._origin()):
                self.send_header(key, value)
            for key, value in metadata:
                self.send_header(key, value)
            self.end_headers()

        def _chunk(self, data: bytes) -> None:
            """One HTTP/1.1 chunk, sent at once (an empty one ends the body)."""
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        # -- previews ------------------------------------------------------------------------
        def _preview_url(self, device_id: str) -> None:
            status, operator = door.operator_of(self.headers, PREVIEW_ROLES_OF)
            if status != HTTPStatus.OK:
                self._json(status, {"error": "a valid token of a role that captures is needed"})
                return
            if self._previewable(device_id) is None:
                return
            access, granted = door.passes.issue(device_id, operator)
            host = self.headers.get("host", "")
            url = f"http://{host}/v1/devices/{quote(device_id)}/preview.mjpeg?access={access}"
            self._json(HTTPStatus.OK, {"url": url, "expires_at": granted.expires_at})

        def _preview(self, device_id: str, access: str) -> None:
            if access:
                granted = door.passes.check(access, device_id)
                status = HTTPStatus.UNAUTHORIZED if granted is None else HTTPStatus.OK
                operator = "" if granted is None else granted.operator
            else:
                status, operator = door.operator_of(self.headers, PREVIEW_ROLES_OF)
            if status != HTTPStatus.OK:
                self._json(status, {"error": "a valid preview pass or token is needed"})
                return
            device = self._previewable(device_id)
            if device is None:
                return
            door.audit(operator, "preview_opened", device_id)
            self.close_connection = True
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", MJPEG_CONTENT_TYPE)
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            for key, value in door.origins.cors_headers(self._origin()):
                self.send_header(key, value)
            self.end_headers()
            with door.preview_running() as cancel, contextlib.suppress(OSError):
                for jpeg in preview_frames(device, door.settings.capture, cancel):
                    self.wfile.write(mjpeg_part(jpeg))  # OSError: the page dropped the picture

        def _previewable(self, device_id: str) -> ImageDevice | None:
            device = door.device(device_id)
            if not isinstance(device, ImageDevice) or not device.capabilities.live_preview:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no live preview of {device_id!r}"})
                return None
            return device

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
