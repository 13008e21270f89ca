"""A client of subscriptions streamed over HTTP, for the tests: Server-Sent
Events and Apollo's multipart subscriptions read with httpx, as the frames
they are made of (events, parts, heartbeats), and written once for both."""

import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

SSE = "text/event-stream"
MULTIPART = "multipart/mixed;boundary=graphql;subscriptionSpec=1.0,application/json"
TRANSPORTS = {"sse": SSE, "multipart": MULTIPART}


@dataclass
class Frame:
    kind: str  # next, heartbeat, complete, or error (multipart: a transport error)
    payload: Any = None  # a next's result, an error's errors
    id: str | None = None  # SSE: the event's id


async def sse_frames(response: httpx.Response) -> AsyncGenerator[Frame, None]:
    """The events of an event stream, as the SSE specification parses them."""
    fields: dict[str, str] = {}
    comment = False
    async for line in response.aiter_lines():
        if line == "":
            if fields:
                data = fields.get("data")
                payload = json.loads(data) if data else None
                yield Frame(fields.get("event", "message"), payload, fields.get("id"))
            elif comment:
                yield Frame("heartbeat")
            fields, comment = {}, False
        elif line.startswith(":"):
            comment = True
        else:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


async def multipart_frames(response: httpx.Response) -> AsyncGenerator[Frame, None]:
    """The parts of a multipart/mixed body delimited by ``--graphql``."""
    delimiter = b"\r\n--graphql"
    buffer = b""
    opened = False
    async for chunk in response.aiter_bytes():
        buffer += chunk
        while (at := buffer.find(delimiter)) >= 0:
            part, buffer = buffer[:at], buffer[at + len(delimiter) :]
            if not opened:
                assert part == b"", f"preamble before the first delimiter: {part!r}"
                opened = True
                continue
            headers, _, body = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
            assert b"content-type: application/json" in headers.lower(), headers
            message = json.loads(body)
            if message == {}:
                yield Frame("heartbeat")
            elif message.get("payload") is None:
                yield Frame("error", message["errors"])
            else:
                yield Frame("next", message["payload"])
        if opened and buffer.startswith(b"--"):
            assert buffer.rstrip() == b"--", buffer
            yield Frame("complete")
            return


def frames(response: httpx.Response) -> AsyncGenerator[Frame, None]:
    content_type = response.headers["content-type"]
    if content_type.startswith("text/event-stream"):
        return sse_frames(response)
    assert content_type.startswith("multipart/mixed"), content_type
    return multipart_frames(response)


@asynccontextmanager
async def streamed(
    client: httpx.AsyncClient,
    transport: str,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
) -> AsyncIterator[httpx.Response]:
    """A streamed subscription's response, ``transport`` being a key of TRANSPORTS."""
    request_headers = {"Accept": TRANSPORTS[transport], **(headers or {})}
    if method == "GET":
        params = {"query": query, "variables": json.dumps(variables or {})}
        request = client.stream("GET", "/graphql/", params=params, headers=request_headers)
    else:
        body = {"query": query, "variables": variables or {}}
        request = client.stream("POST", "/graphql/", json=body, headers=request_headers)
    async with request as response:
        yield response


async def results(response: httpx.Response) -> AsyncGenerator[Frame, None]:
    """The results (``next`` frames) until the stream completes; fails on
    anything else but heartbeats."""
    async for frame in frames(response):
        if frame.kind == "complete":
            return
        if frame.kind != "heartbeat":
            assert frame.kind == "next", frame
            yield frame


async def collect(
    client: httpx.AsyncClient,
    transport: str,
    query: str,
    variables: dict[str, Any] | None = None,
    **options: Any,
) -> list[Frame]:
    """Every result of a subscription that completes."""
    async with streamed(client, transport, query, variables, **options) as response:
        assert response.status_code == 200, await response.aread()
        return [frame async for frame in results(response)]
