"""Request bodies larger than ``GRAPHQL_MAX_BODY_BYTES`` are refused with 413
before they are read, and the client, still sending, gets to read the 413.

Django's ASGI handler reads a whole body (into a temporary file) before any
view or middleware sees the request, so its own limit would only be checked
after a client had made the server store a gigabyte. This ASGI layer stops
at the declared ``Content-Length``, or, for a chunked body, as soon as the
bytes received pass the limit.

Closing the connection there would cut a client that is still writing its
body: a socket closed with unread data is reset, and a client that reads its
answer only once it has sent everything (httpx's async client, most HTTP
libraries) never sees the 413. So the 413 is sent at once, for clients that
read while they send, then the rest of the body is read and thrown away, as
web servers do before closing ("lingering close"), up to
``GRAPHQL_MAX_DISCARD_BYTES`` in all; only then is the connection closed. A
body declared larger than that is not waited for, and one that grows past it
is cut there: nobody is read from without end.
"""

from dataclasses import dataclass
from time import perf_counter
from typing import Any

import orjson
from django.conf import settings

from api.http.error_responses import error_body
from api.http.request_id import accepted_request_id
from api.logs import log_access

Scope = dict[str, Any]
Message = dict[str, Any]


@dataclass
class _Body:
    """How much of the request body has been received, and whether the
    client will send more."""

    received: int = 0
    complete: bool = False


class BodySizeLimit:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        limit: int = settings.GRAPHQL_MAX_BODY_BYTES
        if _declared_length(scope) > limit:
            # A client that sent "Expect: 100-continue" waits for uvicorn's
            # "100 Continue" (sent at the first receive) before its body:
            # answered at once, it sends none.
            waits = _header(scope, b"expect").lower() == b"100-continue"
            await _refuse(scope, receive, send, started, _Body(complete=waits))
            return
        body = _Body()
        exceeded = False

        async def limited_receive() -> Message:
            nonlocal exceeded
            message: Message = await receive()
            if message["type"] == "http.request":
                body.received += len(message.get("body", b""))
                body.complete = not message.get("more_body", False)
                if body.received > limit:
                    # Django stops reading, as if the client had gone, and
                    # answers nothing: the 413 is sent below.
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, limited_receive, send)
        if exceeded:
            await _refuse(scope, receive, send, started, body)


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return b""


def _declared_length(scope: Scope) -> int:
    try:
        return int(_header(scope, b"content-length") or 0)
    except ValueError:
        return 0


async def _refuse(scope: Scope, receive: Any, send: Any, started: float, body: _Body) -> None:
    """Answers 413, reads and drops what the client still sends (within the
    bound), then lets uvicorn close the connection."""
    request_id = accepted_request_id(_header(scope, b"x-request-id").decode("latin-1"))
    answer = orjson.dumps(
        error_body(
            f"The request body is larger than {settings.GRAPHQL_MAX_BODY_BYTES} bytes.",
            "PAYLOAD_TOO_LARGE",
        )
    )
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(answer)).encode()),
        (b"x-request-id", request_id.encode()),
        # The connection serves no other request: the body may not be read to its end.
        (b"connection", b"close"),
    ]
    # The answer leaves now, for clients that read while they send; the
    # response is complete (and the connection closed) once the rest of the
    # body has been discarded.
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": answer, "more_body": True})
    log_access(
        "http",
        request_id=request_id,
        method=scope["method"],
        path=scope["path"],
        status=413,
        duration_ms=round((perf_counter() - started) * 1000, 1),
    )
    await _discard_rest(scope, receive, body)
    await send({"type": "http.response.body", "body": b""})


async def _discard_rest(scope: Scope, receive: Any, body: _Body) -> None:
    bound: int = settings.GRAPHQL_MAX_DISCARD_BYTES
    if _declared_length(scope) > bound:
        return  # more than will be read: cut at once
    while not body.complete and body.received <= bound:
        message: Message = await receive()
        if message["type"] != "http.request":  # the client has gone
            return
        body.received += len(message.get("body", b""))
        body.complete = not message.get("more_body", False)
