"""How a subscription's results are framed on an HTTP response: as
Server-Sent Events (the graphql-sse protocol, distinct connections mode) or
as the parts of a ``multipart/mixed`` body (Apollo's multipart subscription
protocol). Each framing turns results, heartbeats and the end into bytes;
which one a request gets is decided by api.http.stream_negotiation.

strawberry ships both protocols (strawberry.http.streaming), but its SSE
events carry no ``id``, so a client could not resume, and its multipart body
has no opening delimiter, so a parser takes the first part for the preamble.
"""

from dataclasses import dataclass
from typing import ClassVar

import orjson

BOUNDARY = "graphql"
_PART_HEADERS = b"\r\nContent-Type: application/json; charset=utf-8\r\n\r\n"
_DELIMITER = f"\r\n--{BOUNDARY}".encode()


@dataclass(frozen=True)
class EventStream:
    """``text/event-stream``: a ``next`` event per result, whose ``id`` is the
    resume token of its batch; a comment as heartbeat; a ``complete`` event."""

    name: ClassVar[str] = "graphql-sse"
    transport: ClassVar[str] = "sse"
    headers: ClassVar[dict[str, str]] = {
        "Content-Type": "text/event-stream; charset=utf-8",
        # No proxy or cache may keep, compress or buffer a live stream.
        "Cache-Control": "no-cache, no-transform",
        "X-Accel-Buffering": "no",
    }
    # Browsers' EventSource fires no event without a data field.
    opening: ClassVar[bytes] = b""
    heartbeat: ClassVar[bytes] = b":\n\n"
    complete: ClassVar[bytes] = b"event: complete\ndata:\n\n"

    @staticmethod
    def next(result: object, event_id: str | None) -> bytes:
        # orjson writes no line breaks (those in strings are escaped), so the
        # result fits in one data line; a resume token is base64 and colons.
        data = b"event: next\ndata: " + orjson.dumps(result) + b"\n\n"
        return data if event_id is None else b"id: " + event_id.encode() + b"\n" + data

    @staticmethod
    def cut(message: str, code: str) -> bytes:
        """The end of a stream the server stopped: no ``complete``, so that
        the client reconnects and resumes from the last event's id."""
        return b""


@dataclass(frozen=True)
class MultipartStream:
    """``multipart/mixed;subscriptionSpec="1.0"``: each result in a part as
    ``{"payload": result}``, ``{}`` as heartbeat, the closing delimiter at the end."""

    name: ClassVar[str] = "multipart-subscription"
    transport: ClassVar[str] = "multipart"
    headers: ClassVar[dict[str, str]] = {
        "Content-Type": f'multipart/mixed;boundary="{BOUNDARY}";subscriptionSpec="1.0"',
        "Cache-Control": "no-cache, no-transform",
        "X-Accel-Buffering": "no",
    }
    # The body opens with a delimiter: the parts follow it, each ending with one.
    opening: ClassVar[bytes] = _DELIMITER
    heartbeat: ClassVar[bytes] = _PART_HEADERS + b"{}" + _DELIMITER
    complete: ClassVar[bytes] = b"--\r\n"

    @staticmethod
    def next(result: object, event_id: str | None) -> bytes:
        return _PART_HEADERS + orjson.dumps({"payload": result}) + _DELIMITER

    @staticmethod
    def cut(message: str, code: str) -> bytes:
        """A transport error, as the protocol has it: ``payload`` null, and
        the error beside it; then the end of the body."""
        error = {"message": message, "extensions": {"code": code}}
        part = orjson.dumps({"payload": None, "errors": [error]})
        return _PART_HEADERS + part + _DELIMITER + b"--\r\n"


Framing = type[EventStream] | type[MultipartStream]
