"""Messages from every writer to every listening server process.

Without ``REDIS_URL`` a message reaches the listeners of the process that
published it. With it, messages go through Redis pub/sub: one PUBLISH per
message, one subscribed connection per process, which then fans the message
out to its own subscribers. Channels' Redis layer would instead write one
copy per consumer (``group_send``), so a thousand subscribers would cost a
thousand Redis writes per change; pub/sub costs one.

Publishing is synchronous and thread-safe, since it happens where writes
commit: ORM code on worker threads, management commands, the admin.
Pub/sub delivers at most once: a listener whose connection breaks is told so
(``BroadcastInterrupted``), as it may have missed messages.
"""

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from api.redis_broadcast import RedisBroadcast


class BroadcastInterrupted(Exception):
    """The listener lost its connection: messages may have been missed."""


class Inbox:
    """Messages received by one listener, in order."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[bytes | BroadcastInterrupted] = asyncio.Queue()

    def put(self, message: bytes | BroadcastInterrupted) -> None:
        self._queue.put_nowait(message)

    async def get(self) -> bytes:
        return self._checked(await self._queue.get())

    def drain(self, limit: int) -> list[bytes]:
        """Up to ``limit`` messages already here, without waiting."""
        messages: list[bytes] = []
        while len(messages) < limit and not self._queue.empty():
            messages.append(self._checked(self._queue.get_nowait()))
        return messages

    @staticmethod
    def _checked(message: bytes | BroadcastInterrupted) -> bytes:
        if isinstance(message, BroadcastInterrupted):
            raise message
        return message


class LocalBroadcast:
    """Delivery inside this process, to listeners on any event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: dict[str, set[tuple[asyncio.AbstractEventLoop, Inbox]]] = {}

    def publish(self, channel: str, message: bytes) -> None:
        with self._lock:
            listeners = list(self._listeners.get(channel, ()))
        for loop, inbox in listeners:
            loop.call_soon_threadsafe(inbox.put, message)

    @asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[Inbox]:
        listener = (asyncio.get_running_loop(), Inbox())
        with self._lock:
            self._listeners.setdefault(channel, set()).add(listener)
        try:
            yield listener[1]
        finally:
            with self._lock:
                self._listeners[channel].discard(listener)


@cache
def broadcast() -> "LocalBroadcast | RedisBroadcast":
    """This process's broadcast, as the settings choose it."""
    if not settings.REDIS_URL:
        return LocalBroadcast()
    # The Redis client is imported by the processes that use it alone: a
    # quarter of a second of every management command otherwise.
    from api.redis_broadcast import RedisBroadcast

    return RedisBroadcast(settings.REDIS_URL)
