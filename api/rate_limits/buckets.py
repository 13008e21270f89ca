"""Token buckets: ``capacity`` points, refilled at ``refill`` points a second.

With ``REDIS_URL`` set, every bucket lives in Redis and one Lua script reads,
refills and spends it atomically, on Redis's clock: every process of every
host spends from the same bucket, in one round trip of about 0.1 ms from an
async client (no thread hop, nothing written to the database). Without it,
each process keeps its own buckets: right for one process, and for several
it admits up to that many times the rate.

A bucket that Redis cannot be asked about admits (and the failure is
logged): a limit of the API must not take the API down with it.
"""

import asyncio
import logging
import time
import weakref
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import redis.asyncio as redis
from django.conf import settings
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# KEYS[1]: the bucket; ARGV: capacity, refill per second, cost. Returns
# whether it was spent, what is left and the seconds until `cost` would be.
# The bucket expires once it would be full again: an idle client costs nothing.
TAKE = """
local capacity = tonumber(ARGV[1])
local refill = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'points', 'at')
local points = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
points = math.min(capacity, points + math.max(0, now - at) * refill)
local spent = 0
local wait = 0
if points >= cost then
  points = points - cost
  spent = 1
else
  wait = (cost - points) / refill
end
redis.call('HSET', KEYS[1], 'points', tostring(points), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - points) / refill * 1000) + 1000)
return {spent, tostring(points), tostring(wait)}
"""

KEY_PREFIX = "conveyor:bucket:"


@dataclass(frozen=True)
class Decision:
    spent: bool
    remaining: float
    retry_after: float  # seconds until the cost asked for would be admitted


class Buckets(Protocol):
    async def take(self, key: str, cost: float, capacity: float, refill: float) -> Decision: ...

    async def reset(self, key: str) -> None: ...


class MemoryBuckets:
    """This process's own buckets, on its monotonic clock."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}

    async def take(self, key: str, cost: float, capacity: float, refill: float) -> Decision:
        now = time.monotonic()
        points, at = self._buckets.get(key, (capacity, now))
        points = min(capacity, points + (now - at) * refill)
        spent = points >= cost
        if spent:
            points -= cost
        self._buckets[key] = (points, now)
        if len(self._buckets) > 100_000:
            self._forget_full(now, capacity, refill)
        return Decision(spent, points, 0.0 if spent else (cost - points) / refill)

    async def reset(self, key: str) -> None:
        self._buckets.pop(key, None)

    def _forget_full(self, now: float, capacity: float, refill: float) -> None:
        """Drops the buckets that have refilled, which a new one equals."""
        self._buckets = {
            key: (points, at)
            for key, (points, at) in self._buckets.items()
            if points + (now - at) * refill < capacity
        }


class RedisBuckets:
    """Buckets in Redis, shared by every process that names the same server."""

    def __init__(self, url: str) -> None:
        self._url = url
        # An asyncio client belongs to the event loop it was made on.
        self._clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[redis.Redis, AsyncScript]
        ] = weakref.WeakKeyDictionary()

    def _client(self) -> tuple[redis.Redis, AsyncScript]:
        loop = asyncio.get_running_loop()
        if loop not in self._clients:
            client = redis.Redis.from_url(
                self._url, socket_timeout=settings.RATE_LIMIT_STORE_TIMEOUT
            )
            # EVALSHA, and the script's text only if the server lacks it.
            self._clients[loop] = (client, client.register_script(TAKE))
        return self._clients[loop]

    async def take(self, key: str, cost: float, capacity: float, refill: float) -> Decision:
        try:
            _, script = self._client()
            spent, points, wait = await script(
                keys=[KEY_PREFIX + key], args=[capacity, refill, cost]
            )
        except (RedisError, OSError) as error:
            logger.warning("rate limit store unavailable, admitting: %s", error)
            return Decision(True, capacity, 0.0)
        return Decision(bool(spent), float(points), float(wait))

    async def reset(self, key: str) -> None:
        try:
            await self._client()[0].delete(KEY_PREFIX + key)
        except (RedisError, OSError) as error:
            logger.warning("rate limit store unavailable: %s", error)


@cache
def store(redis_url: str) -> Buckets:
    """The buckets in the Redis at ``redis_url``, else this process's."""
    if redis_url:
        return RedisBuckets(redis_url)
    if settings.RATE_LIMITING:
        logger.warning("rate limits are kept per process: set REDIS_URL to share them")
    return MemoryBuckets()


def buckets() -> Buckets:
    return store(settings.REDIS_URL)
