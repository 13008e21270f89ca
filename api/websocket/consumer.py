"""The GraphQL websocket consumer: strawberry's, with the identity of the
connection settled at ``connection_init`` (accounts.identity), the protocol
handlers of api.websocket.protocols, a limit on the size of a client's
messages, and a close the server can ask for from anywhere (``close_later``)."""

import asyncio
import datetime as dt
import json
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from typing import Any

import orjson
from channels.consumer import get_handler_name
from channels.db import aclose_old_connections
from django.conf import settings
from strawberry.channels import GraphQLWSConsumer
from strawberry.channels.handlers.base import ChannelsMessage
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from accounts.identity import CONNECTION_USER, connection_user
from accounts.tokens import InvalidToken
from api.metrics.transports import open_connection
from api.websocket.log import ConnectionLog
from api.websocket.protocols import JSONOnlyAdapter, LegacyWSHandler, TransportWSHandler

FORBIDDEN = 4403
MESSAGE_TOO_BIG = 1009
TRY_AGAIN_LATER = 1013


class GraphQLConsumer(GraphQLWSConsumer[dict[str, Any], None]):
    websocket_adapter_class = JSONOnlyAdapter
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, schema: BaseSchema) -> None:
        super().__init__(
            schema,
            connection_init_wait_timeout=dt.timedelta(seconds=settings.WS_CONNECTION_INIT_TIMEOUT),
            max_subscriptions_per_connection=settings.WS_MAX_SUBSCRIPTIONS,
            # Browsers send cookies with a handshake from any page: only the
            # server's own origin, and those allowed to call the API, may open one.
            allowed_origins=settings.CORS_ALLOWED_ORIGINS,
        )
        self.log = ConnectionLog()
        self._closing = False
        self._background: set[asyncio.Task[None]] = set()

    async def connect(self) -> None:
        self.run_task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        # The task its operations are started from: they count as its.
        with open_connection("websocket"):
            await self.run(self)

    async def dispatch(self, message: ChannelsMessage) -> None:
        # Channels closes the shared thread's "old" connections before every
        # message: a hop to that thread, behind busy reader threads for the
        # GIL, before a new subscriber's message is even read. It is done
        # once the connection's identity is settled, once each operation ends
        # (api.websocket.protocols) and once the connection ends instead.
        if message.get("type", "").startswith("websocket."):
            await getattr(self, get_handler_name(message))(message)
        else:
            await super().dispatch(message)

    def decode_json(self, data: str | bytes) -> object:
        # As the HTTP view does: Python's json raises RecursionError on deep
        # nesting, orjson a decode error, which closes the socket with 4400.
        return orjson.loads(data)

    def encode_json(self, data: object) -> str:
        # Every batch to every subscriber: orjson is several times faster than
        # json. A text frame, so a str.
        return orjson.dumps(data).decode()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # Checked before anything is parsed; uvicorn's own limit is 16 MiB.
        limit = settings.WS_MAX_MESSAGE_BYTES
        size = len(bytes_data or b"") + len(text_data or "")
        if size > limit or (text_data and len(text_data.encode()) > limit):
            await self.close(
                code=MESSAGE_TOO_BIG, reason=f"Message too big (at most {limit} bytes)"
            )
        elif not self._closing:
            await super().receive(text_data, bytes_data)

    async def send(
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        # Whatever an operation still sends once a close is under way would
        # never reach the client, and uvicorn refuses it.
        if self._closing:
            return
        try:
            await super().send(text_data, bytes_data, close)
        except OSError:
            # The client left without a close frame (ASGI servers raise an
            # OSError then). That is no error of ours: the disconnect that
            # follows ends the connection's operations.
            self._closing = True

    async def close(self, code: int | None = None, reason: str | None = None) -> None:
        if self._start_closing(code or 1000):
            await self._send_close(code, reason)

    def close_later(self, code: int, reason: str) -> None:
        """Closes the connection without waiting here for the close to go out,
        which waits for the client to read what was sent before it."""
        if self._start_closing(code):
            task = asyncio.ensure_future(self._send_close(code, reason))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    def _start_closing(self, code: int) -> bool:
        """False if a close is under way already."""
        if self._closing:
            return False
        self._closing = True
        self.log.closed_with = code
        return True

    async def _send_close(self, code: int | None, reason: str | None) -> None:
        with suppress(OSError):  # the client is gone already
            await super().close(code=code, reason=reason)

    async def disconnect(self, code: int) -> None:
        try:
            await super().disconnect(code)
        finally:
            self.log.write(code)
            await aclose_old_connections()

    async def pick_websocket_subprotocol(self, request: GraphQLWSConsumer) -> str | None:
        self.log.subprotocol = await super().pick_websocket_subprotocol(request)
        return self.log.subprotocol

    async def on_ws_connect(self, context: dict[str, Any]) -> UnsetType | dict[str, object] | None:
        try:
            context[CONNECTION_USER] = await connection_user(
                self.scope, context.get("connection_params")
            )
        except InvalidToken as error:
            await self._refuse(str(error))
        finally:
            await aclose_old_connections()
        return await super().on_ws_connect(context)

    async def _refuse(self, message: str) -> None:
        """Closes the socket with 4403 on both subprotocols."""
        if await self.pick_websocket_subprotocol(self) != GRAPHQL_WS_PROTOCOL:
            raise ConnectionRejectionError({"message": message})  # strawberry closes with 4403
        # The legacy protocol's handler would close with 1011 (internal error):
        # say why and close here instead, then end the handler as if the client
        # had gone, which it is about to.
        error = {"type": "connection_error", "payload": {"message": message}}
        await self.send(text_data=json.dumps(error))
        await self.close(code=FORBIDDEN, reason="Forbidden")
        raise WebSocketDisconnected


def connection_closer(context: object, code: int, reason: str) -> Callable[[], None]:
    """What closes the connection an operation runs on with ``code``: the
    websocket of its context's ``ws``, or the context itself for a stream over
    HTTP (api.http.subscriptions); nothing for a plain request."""
    connection = context.get("ws") if isinstance(context, dict) else context
    close_later = getattr(connection, "close_later", None)
    if callable(close_later):
        return partial(close_later, code, reason)
    return lambda: None
