"""Spending an operation's cost from its client's bucket (``RATE_LIMITING``).

An operation spends its requested cost when it is admitted; a subscription
spends it again for every batch it sends after the first, waiting for its
bucket to refill rather than failing mid-stream: a stream over its rate is
slowed to it. What the operation spends is kept in a context variable, set
where it is admitted, for the stream's batches to read.
"""

import asyncio
import math
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings

from api.graphql.errors import ClientError
from api.rate_limits.buckets import buckets
from api.rate_limits.clients import Client


class RateLimited(ClientError):
    code = "RATE_LIMITED"

    def __init__(self, cost: int, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(
            f"Rate limit exceeded: this operation costs {cost} points and the bucket "
            f"refills in {self.retry_after} s. Try again then."
        )
        self.extensions = {**(self.extensions or {}), "retryAfter": self.retry_after}


@dataclass(frozen=True)
class Spending:
    client: Client
    cost: int

    @property
    def capacity(self) -> float:
        return float(settings.RATE_LIMIT_CAPACITY) * self._factor

    @property
    def refill(self) -> float:
        return float(settings.RATE_LIMIT_REFILL_PER_SECOND) * self._factor

    @property
    def _factor(self) -> float:
        return float(settings.RATE_LIMIT_STAFF_FACTOR) if self.client.staff else 1.0


_spending: ContextVar[Spending | None] = ContextVar("spending", default=None)


async def admit(client: Client, cost: int) -> None:
    """Spends ``cost`` from the client's bucket, or raises RateLimited."""
    spending = Spending(client, cost)
    decision = await buckets().take(client.key, cost, spending.capacity, spending.refill)
    if not decision.spent:
        raise RateLimited(cost, decision.retry_after)
    _spending.set(spending)


async def spend_for_batch() -> None:
    """Spends the running subscription's cost again, once the bucket holds it."""
    spending = _spending.get()
    if spending is None:
        return
    while True:
        decision = await buckets().take(
            spending.client.key, spending.cost, spending.capacity, spending.refill
        )
        if decision.spent:
            return
        await asyncio.sleep(decision.retry_after)
