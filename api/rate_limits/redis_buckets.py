"""Buckets in Redis (``REDIS_URL``).

Every bucket lives in Redis, where one Lua script reads, refills and spends
it atomically on Redis's clock, so every process of every host spends from
the same bucket. Processes spend ahead from copies of it
(api.rate_limits.pre_debited) and tell Redis in one pipeline per sync.
"""

import asyncio
import weakref

import redis.asyncio as redis
from django.conf import settings
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from api.rate_limits.buckets import Decision
from api.rate_limits.pre_debited import StoreUnavailable

# KEYS[1]: the bucket; ARGV: capacity, refill per second, cost, and 1 to
# spend it even past empty (what was admitted elsewhere). Returns whether it
# was spent, what is left and the seconds until `cost` would be.
# The bucket expires once it would be full again: an idle client costs nothing.
TAKE = """
local capacity = tonumber(ARGV[1])
local refill = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local force = ARGV[4] == '1'
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'points', 'at')
local points = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
points = math.min(capacity, points + math.max(0, now - at) * refill)
local spent = 0
local wait = 0
if force or points >= cost then
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
                keys=[KEY_PREFIX + key], args=[capacity, refill, cost, 0]
            )
        except (RedisError, OSError) as error:
            raise StoreUnavailable(error) from error
        return Decision(bool(spent), float(points), float(wait))

    async def spend(self, spent: dict[str, tuple[float, float, float]]) -> dict[str, float]:
        try:
            client, script = self._client()
            async with client.pipeline(transaction=False) as pipeline:
                for key, (cost, capacity, refill) in spent.items():
                    await script(
                        keys=[KEY_PREFIX + key], args=[capacity, refill, cost, 1], client=pipeline
                    )
                answers = await pipeline.execute()
        except (RedisError, OSError) as error:
            raise StoreUnavailable(error) from error
        return {key: float(points) for key, (_, points, _) in zip(spent, answers, strict=True)}

    async def reset(self, key: str) -> None:
        try:
            await self._client()[0].delete(KEY_PREFIX + key)
        except (RedisError, OSError) as error:
            raise StoreUnavailable(error) from error
