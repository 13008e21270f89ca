"""Subscriptions over plain HTTP, beside the websocket protocols: as
Server-Sent Events (graphql-sse, distinct connections mode: one request per
subscription, ``GET`` or ``POST``) and as Apollo's multipart subscriptions.

The request is parsed and checked as any GraphQL request over HTTP (a
malformed one is a 400 with a JSON body), runs through ``schema.subscribe``
like a websocket's operation, and streams its results as they come: the
same batches, the same errors (those before execution too, inside the
stream, as both protocols want), the same limits. Identity is the request's
(the session, or a Bearer token; a bad token is a 401 before anything
streams), and a browser page on another origin may only open a stream if
it could open a websocket (``CORS_ALLOWED_ORIGINS``): the session cookie
goes with a request from any page.

Once the stream runs the request holds no database connection: reads
borrow one per window (api.paging.readers). A client that goes away
cancels the response (Django's ASGI handler), which ends the reading at
once; a slow one slows it, since a result is only read once the previous one
has been handed to the server's socket.
"""

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from cross_web import AsyncHTTPRequestAdapter
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse
from graphql import GraphQLError, OperationType
from strawberry.django.context import StrawberryDjangoContext
from strawberry.django.views import TemporalHttpResponse
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.websocket_origin import is_same_origin, normalize_origin
from strawberry.schema.base import BaseSchema
from strawberry.types import ExecutionResult

from api.error_log import BAD_REQUEST
from api.http.error_responses import error_response
from api.http.event_ids import EventIds, current_event_ids
from api.http.heartbeats import with_heartbeats
from api.http.request_id import current_request_id
from api.http.stream_framing import EventStream, Framing
from api.http.stream_negotiation import negotiate, operation_type
from api.metrics.transports import open_connection
from api.websocket.log import ConnectionLog
from api.websocket.unanswered import unanswered
from persisted_queries.selectors import document_named_by

FELL_BEHIND_CODE = "TRY_AGAIN_LATER"


class StreamContext(StrawberryDjangoContext):
    """strawberry's context of an HTTP request, which a live stream that falls
    too far behind can also end (products.live's overrun, as a websocket is
    closed with 1013)."""

    def __init__(self, request: HttpRequest, response: TemporalHttpResponse) -> None:
        super().__init__(request=request, response=response)
        self.cut_short: str | None = None

    def close_later(self, code: int, reason: str) -> None:
        self.cut_short = reason


class StreamedSubscriptions:
    """Mixed into the GraphQL view (api.http.views), which calls
    ``streamed_subscription`` first."""

    schema: BaseSchema
    request_adapter_class: Any

    if TYPE_CHECKING:  # strawberry's view's

        async def parse_http_body(
            self, request: AsyncHTTPRequestAdapter
        ) -> GraphQLRequestData | list[GraphQLRequestData]: ...

        async def process_result(
            self, request: HttpRequest, result: ExecutionResult
        ) -> GraphQLHTTPResponse: ...

    async def streamed_subscription(self, request: HttpRequest) -> HttpResponseBase | None:
        """The streamed answer to ``request``, if it asks for one; None to
        answer it as JSON. Raises strawberry's HTTPException on a malformed request."""
        negotiated = negotiate(request.headers.get("Accept", ""))
        if negotiated is None or request.method not in ("GET", "POST"):
            return None
        data = await self.parse_http_body(self.request_adapter_class(request))
        # A list is a batch, which parse_http_body refuses while batching is off.
        assert isinstance(data, GraphQLRequestData)
        refused = await _with_persisted_document(data)
        if refused is not None and negotiated.json_accepted:
            return None  # answered as JSON, as any other request naming it
        kind = operation_type(data.query, data.operation_name, settings.GRAPHQL_MAX_TOKENS)
        if kind not in (OperationType.SUBSCRIPTION, None) and negotiated.json_accepted:
            return None
        if not origin_allowed(request):
            return error_response(
                "Streams may only be opened from this server's origin or one in "
                "CORS_ALLOWED_ORIGINS.",
                "FORBIDDEN",
                403,
            )
        framing = negotiated.framing
        context = StreamContext(request, TemporalHttpResponse())
        results: AsyncGenerator[Any, None]
        if kind not in (OperationType.SUBSCRIPTION, None):
            results = _refused(_not_streamed(framing))
        elif refused is not None:
            results = _refused(refused)
        else:
            results = await self.schema.subscribe(
                data.query,
                variable_values=data.variables,
                context_value=context,
                operation_name=data.operation_name,
                operation_extensions=data.extensions,
            )
        # The identity is settled (the middleware read the session or token):
        # the request's own connection goes back before the stream runs.
        await sync_to_async(connections.close_all)()
        last_event_id = request.headers.get("Last-Event-ID") or None
        stream = Stream(self, request, context, framing, results, last_event_id, data)
        return StreamingHttpResponse(stream.body(), headers=framing.headers)


