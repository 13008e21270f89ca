"""Spending ahead of a shared store, from this process's copies of buckets.

A round trip to the store (Redis, or the database) per operation would put
its latency (and, on a busy machine, its scheduling) in every request, so
each process spends *ahead* from its own copy of a client's bucket: a client
whose copy it has not synced in the last three intervals is asked about in
the store, and what it spends then is sent to the store every
``RATE_LIMIT_SYNC_SECONDS`` in one round trip, whose answers (what is left,
everyone's spending counted) replace the copies. Between two syncs a client
spread over several processes may spend up to what each copy held: the
bucket is exact over time, and ahead by at most one sync interval.

A bucket that the store cannot be asked about admits (and the failure is
logged): a limit of the API must not take the API down with it.
"""

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Protocol

from api.rate_limits.buckets import Decision

logger = logging.getLogger(__name__)


class StoreUnavailable(Exception):
    """The shared store could not be asked or told."""


class SharedBuckets(Protocol):
    """Buckets every process sees; each method one round trip."""

    async def take(self, key: str, cost: float, capacity: float, refill: float) -> Decision:
        """Spends ``cost`` if the bucket holds it (raises StoreUnavailable)."""
        ...

    async def spend(self, spent: dict[str, tuple[float, float, float]]) -> dict[str, float]:
        """Spends, past empty if need be, ``{key: (cost, capacity, refill)}``;
        what each bucket holds then (raises StoreUnavailable)."""
        ...

    async def reset(self, key: str) -> None: ...


@dataclass
class _Copy:
    points: float
    at: float  # monotonic
    capacity: float
    refill: float
    synced: float  # monotonic: when the store last told what is left
    unsent: float = 0.0  # spent here since the last sync


class PreDebitedBuckets:
    """Buckets spent from this process's copies, synced with the store in batches."""

    def __init__(self, shared: SharedBuckets, interval: float) -> None:
        self._shared = shared
        self._interval = interval
        self._copies: dict[str, _Copy] = {}
        self._syncing: asyncio.Task[None] | None = None

    async def take(self, key: str, cost: float, capacity: float, refill: float) -> Decision:
        now = time.monotonic()
        copy = self._copies.get(key)
        # A copy this process has not synced lately misses what others spent.
        if copy is None or copy.capacity != capacity or now - copy.synced > 3 * self._interval:
            try:
                decision = await self._shared.take(key, cost, capacity, refill)
            except StoreUnavailable as error:
                logger.warning("rate limit store unavailable, admitting: %s", error)
                return Decision(True, capacity, 0.0)
            unsent = copy.unsent if copy is not None else 0.0  # not in the store yet
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
        try:
            await self._shared.reset(key)
        except StoreUnavailable as error:
            logger.warning("rate limit store unavailable: %s", error)

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
            # A copy reset meanwhile leaves nothing to send.
            left = await self._shared.spend(unsent) if unsent else {}
        except StoreUnavailable as error:
            logger.warning("rate limit store unavailable, spending locally: %s", error)
            return
        finally:
            self._syncing = None
        now = time.monotonic()
        for key, points in left.items():
            copy = self._copies.get(key)
            if copy is not None:  # what was spent here meanwhile is not in the store yet
                copy.points, copy.at, copy.synced = points - copy.unsent, now, now
        self._forget_refilled(now)
        if any(copy.unsent for copy in self._copies.values()):  # spent during the sync
            self._syncing = asyncio.ensure_future(self._sync_soon())

    def _forget_refilled(self, now: float) -> None:
        """Copies of buckets full again: the next take asks the store afresh."""
        self._copies = {
            key: copy
            for key, copy in self._copies.items()
            if copy.unsent or copy.points + (now - copy.at) * copy.refill < copy.capacity
        }
