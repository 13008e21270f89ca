"""Which framing a request's ``Accept`` asks a subscription's results in.

``text/event-stream`` asks for Server-Sent Events; ``multipart/mixed`` with
a ``subscriptionSpec`` parameter for Apollo's multipart subscriptions (plain
``multipart/mixed`` is incremental delivery, which is something else). Clients
list these beside JSON: Apollo Client sends
``multipart/mixed;boundary=graphql;subscriptionSpec=1.0,application/graphql-response+json,…``
for subscriptions, urql ``…, application/json, text/event-stream, multipart/mixed``
for every query. So a stream is only what a subscription gets, or what a
client that accepts no JSON at all gets (and is told that only subscriptions
stream); anything else is answered as JSON, as before.
"""

from dataclasses import dataclass

from graphql import GraphQLError, OperationType, get_operation_ast, parse

from api.http.accept import MediaRange, media_ranges
from api.http.stream_framing import EventStream, Framing, MultipartStream

_JSON = frozenset({"application/json", "application/graphql-response+json", "application/*", "*/*"})


def _framing(media: MediaRange) -> Framing | None:
    if media.type == "text/event-stream":
        return EventStream
    if media.type == "multipart/mixed" and media.params.get("subscriptionspec", "").startswith(
        "1.0"
    ):
        return MultipartStream
    return None


@dataclass(frozen=True)
class Negotiated:
    framing: Framing
    json_accepted: bool


def negotiate(accept: str) -> Negotiated | None:
    """The streamed framing ``accept`` prefers (the first of the highest
    quality), if any, and whether it accepts a JSON answer too."""
    accepted = (media for media in media_ranges(accept) if media.quality > 0)
    ranges = sorted(accepted, key=lambda media: -media.quality)  # stable
    framing = next((f for media in ranges if (f := _framing(media)) is not None), None)
    if framing is None:
        return None
    return Negotiated(framing, any(media.type in _JSON for media in ranges))


def operation_type(
    query: str | None, operation_name: str | None, max_tokens: int
) -> OperationType | None:
    """The type of the operation that would run; None if there is none to
    run (no document, one that does not parse): executing it says why."""
    if query is None:
        return None
    try:
        document = parse(query, max_tokens=max_tokens)
    except GraphQLError:
        return None
    operation = get_operation_ast(document, operation_name)
    return operation.operation if operation is not None else None
