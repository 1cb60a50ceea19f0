"""An interceptor that tells observers how each authenticated call ended (the audit trail and
the metrics are observers): who called, the request, the last response, the status."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import grpc

from station.auth import Operator, TokenStore, bearer_token

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FinishedCall:
    """One call, once it has ended. ``response`` is the last message sent (None if none)."""

    method: str
    operator: Operator
    request: Any
    response: Any
    code: grpc.StatusCode
    duration_s: float


class CallObserver(Protocol):
    def call_finished(self, call: FinishedCall) -> None: ...


class ObservingInterceptor(grpc.ServerInterceptor):
    """Wraps the handlers of ``methods`` so every observer hears how each call ended.

    Put it after the AuthInterceptor: only calls that passed authentication reach it. An
    observer that fails is logged and never changes the call's outcome.
    """

    def __init__(
        self, tokens: TokenStore, observers: tuple[CallObserver, ...], methods: frozenset[str]
    ) -> None:
        self.tokens = tokens
        self.observers = observers
        self.methods = methods
        self._running = 0
        self._idle = threading.Condition()

    def drain(self, timeout: float) -> bool:
        """Wait until no observed call is running (True), or ``timeout`` passes (False)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout)

    def _enter(self) -> None:
        with self._idle:
            self._running += 1

    def _leave(self) -> None:
        with self._idle:
            self._running -= 1
            self._idle.notify_all()

    def intercept_service(self, continuation: Callable, handler_call_details):  # type: ignore[no-untyped-def]
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method not in self.methods or not self.observers:
            return handler
        kwargs = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(method, handler.unary_unary), **kwargs
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._stream(method, handler.unary_stream), **kwargs
            )
        return handler

    def _unary(self, method: str, behaviour: Callable) -> Callable:
        def observed(request: Any, context: grpc.ServicerContext) -> Any:
            started = time.monotonic()
            self._enter()
            operator = self.tokens.verify(bearer_token(context.invocation_metadata()))
            response = None
            code = grpc.StatusCode.UNKNOWN
            try:
                response = behaviour(request, context)
                code = context.code() or grpc.StatusCode.OK
                return response
            except BaseException:
                code = context.code() or grpc.StatusCode.UNKNOWN
                raise
            finally:
                self._finish(method, operator, request, response, code, started)

        return observed

    def _stream(self, method: str, behaviour: Callable) -> Callable:
        def observed(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            started = time.monotonic()
            self._enter()
            operator = self.tokens.verify(bearer_token(context.invocation_metadata()))
            last = None
            code = grpc.StatusCode.UNKNOWN
            try:
                for response in behaviour(request, context):
                    last = response
                    yield response
                code = context.code() or grpc.StatusCode.OK
            except GeneratorExit:  # the caller went away mid-stream
                code = grpc.StatusCode.CANCELLED
                raise
            except BaseException:
                code = context.code() or grpc.StatusCode.UNKNOWN
                raise
            finally:
                self._finish(method, operator, request, last, code, started)

        return observed

    def _finish(
        self,
        method: str,
        operator: Operator | None,
        request: Any,
        response: Any,
        code: grpc.StatusCode,
        started: float,
    ) -> None:
        try:
            if operator is None:  # revoked just after the interceptor; the handler refused it
                return
            if not isinstance(code, grpc.StatusCode):
                code = grpc.StatusCode.UNKNOWN
            duration = time.monotonic() - started
            call = FinishedCall(method, operator, request, response, code, duration)
            for observer in self.observers:
                try:
                    observer.call_finished(call)
                except Exception:
                    log.exception("observer %s failed on %s", type(observer).__name__, method)
        finally:
            self._leave()
