"""Checks every request before its handler: bytes that do not parse as the message are answered
INVALID_ARGUMENT (REQUEST_MALFORMED) instead of gRPC's bare INTERNAL, and text fields longer
than any real name, id or note are refused (FIELD_TOO_LONG), so no handler ever echoes them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf.descriptor import FieldDescriptor

from domain.messages import SOURCE_LANGUAGE, msg
from station.errors import abort

MAX_TEXT_CHARS = 1000


def overlong_field(message: Any) -> str:
    """The name of the first string field (at any depth) over MAX_TEXT_CHARS, or ""."""
    for field, value in message.ListFields():
        if field.type == FieldDescriptor.TYPE_STRING:
            values = value if field.is_repeated else [value]
            if any(len(text) > MAX_TEXT_CHARS for text in values):
                return field.name
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.message_type.GetOptions().map_entry:
                continue
            values = value if field.is_repeated else [value]
            for item in values:
                inner = overlong_field(item)
                if inner:
                    return f"{field.name}.{inner}"
    return ""


class _Malformed:
    """Stands in for a request whose bytes did not parse."""


MALFORMED = _Malformed()


class MalformedRequestInterceptor(grpc.ServerInterceptor):
    """Parses unary requests tolerantly and refuses the unparsable ones before any handler, in
    the caller's language, else in ``language`` (the station's)."""

    def __init__(self, language: str = SOURCE_LANGUAGE) -> None:
        self.language = language

    def intercept_service(self, continuation: Callable, handler_call_details):  # type: ignore[no-untyped-def]
        handler = continuation(handler_call_details)
        if handler is None or handler.request_streaming or handler.request_deserializer is None:
            return handler
        parse = handler.request_deserializer
        language = self.language

        def tolerant(data: bytes) -> Any:
            try:
                return parse(data)
            except Exception:
                return MALFORMED

        kwargs = {
            "request_deserializer": tolerant,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary:
            behaviour = handler.unary_unary

            def unary(request: Any, context: grpc.ServicerContext) -> Any:
                _refuse_malformed(request, context, language)
                return behaviour(request, context)

            return grpc.unary_unary_rpc_method_handler(unary, **kwargs)
        stream_behaviour = handler.unary_stream

        def stream(request: Any, context: grpc.ServicerContext) -> Any:
            _refuse_malformed(request, context, language)
            yield from stream_behaviour(request, context)

        return grpc.unary_stream_rpc_method_handler(stream, **kwargs)


def _refuse_malformed(request: Any, context: grpc.ServicerContext, language: str) -> None:
    if request is MALFORMED:
        abort(
            context,
            grpc.StatusCode.INVALID_ARGUMENT,
            "REQUEST_MALFORMED",
            msg("REQUEST_MALFORMED"),
            default_language=language,
        )
    field = overlong_field(request)
    if field:
        abort(
            context,
            grpc.StatusCode.INVALID_ARGUMENT,
            "FIELD_TOO_LONG",
            msg("FIELD_TOO_LONG", limit=MAX_TEXT_CHARS),
            metadata={"field": field},
            default_language=language,
        )
