"""The ``extensions`` a client sent with the operation being run, where the
transport's strawberry handler passes the schema none: websockets'
(api.websocket.protocols sets them around each operation's run)."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from strawberry.types import ExecutionContext

_sent: ContextVar[Mapping[str, Any] | None] = ContextVar("sent_extensions", default=None)


@contextmanager
def sent_with(extensions: Mapping[str, Any] | None) -> Iterator[None]:
    token = _sent.set(extensions)
    try:
        yield
    finally:
        _sent.reset(token)


def operation_extensions(context: ExecutionContext) -> Mapping[str, Any] | None:
    return context.operation_extensions or _sent.get()
