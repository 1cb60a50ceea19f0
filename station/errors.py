"""gRPC errors with a machine-readable reason and a sentence in the caller's language."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from capture.errors import ErrorKind, WorkflowError
from drivers.errors import OperatorText

DOMAIN = "rekam.station.v1"

STATUS_BY_KIND: dict[ErrorKind, grpc.StatusCode] = {
    ErrorKind.INVALID_ARGUMENT: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorKind.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    ErrorKind.FAILED_PRECONDITION: grpc.StatusCode.FAILED_PRECONDITION,
    ErrorKind.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
    ErrorKind.DEADLINE_EXCEEDED: grpc.StatusCode.DEADLINE_EXCEEDED,
    ErrorKind.CANCELLED: grpc.StatusCode.CANCELLED,
    ErrorKind.RESOURCE_EXHAUSTED: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ErrorKind.INTERNAL: grpc.StatusCode.INTERNAL,
}


def caller_language(context: grpc.ServicerContext) -> str:
    """ "id" when the caller asked for Bahasa Indonesia (accept-language), else "en"."""
    for key, value in context.invocation_metadata() or ():
        if key == "accept-language" and str(value).lower().startswith("id"):
            return "id"
    return "en"


def rich_status(
    code: grpc.StatusCode,
    reason: str,
    text: OperatorText,
    language: str,
    metadata: dict[str, str] | None = None,
) -> grpc.Status:
    """A grpc.Status carrying ErrorInfo and LocalizedMessage details."""
    message = text.in_language(language)
    info = error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN, metadata=metadata or {})
    localized = error_details_pb2.LocalizedMessage(
        locale="id-ID" if language == "id" else "en-US", message=message
    )
    details = []
    for detail in (info, localized):
        packed = any_pb2.Any()
        packed.Pack(detail)
        details.append(packed)
    proto = status_pb2.Status(code=getattr(code_pb2, code.name), message=message, details=details)
    return rpc_status.to_status(proto)


def abort(
    context: grpc.ServicerContext,
    code: grpc.StatusCode,
    reason: str,
    text: OperatorText,
    metadata: dict[str, str] | None = None,
) -> None:
    """End the call with a rich status. Never returns."""
    context.abort_with_status(rich_status(code, reason, text, caller_language(context), metadata))


def abort_workflow(context: grpc.ServicerContext, error: WorkflowError) -> None:
    abort(context, STATUS_BY_KIND[error.kind], error.reason, error.text, error.metadata)


def error_reason(error: grpc.RpcError) -> str:
    """The ErrorInfo reason of a failed call (client side), or "" when absent."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    if status is None:
        return ""
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return ""
