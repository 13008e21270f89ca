"""The buckets' table, through the statements the store runs: refusal and
the wait it answers, the refill on the database's clock, spending past
empty, one bucket for two stores (as two processes have), reset, pruning."""

import asyncio
import uuid

import pytest

from api.rate_limits import database_buckets
from api.rate_limits.database_buckets import DatabaseBuckets
from api.rate_limits.models import Bucket
from api.rate_limits.pre_debited import PreDebitedBuckets

pytestmark = pytest.mark.django_db(transaction=True)


def new_key() -> str:
    return f"test:{uuid.uuid4().hex}"


async def test_a_bucket_spends_what_it_holds_and_refuses_the_rest() -> None:
    store, key = DatabaseBuckets(), new_key()
    first = await store.take(key, 6, capacity=10, refill=0.01)
    assert first.spent
    assert first.remaining == pytest.approx(4, abs=0.01)
    refused = await store.take(key, 6, capacity=10, refill=0.01)
    assert not refused.spent
    assert refused.remaining == pytest.approx(4, abs=0.01)  # nothing taken
    assert refused.retry_after == pytest.approx(200, abs=2)  # 2 points at 0.01 a second


async def test_a_cost_larger_than_the_bucket_is_never_admitted() -> None:
    refused = await DatabaseBuckets().take(new_key(), 11, capacity=10, refill=1)
    assert not refused.spent
    assert refused.remaining == pytest.approx(10)


async def test_the_bucket_refills_at_its_rate_up_to_its_capacity() -> None:
    store, key = DatabaseBuckets(), new_key()
    await store.take(key, 10, capacity=10, refill=50)
    await asyncio.sleep(0.1)  # 5 points back
    refilled = await store.take(key, 0, capacity=10, refill=50)
    assert 4 <= refilled.remaining < 10
    await asyncio.sleep(0.3)
    assert (await store.take(key, 0, capacity=10, refill=50)).remaining == pytest.approx(10)


async def test_spending_ahead_goes_past_empty_and_is_repaid_before_anything_else() -> None:
    store, key = DatabaseBuckets(), new_key()
    await store.take(key, 8, capacity=10, refill=0.001)
    left = await store.spend({key: (5.0, 10.0, 0.001), new_key(): (3.0, 10.0, 0.001)})
    assert left[key] == pytest.approx(-3, abs=0.01)
    assert not (await store.take(key, 1, capacity=10, refill=0.001)).spent


async def test_two_stores_spend_from_one_bucket() -> None:
    key = new_key()
    await DatabaseBuckets().take(key, 7, capacity=10, refill=0.001)
    refused = await DatabaseBuckets().take(key, 7, capacity=10, refill=0.001)
    assert not refused.spent
    assert refused.remaining == pytest.approx(3, abs=0.01)


async def test_reset_fills_the_bucket_again() -> None:
    store, key = DatabaseBuckets(), new_key()
    await store.take(key, 10, capacity=10, refill=0.001)
    await store.reset(key)
    assert (await store.take(key, 10, capacity=10, refill=0.001)).spent


async def test_full_buckets_are_pruned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database_buckets, "PRUNE_INTERVAL", 0.0)
    store, full, emptied = DatabaseBuckets(), new_key(), new_key()
    await store.take(full, 1, capacity=10, refill=1000)
    await asyncio.sleep(0.05)  # refilled
    await store.spend({emptied: (10.0, 10.0, 0.001)})
    keys = {key async for key in Bucket.objects.values_list("key", flat=True)}
    assert emptied in keys
    assert full not in keys


async def test_a_bucket_reset_before_its_sync_leaves_the_store_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    buckets, key = PreDebitedBuckets(DatabaseBuckets(), interval=0.05), new_key()
    await buckets.take(key, 1, capacity=10, refill=0.001)  # asks the store
    await buckets.take(key, 1, capacity=10, refill=0.001)  # from the copy: a sync is due
    await buckets.reset(key)
    await asyncio.sleep(0.2)
    assert "unavailable" not in caplog.text
    assert (await buckets.take(key, 10, capacity=10, refill=0.001)).spent
