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
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache

import redis
import redis.asyncio
from django.conf import settings

logger = logging.getLogger(__name__)

REDIS_TIMEOUT = 5.0  # seconds to connect, and to publish


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


class RedisBroadcast:
    """Delivery to every process subscribed to the same Redis channel."""

    def __init__(self, url: str) -> None:
        self._url = url
        # A write has committed by the time it publishes: a Redis that does
        # not answer must not hold the writer for long.
        self._publisher = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
        )

    def publish(self, channel: str, message: bytes) -> None:
        self._publisher.publish(channel, message)

    @asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[Inbox]:
        """Yields once Redis has confirmed the subscription, so that anything
        published from then on is received."""
        async with (
            # Named, so that an operator sees which connections are listeners.
            redis.asyncio.Redis.from_url(
                self._url,
                client_name=f"{channel}:listener",
                socket_connect_timeout=REDIS_TIMEOUT,
                socket_keepalive=True,
            ) as client,
            client.pubsub(ignore_subscribe_messages=False) as pubsub,
        ):
            await pubsub.subscribe(channel)
            confirmation = await pubsub.parse_response(block=True)
            assert confirmation[0] == b"subscribe", confirmation
            inbox = Inbox()
            receiving = asyncio.create_task(self._receive(pubsub, inbox))
            try:
                yield inbox
            finally:
                receiving.cancel()

    @staticmethod
    async def _receive(pubsub: redis.asyncio.client.PubSub, inbox: Inbox) -> None:
        try:
            while True:
                message = await pubsub.get_message(timeout=None)
                if message is not None and message["type"] == "message":
                    inbox.put(message["data"])
        except (redis.RedisError, OSError) as error:
            logger.error("lost the Redis subscription: %s", error)
            inbox.put(BroadcastInterrupted(str(error)))


@cache
def broadcast() -> LocalBroadcast | RedisBroadcast:
    """This process's broadcast, as the settings choose it."""
    return RedisBroadcast(settings.REDIS_URL) if settings.REDIS_URL else LocalBroadcast()
