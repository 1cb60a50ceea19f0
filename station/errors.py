"""gRPC errors with a machine-readable reason and a sentence in the caller's language."""

from __future__ import annotations

from typing import TypeVar

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message as ProtoMessage
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from capture.errors import ErrorKind, WorkflowError
from domain.messages import SOURCE_LANGUAGE, Message, negotiate
from domain.vocabulary import Position

DetailT = TypeVar("DetailT", bound=ProtoMessage)

DOMAIN = "rekam.station.v1"
# ErrorInfo metadata keys whose values are capture positions (several: comma-separated). They
# leave the station as station.v1 Position enum names ("POSITION_RIGHT_THUMB"), whatever
# spelling the layer that raised the error used (see common.proto).
POSITION_KEYS = frozenset({"position", "missing"})

STATUS_BY_KIND: dict[ErrorKind, grpc.StatusCode] = {
    ErrorKind.INVALID_ARGUMENT: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorKind.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    ErrorKind.ALREADY_EXISTS: grpc.StatusCode.ALREADY_EXISTS,
    ErrorKind.FAILED_PRECONDITION: grpc.StatusCode.FAILED_PRECONDITION,
    ErrorKind.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
    ErrorKind.DEADLINE_EXCEEDED: grpc.StatusCode.DEADLINE_EXCEEDED,
    ErrorKind.CANCELLED: grpc.StatusCode.CANCELLED,
    ErrorKind.RESOURCE_EXHAUSTED: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ErrorKind.INTERNAL: grpc.StatusCode.INTERNAL,
}


# The locale a LocalizedMessage names for each catalogue language.
LOCALES = {"en": "en-US", "id": "id-ID"}


def caller_language(context: grpc.ServicerContext, default: str = SOURCE_LANGUAGE) -> str:
    """The catalogue language the call's ``accept-language`` prefers (q-values honoured, "in"
    meaning Indonesian); ``default``, the station's ``[station] language``, when it names none."""
    values = [str(v) for k, v in context.invocation_metadata() or () if k == "accept-language"]
    return negotiate(", ".join(values) or None, default)


def rich_status(
    code: grpc.StatusCode,
    reason: str,
    message: Message,
    language: str,
    metadata: dict[str, str] | None = None,
) -> grpc.Status:
    """A grpc.Status carrying ErrorInfo and LocalizedMessage details."""
    sentence = message.render(language)
    info = error_details_pb2.ErrorInfo(
        reason=reason, domain=DOMAIN, metadata=typed_metadata(metadata or {})
    )
    localized = error_details_pb2.LocalizedMessage(
        locale=LOCALES.get(language, language), message=sentence
    )
    details = []
    for detail in (info, localized):
        packed = any_pb2.Any()
        packed.Pack(detail)
        details.append(packed)
    proto = status_pb2.Status(code=getattr(code_pb2, code.name), message=sentence, details=details)
    return rpc_status.to_status(proto)


def typed_metadata(metadata: dict[str, str]) -> dict[str, str]:
    """``metadata`` with the positions under POSITION_KEYS as Position enum names."""
    return {
        key: ",".join(position_name(v) for v in value.split(",") if v)
        if key in POSITION_KEYS
        else value
        for key, value in metadata.items()
    }


def position_name(value: str) -> str:
    """The station.v1 Position enum name of a position ("right_thumb" ->
    "POSITION_RIGHT_THUMB"); a value that is no position's name is left as it is."""
    try:
        return f"POSITION_{Position(value).name}"
    except ValueError:
        return value


def abort(
    context: grpc.ServicerContext,
    code: grpc.StatusCode,
    reason: str,
    message: Message,
    metadata: dict[str, str] | None = None,
    *,
    default_language: str = SOURCE_LANGUAGE,
) -> None:
    """End the call with a rich status in the caller's language (``default_language`` when the
    call names none the catalogue has). Never returns."""
    language = caller_language(context, default_language)
    context.abort_with_status(rich_status(code, reason, message, language, metadata))


def abort_workflow(
    context: grpc.ServicerContext, error: WorkflowError, *, default_language: str = SOURCE_LANGUAGE
) -> None:
    abort(
        context,
        STATUS_BY_KIND[error.kind],
        error.reason,
        error.message,
        error.metadata,
        default_language=default_language,
    )


def error_detail(error: grpc.RpcError, kind: type[DetailT]) -> DetailT | None:
    """The first google.rpc detail of type ``kind`` (e.g. ErrorInfo, LocalizedMessage) a failed
    call carries (client side), or None."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(kind.DESCRIPTOR):
            found = kind()
            detail.Unpack(found)
            return found
    return None


def error_reason(error: grpc.RpcError) -> str:
    """The ErrorInfo reason of a failed call (client side), or "" when absent."""
    info = error_detail(error, error_details_pb2.ErrorInfo)
    return info.reason if info is not None else ""
