"""A GraphQL websocket client for the tests, speaking both subprotocols.

``graphql-transport-ws`` (subscribe/next/complete) and the legacy
``graphql-ws`` (start/data/stop) name the same steps differently; tests are
written once and run over both.
"""

import json
import socket as socket_module
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

PROTOCOLS = ("graphql-transport-ws", "graphql-ws")


class GraphQLWebSocket:
    def __init__(self, socket: ClientConnection, protocol: str) -> None:
        self.socket = socket
        self.protocol = protocol
        self.legacy = protocol == "graphql-ws"
        self._next_id = 0

    async def receive(self) -> dict[str, Any]:
        while True:
            message: dict[str, Any] = json.loads(await self.socket.recv())
            if message["type"] != "ka":  # legacy keep-alive
                return message

    async def subscribe(
        self,
        query: str | None,
        variables: dict[str, Any] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> str:
        self._next_id += 1
        operation_id = str(self._next_id)
        payload: dict[str, Any] = {"query": query, "variables": variables or {}}
        if extensions is not None:
            payload["extensions"] = extensions
        kind = "start" if self.legacy else "subscribe"
        await self.socket.send(json.dumps({"id": operation_id, "type": kind, "payload": payload}))
        return operation_id

    async def unsubscribe(self, operation_id: str) -> None:
        kind = "stop" if self.legacy else "complete"
        await self.socket.send(json.dumps({"id": operation_id, "type": kind}))

    async def results(self, operation_id: str) -> AsyncGenerator[dict[str, Any], None]:
        """The payloads (``data``/``errors``) of one operation until it completes."""
        while True:
            message = await self.receive()
            assert message.get("id") == operation_id, message
            if message["type"] == "complete":
                return
            if message["type"] == "error":  # an error before execution: the end
                errors = message["payload"]  # the legacy protocol sends one error
                yield {"errors": errors if isinstance(errors, list) else [errors]}
                return
            assert message["type"] == ("data" if self.legacy else "next"), message
            yield message["payload"]

    async def collect(
        self,
        query: str | None,
        variables: dict[str, Any] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> list[Any]:
        operation_id = await self.subscribe(query, variables, extensions)
        return [payload async for payload in self.results(operation_id)]


def _connect(
    base_url: str, protocol: str, *, small_buffers: bool, headers: Mapping[str, str] | None
) -> websockets.connect:
    url = base_url.replace("http://", "ws://") + "/graphql/"
    options: dict[str, Any] = {
        "subprotocols": [protocol],
        "max_size": None,
        "additional_headers": headers,
    }
    if small_buffers:
        host, port = base_url.removeprefix("http://").split(":")
        sock = socket_module.socket()
        sock.setsockopt(socket_module.SOL_SOCKET, socket_module.SO_RCVBUF, 32 * 1024)
        sock.connect((host, int(port)))
        options.update(sock=sock, max_queue=2, compression=None)
    return websockets.connect(url, **options)


@asynccontextmanager
async def graphql_websocket(
    base_url: str,
    protocol: str,
    *,
    small_buffers: bool = False,
    init_payload: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> AsyncIterator[GraphQLWebSocket]:
    """A connected, acknowledged client, which sends ``init_payload`` (e.g. an
    ``Authorization``) with ``connection_init`` and ``headers`` (e.g. a
    ``Cookie``) with the handshake. ``small_buffers`` makes it a slow
    reader's socket: a small kernel receive buffer, a short message queue and
    no compression (which would let the kernel's buffers hold ten times more),
    so that what the client does not read soon pushes back on the server."""
    async with _connect(base_url, protocol, small_buffers=small_buffers, headers=headers) as socket:
        assert socket.subprotocol == protocol
        await socket.send(json.dumps({"type": "connection_init", "payload": init_payload or {}}))
        client = GraphQLWebSocket(socket, protocol)
        assert (await client.receive())["type"] == "connection_ack"
        yield client


async def refused_connection(
    base_url: str, protocol: str, init_payload: dict[str, Any]
) -> tuple[int | None, list[dict[str, Any]]]:
    """The close code of a connection the server refuses at ``connection_init``,
    and the messages it sent before closing."""
    async with _connect(base_url, protocol, small_buffers=False, headers=None) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": init_payload}))
        messages = []
        try:
            while True:
                messages.append(json.loads(await socket.recv()))
        except websockets.ConnectionClosed:
            return socket.close_code, messages
