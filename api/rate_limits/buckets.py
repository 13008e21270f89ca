"""Token buckets: ``capacity`` points, refilled at ``refill`` points a second.

``RATE_LIMIT_STORE`` says where they live: in Redis
(api.rate_limits.redis_buckets) or in the database
(api.rate_limits.database_buckets), shared by every process of every host
that uses it and spent ahead from copies in each (api.rate_limits.pre_debited);
or in this process alone (``memory``), which with several processes admits
up to that many times the rate.
"""

import time
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Protocol

from django.conf import settings

if TYPE_CHECKING:
    from api.rate_limits.pre_debited import SharedBuckets


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


@cache
def store(kind: str) -> Buckets:
    """The buckets of ``RATE_LIMIT_STORE``; the Redis client is imported only
    for Redis."""
    if kind == "memory":
        return MemoryBuckets()
    from api.rate_limits.pre_debited import PreDebitedBuckets

    shared: SharedBuckets
    if kind == "redis":
        from api.rate_limits.redis_buckets import RedisBuckets

        shared = RedisBuckets(settings.REDIS_URL)
    else:
        from api.rate_limits.database_buckets import DatabaseBuckets

        shared = DatabaseBuckets()
    return PreDebitedBuckets(shared, settings.RATE_LIMIT_SYNC_SECONDS)


def buckets() -> Buckets:
    return store(settings.RATE_LIMIT_STORE)
