"""Buckets in the database: shared by every process that uses it, with no
other service (the store when no ``REDIS_URL`` is set).

One statement reads, refills and spends a bucket atomically, an UPSERT whose
``RETURNING`` answers what is left and whether it was spent, on the
database's clock; a sync spends every bucket a process used in one
statement. Processes spend ahead from copies (api.rate_limits.pre_debited),
so a request meets the database here only for a client its process has not
seen lately. Buckets full again are deleted now and then: an idle client
costs a row for no longer than its bucket takes to refill.
"""

import time
from collections.abc import Sequence
from typing import Any

from asgiref.sync import sync_to_async
from django.db import DatabaseError, connection, connections

from api.rate_limits.buckets import Decision
from api.rate_limits.models import Bucket
from api.rate_limits.pre_debited import StoreUnavailable

PRUNE_INTERVAL = 60.0  # seconds between two deletions of full buckets, per process

_SQL = {
    "postgresql": {
        "clock": "date_part('epoch', clock_timestamp())",
        "least": "LEAST",
        "greatest": "GREATEST",
    },
    "sqlite": {
        "clock": "(julianday('now') - 2440587.5) * 86400.0",
        "least": "MIN",
        "greatest": "MAX",
    },
}


def _upsert(rows: int, forced: bool) -> str:
    """Takes each row's cost from its bucket if the bucket holds it, or
    whatever it holds when ``forced`` (what was admitted ahead elsewhere)."""
    sql = _SQL[connection.vendor]
    table = Bucket._meta.db_table
    refilled = (
        f"{sql['least']}(excluded.capacity, {table}.points"
        f" + {sql['greatest']}(0, excluded.refilled_at - {table}.refilled_at) * excluded.refill)"
    )
    admitted = "TRUE" if forced else f"({refilled} >= excluded.cost)"
    values = ", ".join([f"(%s, %s, {sql['clock']}, %s, %s, %s, %s)"] * rows)
    return (
        f"INSERT INTO {table} (key, points, refilled_at, capacity, refill, cost, admitted)"
        f" VALUES {values} ON CONFLICT (key) DO UPDATE SET"
        f" points = {refilled} - CASE WHEN {admitted} THEN excluded.cost ELSE 0 END,"
        " refilled_at = excluded.refilled_at, capacity = excluded.capacity,"
        f" refill = excluded.refill, cost = excluded.cost, admitted = {admitted}"
        " RETURNING key, points, admitted"
    )


def _new_bucket(
    key: str, cost: float, capacity: float, refill: float, forced: bool
) -> Sequence[Any]:
    admitted = forced or capacity >= cost
    return (key, capacity - cost if admitted else capacity, capacity, refill, cost, admitted)


def _prune_statement() -> str:
    sql = _SQL[connection.vendor]
    return (
        f"DELETE FROM {Bucket._meta.db_table}"
        f" WHERE points + ({sql['clock']} - refilled_at) * refill >= capacity"
    )


def _run(statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            return list(cursor.fetchall()) if cursor.description else []
    finally:
        # A thread of the pool, not a request's: its connection goes back now.
        connections.close_all()


class DatabaseBuckets:
    """Buckets in the table of api.rate_limits.models.Bucket."""

    def __init__(self) -> None:
        self._pruned = time.monotonic()

    async def _execute(self, statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        try:
            return await sync_to_async(_run, thread_sensitive=False)(statement, params)
        except DatabaseError as error:
            raise StoreUnavailable(error) from error

    async def take(self, key: str, cost: float, capacity: float, refill: float) -> Decision:
        params = _new_bucket(key, cost, capacity, refill, forced=False)
        ((_, points, admitted),) = await self._execute(_upsert(1, forced=False), params)
        if admitted:
            return Decision(True, points, 0.0)
        return Decision(False, points, (cost - points) / refill)

    async def spend(self, spent: dict[str, tuple[float, float, float]]) -> dict[str, float]:
        # In one order in every process: two statements that lock the same
        # rows in opposite orders would deadlock.
        keys = sorted(spent)
        params = [value for key in keys for value in _new_bucket(key, *spent[key], forced=True)]
        left = {
            key: points for key, points, _ in await self._execute(_upsert(len(keys), True), params)
        }
        if time.monotonic() - self._pruned > PRUNE_INTERVAL:
            self._pruned = time.monotonic()
            await self._execute(_prune_statement(), ())
        return left

    async def reset(self, key: str) -> None:
        await self._execute(f"DELETE FROM {Bucket._meta.db_table} WHERE key = %s", (key,))