def _not_streamed(framing: Framing) -> GraphQLError:
    media = "text/event-stream" if framing is EventStream else "multipart/mixed"
    return GraphQLError(
        f"Only subscriptions are streamed as {media}; send queries and "
        "mutations with `Accept: application/json`.",
        extensions={"code": BAD_REQUEST},
    )


async def _with_persisted_document(data: GraphQLRequestData) -> GraphQLError | None:
    """Gives ``data`` the document its extensions name, if it sent none; the
    persisted query's error if that name is malformed or unknown."""
    if data.query is not None:
        return None
    try:
        data.query = await document_named_by(data.extensions)
    except GraphQLError as error:
        return error
    return None


async def _refused(error: GraphQLError) -> AsyncGenerator[ExecutionResult, None]:
    yield ExecutionResult(data=None, errors=[error])


def origin_allowed(request: HttpRequest) -> bool:
    """The websockets' rule (strawberry's): no Origin (no browser), the same
    origin, or an allowed one."""
    origin = request.headers.get("Origin")
    if origin is None or request.headers.get("Sec-Fetch-Site") == "same-origin":
        return True
    if is_same_origin(origin, request.headers.get("Host")):
        return True
    allowed = settings.CORS_ALLOWED_ORIGINS
    return "*" in allowed or normalize_origin(origin) in allowed


class Stream:
    """One streamed subscription: its results framed, with heartbeats, logged
    as a websocket operation is (api.websocket.log)."""

    def __init__(
        self,
        view: StreamedSubscriptions,
        request: HttpRequest,
        context: StreamContext,
        framing: Framing,
        results: AsyncGenerator[Any, None],
        last_event_id: str | None,
        data: GraphQLRequestData,
    ) -> None:
        self._view = view
        self._request = request
        self._context = context
        self._framing = framing
        self._results = results
        self._event_ids = EventIds(last_event_id) if framing is EventStream else None
        self._operation_name = data.operation_name
        self._log = ConnectionLog()
        self._log.subprotocol = framing.name
        self._operation_id = current_request_id()

    async def body(self) -> AsyncIterator[bytes]:
        framing = self._framing
        # Until its first result is out, this stream's request is a client's
        # message waiting for its answer: streams running take no new turn.
        waiting: int | None = unanswered.received()
        try:
            if framing.opening:
                yield framing.opening
            interval = settings.HTTP_STREAM_HEARTBEAT_SECONDS
            frames = with_heartbeats(self._frames(), interval, framing.heartbeat)
            async with aclosing(frames):
                async for frame in frames:
                    yield frame
                    if waiting is not None and frame is not framing.heartbeat:
                        unanswered.answered(waiting)
                        waiting = None
        finally:
            if waiting is not None:
                unanswered.answered(waiting)

    async def _frames(self) -> AsyncGenerator[bytes, None]:
        """Runs in one context from start to end (api.http.heartbeats)."""
        framing = self._framing
        current_event_ids.set(self._event_ids)
        # A stream is a connection of its own, as a websocket is: its
        # subscription is counted under its transport while it runs.
        with (
            open_connection(framing.transport),
            self._log.operation(self._operation_id, self._operation_name),
        ):
            async with aclosing(self._results) as results:
                async for result in results:
                    response = await self._view.process_result(self._request, result)
                    self._log.sent({"type": "next", "id": self._operation_id, "payload": response})
                    event_id = self._event_ids.take() if self._event_ids else None
                    # A result without data carries no batch: there is none
                    # to resume after.
                    yield framing.next(response, event_id if response.get("data") else None)
            reason = self._context.cut_short
            if reason is None:
                yield framing.complete
            else:
                error = {"message": reason, "extensions": {"code": FELL_BEHIND_CODE}}
                self._log.sent({"type": "error", "id": self._operation_id, "payload": [error]})
                yield framing.cut(reason, FELL_BEHIND_CODE)
