"""Buckets in Redis (``REDIS_URL``).

Every bucket lives in Redis, where one Lua script
reads, refills and spends it atomically on Redis's clock, so every process
of every host spends from the same bucket. A round trip per operation would
put Redis's latency (and, on a busy machine, its scheduling) in every
request, so each process spends *ahead* from its own copy of a client's
bucket (``PreDebitedBuckets``): a client whose copy it has not synced in
the last three intervals is asked about in Redis, and what it spends then
is sent to Redis every
``RATE_LIMIT_SYNC_SECONDS`` in one pipeline, whose answers (what is left,
everyone's spending counted) replace the copies. Between two syncs a client
spread over several processes may spend up to what each copy held: the
bucket is exact over time, and ahead by at most one sync interval.

A bucket that Redis cannot be asked about admits (and the failure is
logged): a limit of the API must not take the API down with it.
"""

import asyncio
import logging
import time
import weakref
from dataclasses import dataclass

import redis.asyncio as redis
from django.conf import settings
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from api.rate_limits.buckets import Decision

logger = logging.getLogger(__name__)

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
            logger.warning("rate limit store unavailable, admitting: %s", error)
            return Decision(True, capacity, 0.0)
        return Decision(bool(spent), float(points), float(wait))

    async def spend(self, spent: dict[str, tuple[float, float, float]]) -> dict[str, float]:
        """Spends, past empty if need be, ``{key: (cost, capacity, refill)}`` in
        one round trip; what each bucket holds then."""
        client, script = self._client()
        async with client.pipeline(transaction=False) as pipeline:
            for key, (cost, capacity, refill) in spent.items():
                await script(
                    keys=[KEY_PREFIX + key], args=[capacity, refill, cost, 1], client=pipeline
                )
            answers = await pipeline.execute()
        return {key: float(points) for key, (_, points, _) in zip(spent, answers, strict=True)}

    async def reset(self, key: str) -> None:
        try:
            await self._client()[0].delete(KEY_PREFIX + key)
        except (RedisError, OSError) as error:
            logger.warning("rate limit store unavailable: %s", error)


@dataclass
class _Copy:
    points: float
    at: float  # monotonic
    capacity: float
    refill: float
    synced: float  # monotonic: when Redis last told what is left
    unsent: float = 0.0  # spent here since the last sync


class PreDebitedBuckets:
    """Buckets spent from this process's copies, synced with Redis in batches."""

    def __init__(self, shared: RedisBuckets, interval: float) -> None:
        self._shared = shared
        self._interval = interval
        self._copies: dict[str, _Copy] = {}
        self._syncing: asyncio.Task[None] | None = None

    async def take(self, key: str, cost: float, capacity: float, refill: float) -> Decision:
        now = time.monotonic()
        copy = self._copies.get(key)
        # A copy this process has not synced lately misses what others spent.
        if copy is None or copy.capacity != capacity or now - copy.synced > 3 * self._interval:
            decision = await self._shared.take(key, cost, capacity, refill)
            unsent = copy.unsent if copy is not None else 0.0  # not in Redis yet
            now = time.monotonic()
            self._copies[key] = _Copy(
                decision.remaining - unsent, now, capacity, refill, now, unsent
            )
            return decision
        copy.points = min(capacity, copy.points + (now - copy.at) * refill)
        copy.at = now
        if copy.points < cost:
            return Decision(False, copy.points, (cost - copy.points) / refill)
        copy.points -= cost
        copy.unsent += cost
        if self._syncing is None:
            self._syncing = asyncio.ensure_future(self._sync_soon())
        return Decision(True, copy.points, 0.0)

    async def reset(self, key: str) -> None:
        self._copies.pop(key, None)
        await self._shared.reset(key)

    async def _sync_soon(self) -> None:
        try:
            await asyncio.sleep(self._interval)
            unsent = {
                key: (copy.unsent, copy.capacity, copy.refill)
                for key, copy in self._copies.items()
                if copy.unsent
            }
            for key in unsent:
                self._copies[key].unsent = 0.0
            left = await self._shared.spend(unsent)
        except (RedisError, OSError) as error:
            logger.warning("rate limit store unavailable, spending locally: %s", error)
            return
        finally:
            self._syncing = None
        now = time.monotonic()
        for key, points in left.items():
            copy = self._copies.get(key)
            if copy is not None:  # what was spent here meanwhile is not in Redis yet
                copy.points, copy.at, copy.synced = points - copy.unsent, now, now
        self._forget_refilled(now)
        if any(copy.unsent for copy in self._copies.values()):  # spent during the sync
            self._syncing = asyncio.ensure_future(self._sync_soon())

    def _forget_refilled(self, now: float) -> None:
        """Copies of buckets full again: the next take asks Redis afresh."""
        self._copies = {
            key: copy
            for key, copy in self._copies.items()
            if copy.unsent or copy.points + (now - copy.at) * copy.refill < copy.capacity
        }
