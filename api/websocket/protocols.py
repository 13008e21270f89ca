"""strawberry's handlers of the two subprotocols, strict about what clients send.

strawberry checks the order of the protocol (4401, 4409, 4429, 4408) but takes
the shape of a message on trust: a message that is no JSON object, a payload
that is no object or a query that is no string raised inside the handler,
which then stopped reading, and the client hung on an open socket. Here every
message is checked first and a malformed one closes the socket with 4400, on
the legacy ``graphql-ws`` too (it has no code of its own for it, and a silent
socket helps no one). The operation over the limit of a connection gets an
error with ``extensions.code`` ``TOO_MANY_SUBSCRIPTIONS``, and every operation
is logged (api.websocket.log). Each message is noted as unanswered
(api.websocket.unanswered) until it has been handled, or, for one that starts an
operation, until the operation's first result has been sent.
"""

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import AbstractContextManager as ContextManager
from datetime import timedelta
from functools import cached_property
from typing import Any, cast

from channels.db import aclose_old_connections
from graphql import GraphQLError
from strawberry.channels.handlers.ws_handler import ChannelsWebSocketAdapter
from strawberry.http.exceptions import NonJsonMessageReceived
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    CompleteMessage,
    Message,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage,
    OperationMessage,
    StartMessage,
    StopMessage,
)

from api.graphql.sent_extensions import sent_with
from api.websocket.log import ConnectionLog
from api.websocket.unanswered import unanswered
from persisted_queries.selectors import document_named_by

BAD_REQUEST = 4400
INITIALISATION_TIMEOUT = 4408
TOO_MANY_INITIALISATION_REQUESTS = 4429

Context = dict[str, Any]


def message_problem(message: object, start: str, stop: str) -> str | None:
    """What is wrong with the shape of a client's message, if anything;
    ``start`` and ``stop`` name the protocol's messages that carry an id."""
    if not isinstance(message, dict):
        return "Message must be a JSON object"
    kind = message.get("type")
    if not isinstance(kind, str):
        return "Message type must be a string"
    if kind not in (start, stop):
        return None
    if not isinstance(message.get("id"), str) or not message["id"]:
        return f"A {kind} message needs an id, a non-empty string"
    if kind == stop:
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict):
        return f"The payload of a {kind} message must be an object"
    for name, kinds in [("variables", dict), ("extensions", dict), ("operationName", str)]:
        if not isinstance(payload.get(name), (kinds, type(None))):
            return f"`{name}` must be {'a string' if kinds is str else 'an object'} or null"
    # A persisted query's hash or id in `extensions` may stand for the document.
    if not isinstance(payload.get("query"), str) and not (
        payload.get("query") is None and payload.get("extensions")
    ):
        return "The query must be a string (or null, with `extensions` naming a persisted query)"
    return None


def too_many_operations(limit: int) -> GraphQLError:
    return GraphQLError(
        f"At most {limit} operations may run at once on one connection; "
        "complete one before starting another.",
        extensions={"code": "TOO_MANY_SUBSCRIPTIONS"},
    )


def over_limit(running: int, limit: int | None) -> bool:
    return limit is not None and running >= limit


class JSONOnlyAdapter(ChannelsWebSocketAdapter):
    """Text that is not JSON is an error on both subprotocols: the legacy
    handler asks to skip it silently, which leaves its client waiting."""

    def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        return super().iter_json()


class Answers:
    """The operations of one connection whose first result is still to be sent."""

    def __init__(self) -> None:
        self._awaited: dict[str, int] = {}  # operation id → api.websocket.unanswered token

    async def handle(
        self,
        message: Mapping[str, Any],
        start: str,
        handling: Awaitable[None],
        running: Callable[[str], bool],
    ) -> None:
        """Handles a client's message, noted as unanswered meanwhile; one of
        type ``start`` stays so until its operation's first result, if the
        operation is ``running`` once the message has been handled."""
        token = unanswered.received()
        operation = message.get("id") if message.get("type") == start else None
        if not isinstance(operation, str) or operation in self._awaited:
            operation = None
        else:
            self._awaited[operation] = token
        try:
            await handling
        finally:
            if operation is None:
                unanswered.answered(token)
            elif not running(operation):
                self.ended(operation)

    def sent(self, message: Mapping[str, Any]) -> None:
        """Notes a message sent: the first with an operation's id answers it."""
        operation = message.get("id")
        if isinstance(operation, str):
            self.ended(operation)

    def ended(self, operation: str) -> None:
        token = self._awaited.pop(operation, None)
        if token is not None:
            unanswered.answered(token)

    def all_ended(self) -> None:
        for operation in list(self._awaited):
            self.ended(operation)


class SentExtensions:
    """Each operation's ``extensions``, kept from the message that starts it
    to its run, which strawberry's handlers start with none. A persisted
    query named by them alone is looked up here: strawberry refuses an
    operation without a document before any extension could find it."""

    def __init__(self) -> None:
        self._kept: dict[str, Mapping[str, Any] | None] = {}

    async def keep(self, message: Mapping[str, Any]) -> None:
        """Raises the persisted query's error, if its document is not known."""
        payload = message["payload"]
        extensions = payload.get("extensions")
        if payload.get("query") is None:
            payload["query"] = await document_named_by(extensions)
        self._kept[message["id"]] = extensions

    def around(self, operation: str) -> ContextManager[None]:
        return sent_with(self._kept.pop(operation, None))


