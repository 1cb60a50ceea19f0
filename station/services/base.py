"""What every station.v1 servicer shares: the station's default operator language, the caller's
language, the authenticated caller, and refusals worded in that language."""

from __future__ import annotations

import grpc

from capture.errors import WorkflowError
from domain.messages import SOURCE_LANGUAGE, Message, msg
from station.auth import Operator, TokenStore, caller
from station.errors import abort, abort_workflow, caller_language
from station.paging import PageSizeInvalid, PageTokens, page_size


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

    def page_bounds(
        self,
        context: grpc.ServicerContext,
        pages: PageTokens,
        caller_name: str,
        query: str,
        request,  # a list request: page_size, page_token
        default: int,
        maximum: int,
    ) -> tuple[int, int]:
        """(page size, place to continue after) of a list request; INVALID_ARGUMENT
        PAGE_SIZE_INVALID or PAGE_TOKEN_INVALID when they cannot be served."""
        try:
            size = page_size(request.page_size, default, maximum)
        except PageSizeInvalid:
            self.refuse(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                "PAGE_SIZE_INVALID",
                msg("PAGE_SIZE_INVALID", limit=maximum),
                {"max_page_size": str(maximum)},
            )
        try:
            after = pages.after(caller_name, query, request.page_token)
        except ValueError:
            self.refuse(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                "PAGE_TOKEN_INVALID",
                msg("PAGE_TOKEN_INVALID"),
            )
        return size, after
