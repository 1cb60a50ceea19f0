"""What every station.v1 servicer shares: the station's default operator language, the caller's
language, the authenticated caller, and refusals worded in that language."""

from __future__ import annotations

import grpc

from capture.errors import WorkflowError
from domain.messages import SOURCE_LANGUAGE, Message
from station.auth import Operator, TokenStore, caller
from station.errors import abort, abort_workflow, caller_language


class StationServicer:
    """A mixin for servicers; subclasses set ``tokens`` and ``language`` in ``__init__``."""

    tokens: TokenStore
    language: str = SOURCE_LANGUAGE  # the station's, for callers that ask for none we have

    def caller(self, context: grpc.ServicerContext) -> Operator:
        """The authenticated operator of this call (a refusal ends the call)."""
        return caller(context, self.tokens, self.language)

    def language_of(self, context: grpc.ServicerContext) -> str:
        """The catalogue language this call asked for, else the station's."""
        return caller_language(context, self.language)

    def refuse(
        self,
        context: grpc.ServicerContext,
        code: grpc.StatusCode,
        reason: str,
        message: Message,
        metadata: dict[str, str] | None = None,
    ) -> None:
        """End the call with ``code``, ``reason`` and the sentence. Never returns."""
        abort(context, code, reason, message, metadata, default_language=self.language)

    def refuse_workflow(self, context: grpc.ServicerContext, error: WorkflowError) -> None:
        abort_workflow(context, error, default_language=self.language)
