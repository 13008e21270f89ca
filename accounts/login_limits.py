"""Failed ``login`` attempts, limited per username and per address.

Each username and each address has a bucket of ``LOGIN_MAX_FAILURES`` (per
address ``LOGIN_MAX_FAILURES_PER_ADDRESS``) failures, each forgiven
``LOGIN_FAILURE_WINDOW`` / that many seconds after it. An empty bucket
refuses the attempt before the password is checked, whether the username
exists or not: the answer says nothing about who has an account. A
success empties the username's record of failures (not the address's: one
account of one's own must not reset the guessing of others').
"""

from dataclasses import dataclass

from django.conf import settings

from api.rate_limits.buckets import buckets


@dataclass(frozen=True)
class _Limit:
    key: str
    capacity: int

    @property
    def refill(self) -> float:
        return self.capacity / settings.LOGIN_FAILURE_WINDOW


def _limits(username: str, address: str) -> tuple[_Limit, _Limit]:
    return (
        _Limit(f"login-user:{username.casefold()}", settings.LOGIN_MAX_FAILURES),
        _Limit(f"login-address:{address}", settings.LOGIN_MAX_FAILURES_PER_ADDRESS),
    )


async def locked_out_for(username: str, address: str) -> float:
    """Seconds until an attempt may be made again; 0 if it may now."""
    wait = 0.0
    for limit in _limits(username, address):
        # Spending 0 reads the bucket (refilled) without taking from it.
        decision = await buckets().take(limit.key, 0, limit.capacity, limit.refill)
        if decision.remaining < 1:
            wait = max(wait, (1 - decision.remaining) / limit.refill)
    return wait


async def record_failure(username: str, address: str) -> None:
    for limit in _limits(username, address):
        await buckets().take(limit.key, 1, limit.capacity, limit.refill)


async def record_success(username: str, address: str) -> None:
    user_limit, _ = _limits(username, address)
    await buckets().reset(user_limit.key)
