"""Workflow errors: a kind the API maps to a status code, a reason, and an operator sentence."""

from __future__ import annotations

from enum import StrEnum

from domain.messages import Message


class ErrorKind(StrEnum):
    INVALID_ARGUMENT = "invalid_argument"
    NOT_FOUND = "not_found"
    ALREADY_EXISTS = "already_exists"
    FAILED_PRECONDITION = "failed_precondition"
    UNAVAILABLE = "unavailable"
    DEADLINE_EXCEEDED = "deadline_exceeded"
    CANCELLED = "cancelled"
    RESOURCE_EXHAUSTED = "resource_exhausted"
    INTERNAL = "internal"


class WorkflowError(Exception):
    """Anything the enrollment workflow refuses, with a sentence the operator can act on."""

    def __init__(
        self,
        kind: ErrorKind,
        reason: str,
        message: Message,
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message.render())
        self.kind = kind
        self.reason = reason
        self.message = message
        self.metadata = metadata or {}
