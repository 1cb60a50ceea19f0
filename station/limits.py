"""Streaming calls per token (and in all, so unary calls and health always find a worker); a
token revoked or expired while its streams are open ends them within a second."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from domain.messages import SOURCE_LANGUAGE, msg
from station.auth import OPEN_PREFIXES, TokenStore, bearer_token
from station.errors import abort

log = logging.getLogger(__name__)

REVOCATION_CHECK_S = 1.0


@dataclass
class _OpenStream:
    token_id: int
    context: grpc.ServicerContext


class StreamGuard(grpc.ServerInterceptor):
    """Admits a streaming call only while its token holds fewer than ``per_token`` streams and
    the daemon fewer than ``total``; otherwise RESOURCE_EXHAUSTED (TOO_MANY_STREAMS). Cancels
    the open streams of a token that is revoked or expires. Put it after the authentication
    interceptor: calls without a valid token are left to that one's refusal."""

    def __init__(
        self,
        tokens: TokenStore,
        per_token: int,
        total: int,
        language: str = SOURCE_LANGUAGE,
    ) -> None:
        self.tokens = tokens
        self.per_token = per_token
        self.total = total
        self.language = language
        self._lock = threading.Lock()
        self._open: dict[int, _OpenStream] = {}  # by id() of the context
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="stream-guard", daemon=True)
        self._watcher.start()

    def intercept_service(self, continuation: Callable, handler_call_details):  # type: ignore[no-untyped-def]
        handler = continuation(handler_call_details)
        if (
            handler is None
            or not handler.response_streaming
            or handler_call_details.method.startswith(OPEN_PREFIXES)
        ):
            return handler
        inner = handler.unary_stream or handler.stream_stream
        guarded = self._guarded(inner)
        kwargs = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(guarded, **kwargs)
        return grpc.stream_stream_rpc_method_handler(guarded, **kwargs)

    def _guarded(self, inner: Callable):  # type: ignore[no-untyped-def]
        def behaviour(request, context):  # type: ignore[no-untyped-def]
            operator = self.tokens.verify(bearer_token(context.invocation_metadata()))
            if operator is None:  # refused by the authentication interceptor's handler
                yield from inner(request, context)
                return
            self._admit(operator.token_id, context)
            try:
                yield from inner(request, context)
            finally:
                with self._lock:
                    self._open.pop(id(context), None)

        return behaviour

    def _admit(self, token_id: int, context: grpc.ServicerContext) -> None:
        with self._lock:
            mine = sum(1 for s in self._open.values() if s.token_id == token_id)
            full = mine >= self.per_token or len(self._open) >= self.total
            if not full:
                self._open[id(context)] = _OpenStream(token_id, context)
        if full:
            abort(
                context,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                "TOO_MANY_STREAMS",
                msg("TOO_MANY_STREAMS", limit=self.per_token),
                default_language=self.language,
            )

    def open_streams(self, token_id: int | None = None) -> int:
        with self._lock:
            return sum(1 for s in self._open.values() if token_id in (None, s.token_id))

    def _watch(self) -> None:
        while not self._stop.wait(REVOCATION_CHECK_S):
            try:
                self.end_streams_of_invalid_tokens()
            except Exception:  # the next round tries again
                log.exception("checking the tokens of open streams failed")

    def end_streams_of_invalid_tokens(self) -> int:
        """Cancel every open stream whose token is no longer valid; how many were."""
        with self._lock:
            streams = list(self._open.values())
        valid: dict[int, bool] = {}
        ended = 0
        for stream in streams:
            if stream.token_id not in valid:
                valid[stream.token_id] = self.tokens.still_valid(stream.token_id)
            if not valid[stream.token_id]:
                stream.context.cancel()
                ended += 1
        if ended:
            log.info("ended %d streams of revoked or expired tokens", ended)
        return ended

    def close(self) -> None:
        self._stop.set()
        self._watcher.join(timeout=REVOCATION_CHECK_S * 3)
