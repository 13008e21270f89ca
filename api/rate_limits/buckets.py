"""Token buckets: ``capacity`` points, refilled at ``refill`` points a second.

With ``REDIS_URL`` set, every bucket lives in Redis, shared by every process
of every host (api.rate_limits.redis_buckets, spent ahead by
api.rate_limits.pre_debited; the Redis client is imported
only then). Without it, each process keeps its own buckets: right for one
process; for several it admits up to that many times the rate.
"""

import logging
import time
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from django.conf import settings

logger = logging.getLogger(__name__)


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
def store(redis_url: str) -> Buckets:
    """The buckets in the Redis at ``redis_url``, else this process's."""
    if redis_url:
        from api.rate_limits.pre_debited import PreDebitedBuckets
        from api.rate_limits.redis_buckets import RedisBuckets

        return PreDebitedBuckets(RedisBuckets(redis_url), settings.RATE_LIMIT_SYNC_SECONDS)
    if settings.RATE_LIMITING:
        logger.warning("rate limits are kept per process: set REDIS_URL to share them")
    return MemoryBuckets()


def buckets() -> Buckets:
    return store(settings.REDIS_URL)