def connection_log(view: object) -> ConnectionLog:
    log: ConnectionLog = cast(Any, view).log  # the consumer, api.websocket.consumer
    return log


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """``graphql-transport-ws``."""

    @property
    def log(self) -> ConnectionLog:
        return connection_log(self.view)

    @cached_property
    def answers(self) -> Answers:
        return Answers()

    @cached_property
    def sent_extensions(self) -> SentExtensions:
        return SentExtensions()

    async def handle_message(self, message: Message) -> None:
        if problem := message_problem(message, "subscribe", "complete"):
            await self.handle_invalid_message(problem)
        else:
            handling = super().handle_message(message)
            await self.answers.handle(message, "subscribe", handling, self.operations.__contains__)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        limit = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and message["id"] not in self.operations
            and over_limit(len(self.operations), limit)
        ):
            assert limit is not None
            error = too_many_operations(limit)
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
        else:
            try:
                await self.sent_extensions.keep(message)
            except GraphQLError as error:
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [error.formatted]}
                )
            else:
                await super().handle_subscribe(message)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        try:
            with (
                self.log.operation(operation.id, operation.operation_name),
                self.sent_extensions.around(operation.id),
            ):
                await super().run_operation(operation)
        finally:
            self.answers.ended(operation.id)
            await aclose_old_connections()

    async def handle_complete(self, message: CompleteMessage) -> None:
        self.log.cancelled(message["id"])
        await super().handle_complete(message)

    async def send_message(self, message: Message) -> None:
        self.log.sent(cast(Mapping[str, Any], message))
        await super().send_message(message)
        self.answers.sent(cast(Mapping[str, Any], message))

    async def shutdown(self) -> None:
        self.log.ending()
        try:
            await super().shutdown()
        finally:
            self.answers.all_ended()


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    """The legacy ``graphql-ws`` (subscriptions-transport-ws)."""

    @cached_property
    def answers(self) -> Answers:
        return Answers()

    @cached_property
    def sent_extensions(self) -> SentExtensions:
        return SentExtensions()

    @property
    def log(self) -> ConnectionLog:
        return connection_log(self.view)

    async def handle(self) -> None:
        # strawberry times out only graphql-transport-ws clients that never
        # send connection_init; this protocol's would hold a socket for ever.
        waiting = asyncio.create_task(self._close_unless_initialised())
        try:
            await super().handle()
        except NonJsonMessageReceived:
            await self.websocket.close(BAD_REQUEST, "WebSocket message must be valid JSON")
        finally:
            waiting.cancel()

    async def _close_unless_initialised(self) -> None:
        timeout: timedelta = cast(Any, self.view).connection_init_wait_timeout
        await asyncio.sleep(timeout.total_seconds())
        if not self.connection_acknowledged:
            await self.websocket.close(INITIALISATION_TIMEOUT, "Connection initialisation timeout")

    async def handle_message(self, message: OperationMessage) -> None:
        if problem := message_problem(message, "start", "stop"):
            await self.websocket.close(BAD_REQUEST, problem)
        elif message["type"] not in {"connection_init", "connection_terminate", "start", "stop"}:
            await self.websocket.close(BAD_REQUEST, f"Unknown message type: {message['type']}")
        else:
            handling = super().handle_message(message)
            await self.answers.handle(message, "start", handling, self.tasks.__contains__)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if self.connection_acknowledged:
            reason = "Too many initialisation requests"
            await self.websocket.close(TOO_MANY_INITIALISATION_REQUESTS, reason)
        else:
            await super().handle_connection_init(message)

    async def handle_start(self, message: StartMessage) -> None:
        limit = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and message["id"] not in self.tasks
            and over_limit(len(self.tasks), limit)
        ):
            assert limit is not None
            error = too_many_operations(limit)
            await self.send_message(
                {"type": "error", "id": message["id"], "payload": error.formatted}
            )
        else:
            try:
                await self.sent_extensions.keep(message)
            except GraphQLError as error:
                await self.send_message(
                    {"type": "error", "id": message["id"], "payload": error.formatted}
                )
            else:
                await super().handle_start(message)

    async def handle_async_results(
        self,
        operation_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> None:
        try:
            with (
                self.log.operation(operation_id, operation_name),
                self.sent_extensions.around(operation_id),
            ):
                await super().handle_async_results(operation_id, query, operation_name, variables)
        finally:
            self.answers.ended(operation_id)
            await aclose_old_connections()

    async def handle_stop(self, message: StopMessage) -> None:
        self.log.cancelled(message["id"])
        await super().handle_stop(message)

    async def send_message(self, message: OperationMessage) -> None:
        self.log.sent(cast(Mapping[str, Any], message))
        await super().send_message(message)
        self.answers.sent(cast(Mapping[str, Any], message))

    async def cleanup(self) -> None:
        self.log.ending()
        try:
            await super().cleanup()
        finally:
            self.answers.all_ended()
