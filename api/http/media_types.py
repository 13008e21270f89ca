"""Which media type a GraphQL response over HTTP is sent as, from the
request's ``Accept`` header, as the GraphQL-over-HTTP specification says.

``application/graphql-response+json`` is the specification's own: with it, a
request that fails before execution (its document does not parse or validate,
its variables do not coerce) is answered 400 without a ``data`` entry, so
that proxies and clients tell a refused request from a result by its status.
``application/json`` is the legacy type: every GraphQL result is 200, errors
or not, as it always was here. A client that names neither (``*/*``, no
``Accept`` at all) gets ``application/json``, so older clients see no change.

An ``Accept`` that allows nothing the endpoint can answer is refused with 406
(the specification's recommendation) before anything runs; the streamed types
(``multipart/mixed``, ``text/event-stream``) and GraphiQL's ``text/html`` are
answered by their own transports and pass through.
"""

from functools import lru_cache
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse

from api.http.accept import media_ranges, quality_of

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
NOT_ACCEPTABLE = (
    "The Accept header allows no media type this endpoint answers with: "
    f"{GRAPHQL_RESPONSE_JSON} or {JSON} (or multipart/mixed, text/event-stream)."
)
# Served by the view besides JSON, each by its own transport.
OTHER_SERVED = ("multipart/mixed", "text/event-stream", "text/html")


@lru_cache(maxsize=256)
def response_media_type(accept: str | None) -> str | None:
    """``application/graphql-response+json`` or ``application/json`` for a
    JSON response to a request with this ``Accept``; None if it accepts
    neither. Clients send few distinct headers: the answers are cached."""
    if not accept or not accept.strip():
        return JSON
    ranges = media_ranges(accept)
    response_json = quality_of(GRAPHQL_RESPONSE_JSON, ranges)
    legacy_json = quality_of(JSON, ranges)
    if max(response_json[0], legacy_json[0]) == 0:
        return None
    # The specification's type only when named outright and at least as
    # wanted: a wildcard keeps a client on the legacy behaviour it knew.
    if response_json[1] == 2 and response_json[0] >= legacy_json[0]:
        return GRAPHQL_RESPONSE_JSON
    return JSON if legacy_json[0] > 0 else GRAPHQL_RESPONSE_JSON


@lru_cache(maxsize=256)
def acceptable(accept: str | None) -> bool:
    """Whether the endpoint has any answer this ``Accept`` allows."""
    if response_media_type(accept) is not None:
        return True
    ranges = media_ranges(accept or "")
    return any(quality_of(media_type, ranges)[0] > 0 for media_type in OTHER_SERVED)


def content_type(media_type: str) -> str:
    # application/json is sent as it always was; the specification's type says
    # its encoding, as the specification's examples do.
    return media_type if media_type == JSON else f"{media_type}; charset=utf-8"


Response = TypeVar("Response", bound=HttpResponse)


def negotiated(request: HttpRequest, sub_response: Response) -> Response:
    """The response headers strawberry copies onto the response, with the
    negotiated Content-Type (the view refused unacceptable ones already)."""
    media_type = response_media_type(request.headers.get("Accept")) or JSON
    sub_response["Content-Type"] = content_type(media_type)
    return sub_response


def with_status(response: Any, sub_response: Response) -> tuple[Any, Response]:
    """A request error sent as ``application/graphql-response+json`` becomes
    400 without ``data``; everything else is left as it is."""
    if (
        sub_response["Content-Type"].startswith(GRAPHQL_RESPONSE_JSON)
        and isinstance(response, dict)
        and sub_response.status_code is None
        and is_request_error(response)
    ):
        response = {key: value for key, value in response.items() if key != "data"}
        sub_response.status_code = 400
    return response, sub_response


def is_request_error(response: dict[str, Any]) -> bool:
    """Whether a processed GraphQL result is a request error: no data, and
    errors none of which is a field's (a field error has a path)."""
    errors = response.get("errors")
    return (
        response.get("data") is None
        and bool(errors)
        and all(not error.get("path") for error in errors or ())
    )
