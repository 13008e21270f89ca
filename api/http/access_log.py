"""One structured access line per HTTP request (``api.logs.log_access``).

GraphQL requests log ``event="graphql"`` with what the operation was and how
it ended (noted by api.http.operation_recorder); any other request a plain
``event="http"`` line. A streamed response's line is written when it ends. The middleware also gives the request its id
(``api.http.request_id``), echoed as ``X-Request-ID``.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from time import perf_counter
from typing import cast

from asgiref.sync import markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse

from api.http.request_id import accepted_request_id, reset_request_id, set_request_id
from api.logs import log_access


@dataclass
class GraphQLOperation:
    """What the access line tells of a GraphQL request, filled as it is served."""

    served: bool = False  # the request reached the GraphQL view
    name: str | None = None
    type: str | None = None
    error_codes: list[str] = field(default_factory=list)


_operation: ContextVar[GraphQLOperation | None] = ContextVar("graphql_operation", default=None)


def graphql_operation() -> GraphQLOperation | None:
    """The record of the GraphQL request being served over HTTP; None
    elsewhere (websockets, management commands)."""
    return _operation.get()


class AccessLogMiddleware:
    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]]) -> None:
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request_id = accepted_request_id(request.headers.get("X-Request-ID"))
        id_token = set_request_id(request_id)
        operation = GraphQLOperation()
        operation_token = _operation.set(operation)
        started = perf_counter()
        try:
            response = await self.get_response(request)
        finally:
            _operation.reset(operation_token)
            reset_request_id(id_token)
        response["X-Request-ID"] = request_id
        # Django's own flag: its line for every 4xx and 5xx answer on
        # django.request ("Bad Request: /graphql/", at WARNING) would repeat
        # this one. Exceptions are logged by the error handlers, once.
        response._has_been_logged = True  # type: ignore[attr-defined]

        def log() -> None:
            fields: dict[str, object] = {
                "request_id": request_id,
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((perf_counter() - started) * 1000, 1),
            }
            if operation.served:
                log_access("graphql", **fields, **_graphql_fields(operation, response.status_code))
            else:
                log_access("http", **fields)

        if isinstance(response, StreamingHttpResponse) and response.is_async:
            # Incremental delivery and streamed subscriptions: the line is
            # written when the last part has been sent (or the client left).
            parts = cast(AsyncIterator[bytes], response.streaming_content)  # is_async
            response.streaming_content = _then(parts, log)
        else:
            log()
        return response


async def _then(parts: AsyncIterator[bytes], done: Callable[[], None]) -> AsyncIterator[bytes]:
    try:
        async for part in parts:
            yield part
    finally:
        done()


def _graphql_fields(operation: GraphQLOperation, status: int) -> dict[str, object]:
    if status >= 500:
        outcome = "failed"
    elif status >= 400:
        outcome = "rejected"
    elif operation.error_codes:
        outcome = "errors"
    else:
        outcome = "ok"
    return {
        "operation_name": operation.name,
        "operation_type": operation.type,
        "outcome": outcome,
        "error_codes": sorted(set(operation.error_codes)),
    }
