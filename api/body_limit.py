"""Request bodies larger than ``GRAPHQL_MAX_BODY_BYTES`` are refused with 413
before they are read.

Django's ASGI handler reads a whole body (into a temporary file) before any
view or middleware sees the request, so its own limit would only be checked
after a client had made the server store a gigabyte. This ASGI layer stops
at the declared ``Content-Length``, or, for a chunked body, as soon as the
bytes received pass the limit.
"""

import json
from typing import Any

from django.conf import settings

from api.logs import log_access
from api.request_id import new_request_id

Scope = dict[str, Any]
Message = dict[str, Any]


class BodySizeLimit:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit: int = settings.GRAPHQL_MAX_BODY_BYTES
        if _declared_length(scope) > limit:
            await _too_large(scope, send)
            return
        received = 0
        exceeded = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message: Message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Django stops reading, as if the client had gone, and
                    # answers nothing: the 413 is sent below.
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, limited_receive, send)
        if exceeded:
            await _too_large(scope, send)


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


async def _too_large(scope: Scope, send: Any) -> None:
    request_id = new_request_id()
    body = json.dumps(
        {
            "errors": [
                {
                    "message": "The request body is larger than "
                    f"{settings.GRAPHQL_MAX_BODY_BYTES} bytes.",
                    "extensions": {"code": "PAYLOAD_TOO_LARGE"},
                }
            ]
        }
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
        # The unread rest of the body makes the connection unusable.
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    log_access(
        "http",
        request_id=request_id,
        method=scope["method"],
        path=scope["path"],
        status=413,
        duration_ms=0,
    )
