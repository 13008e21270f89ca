"""Delivery of broadcast messages through Redis pub/sub (api.broadcast): one
PUBLISH per message, one subscribed connection per listener."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis
import redis.asyncio

from api.broadcast import BroadcastInterrupted, Inbox

logger = logging.getLogger(__name__)

REDIS_TIMEOUT = 5.0  # seconds to connect, and to publish


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
