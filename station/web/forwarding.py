"""Calls forwarded as raw bytes to the daemon's own gRPC server, so every interceptor (tokens,
roles, malformed input, audit, metrics) applies exactly as to a native client.

Generic multi-callables with no serializers carry the request and response messages as the
bytes the browser framed; nothing here knows any message type. The method table comes from the
services' descriptors: every unary and server-streaming method of every registered service.
Client- and bidi-streaming methods cannot be called from a browser's ``fetch`` and answer
UNIMPLEMENTED.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import grpc
from google.protobuf.descriptor import ServiceDescriptor

Metadata = Sequence[tuple[str, str | bytes]]


@dataclass(frozen=True)
class Headers:
    """The call's initial metadata."""

    metadata: Metadata


@dataclass(frozen=True)
class CallStatus:
    """How the call ended: the numeric gRPC code, its message and the trailing metadata."""

    code: int
    message: str
    trailers: Metadata = ()


def status_of(call: grpc.Call) -> CallStatus:
    code = call.code() or grpc.StatusCode.UNKNOWN
    return CallStatus(code.value[0], call.details() or "", tuple(call.trailing_metadata() or ()))


def method_table(services: Iterable[ServiceDescriptor]) -> dict[str, bool]:
    """``/package.Service/Method`` -> whether it streams its answer, for each method a browser
    can call (one request message)."""
    return {
        f"/{service.full_name}/{method.name}": method.server_streaming
        for service in services
        for method in service.methods
        if not method.client_streaming
    }


class ForwardedCall:
    """One call to the daemon: ``events()`` yields Headers, each response message (bytes) and
    finally a CallStatus; ``cancel()`` (any thread) ends it."""

    def __init__(self, call: grpc.Call, streaming: bool) -> None:
        self._call = call
        self._streaming = streaming

    def events(self) -> Iterator[Headers | bytes | CallStatus]:
        """Headers first, always (also when the call fails at once), the status last.

        A stream's Headers come at once and empty, not after the daemon's initial metadata:
        that arrives only with the first message, and a page's ``fetch`` resolves on the
        headers (a WatchDevices with nothing to report yet must not leave it waiting)."""
        call = self._call
        headers_sent = False
        try:
            if self._streaming:
                headers_sent = True
                yield Headers(())
                yield from call  # type: ignore[misc]
            else:
                response = call.result()  # type: ignore[attr-defined]
                headers_sent = True
                yield Headers(tuple(call.initial_metadata() or ()))
                yield response
        except grpc.RpcError as error:
            if not headers_sent:
                yield Headers(())
            yield status_of(error)  # type: ignore[arg-type]
            return
        finally:
            call.cancel()
        yield status_of(call)

    def cancel(self) -> None:
        self._call.cancel()


class Forwarder:
    """Opens forwarded calls on one loopback channel to ``target`` and cancels those still
    running when it closes."""

    def __init__(self, target: str, methods: dict[str, bool], max_message_bytes: int) -> None:
        self.methods = methods
        self._channel = grpc.insecure_channel(
            target,
            options=[
                ("grpc.max_receive_message_length", max_message_bytes),
                ("grpc.max_send_message_length", max_message_bytes),
                # The receive window stays small: a slow page holds back the daemon's stream
                # (whose previews are then dropped at the source) instead of megabytes here.
                ("grpc.http2.bdp_probe", 0),
            ],
        )
        self._lock = threading.Lock()
        self._running: set[ForwardedCall] = set()
        self._closed = False

    def open(
        self, path: str, request: bytes, metadata: Metadata, timeout: float | None
    ) -> ForwardedCall:
        """Start ``path`` (a key of ``methods``) with the request message's bytes."""
        streaming = self.methods[path]
        if streaming:
            call = self._channel.unary_stream(path)(request, metadata=metadata, timeout=timeout)
        else:
            call = self._channel.unary_unary(path).future(
                request, metadata=metadata, timeout=timeout
            )
        forwarded = ForwardedCall(call, streaming)
        with self._lock:
            if self._closed:
                forwarded.cancel()
            self._running.add(forwarded)
        return forwarded

    def running(self) -> int:
        """How many forwarded calls are running now."""
        with self._lock:
            return len(self._running)

    def finished(self, call: ForwardedCall) -> None:
        with self._lock:
            self._running.discard(call)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            running = list(self._running)
        for call in running:
            call.cancel()
        self._channel.close()
