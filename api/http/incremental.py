"""Incremental delivery over HTTP: ``@defer`` and ``@stream`` answered as
``multipart/mixed`` parts to a client whose ``Accept`` asks for them.

The parts are graphql-core 3.3's, as the incremental delivery proposal (and
GraphQL.js 17.0.0-alpha.9, Apollo Client's ``GraphQL17Alpha9Handler``)
shapes them: first ``{data, errors?, pending, hasNext, extensions?}``, then
``{incremental?, completed?, pending?, hasNext}`` until ``hasNext`` is false.
strawberry's own shaping added a ``path`` and a ``label`` to every
incremental entry and ``"extensions": null`` to every part; these are
graphql-core's ``formatted`` results as they are.

A client that does not accept ``multipart/mixed`` (in the current version of
the proposal, ``incrementalSpec=v0.2``, the default) gets one JSON response:
the deferred fragments and streamed lists are completed in place. Apollo's
``deferSpec=20220824`` asked for the proposal's earlier payloads, which
graphql-core no longer makes, and ``subscriptionSpec`` for its multipart
subscriptions, another protocol: neither turns incremental delivery on.
"""

import logging
from collections.abc import Callable, Mapping
from typing import Any

from cross_web import HTTPException
from django.http import HttpRequest
from graphql import InitialIncrementalExecutionResult, SubsequentIncrementalExecutionResult
from strawberry.http import GraphQLHTTPResponse
from strawberry.http.streaming import MultipartTransport

from api.graphql.incremental import incremental_delivery
from api.http.accept import media_ranges

INCREMENTAL_SPEC = "v0.2"

logger = logging.getLogger(__name__)


class IncrementalTransport(MultipartTransport):
    @property
    def headers(self) -> Mapping[str, str]:
        return {
            "Content-Type": (
                f'multipart/mixed; boundary="{self.separator}"; incrementalSpec={INCREMENTAL_SPEC}'
            ),
            # Each part is worth sending as soon as it is made: no proxy may
            # hold it back (nginx buffers responses unless told so) or cache it.
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }

    def encode_multipart_data(self, data: object, encode_json: Callable[[object], str]) -> str:
        part = super().encode_multipart_data(data, encode_json)
        logger.debug("sending a part of %d characters", len(part))
        return part


class IncrementalDelivery:
    """A mixin of the GraphQL view (strawberry's AsyncGraphQLView)."""

    multipart_transport_class: type[MultipartTransport] = IncrementalTransport

    async def execute_operation(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        execute = super().execute_operation  # type: ignore[misc]
        if not accepts_incremental_delivery(request.headers.get("Accept", "")):
            return await execute(request, *args, **kwargs)
        with incremental_delivery():
            return await execute(request, *args, **kwargs)

    async def _process_stream_result(
        self, request: HttpRequest, value: Any, all_pending: list[Any]
    ) -> tuple[GraphQLHTTPResponse, list[Any]]:
        if isinstance(
            value, InitialIncrementalExecutionResult | SubsequentIncrementalExecutionResult
        ):
            # Errors were processed (coded, masked) by the schema already.
            return value.formatted, all_pending  # type: ignore[return-value]
        return await super()._process_stream_result(request, value, all_pending)  # type: ignore[misc,no-any-return]


def accepts_incremental_delivery(accept: str) -> bool:
    """Whether ``accept`` (an Accept header) asks for the parts of incremental
    delivery; a malformed ``multipart/mixed`` range in it is refused (400)."""
    for media_range in media_ranges(accept):
        if media_range.type != "multipart/mixed":
            continue
        if media_range.malformed is not None:
            raise _malformed(media_range.text, media_range.malformed)
        params = media_range.params
        if "subscriptionspec" in params or "deferspec" in params:
            continue
        if params.get("incrementalspec", INCREMENTAL_SPEC) != INCREMENTAL_SPEC:
            continue
        if media_range.quality > 0:
            return True
    return False


def _malformed(media_range: str, reason: str) -> HTTPException:
    return HTTPException(
        400,
        f"The Accept header's media range {media_range[:100]!r} is malformed: {reason}. "
        f"For incremental delivery, send `Accept: multipart/mixed;incrementalSpec={INCREMENTAL_SPEC}`.",
    )
