"""products.live in process: one read per group of changes for all feeds,
coalescing, filters decided like the database decides them, and the resume
frontiers of what a feed hands out."""

import asyncio
import contextlib
import gc
from contextlib import AsyncExitStack
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from django.db import DatabaseError, connections, transaction
from strawberry.types import ExecutionResult

import api.retrying
from api.graphql.execution import SharedList
from api.schema import schema
from products import live as live_module
from products import services
from products.changes import Change, Frontier, LogRead, current_frontier
from products.factories import ProductFactory
from products.live import Feed, LiveProducts, LiveUpdatesLost, Offer
from products.models import Product
from products.selectors import DecimalRange, ProductCriteria, filter_products
from tests.conftest import catalog_with_ties

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def close_writer_connections():
    yield
    await sync_to_async(connections.close_all)()


def test_a_feed_decides_a_filter_as_the_database_does(db):
    catalog = catalog_with_ties(40)
    some = frozenset(p.pk for p in catalog[::3])
    assert catalog[0].category_id is not None
    category = frozenset({catalog[0].category_id})
    for criteria in [
        ProductCriteria(),
        ProductCriteria(ids=some),
        ProductCriteria(ids=frozenset()),
        ProductCriteria(search="LAM"),
        ProductCriteria(search=catalog[5].sku[-3:]),
        ProductCriteria(category_ids=category),
        ProductCriteria(price=DecimalRange(gte=Decimal("9.99"), lte=Decimal("10.00"))),
        ProductCriteria(discounted_price=DecimalRange(lte=Decimal("9.00"))),
        ProductCriteria(discounted_price=DecimalRange(gte=Decimal("9.00"))),
        ProductCriteria(on_sale=True),
        ProductCriteria(on_sale=False),
        ProductCriteria(in_stock=True),
        ProductCriteria(in_stock=False),
        ProductCriteria(on_sale=True, in_stock=True, search="desk", category_ids=category),
    ]:
        selected = set(filter_products(criteria).values_list("pk", flat=True))
        assert {p.pk for p in catalog if criteria.matches(p)} == selected, criteria


@sync_to_async
def save(product_id: int, times: int = 1) -> None:
    """Changes the product's stock ``times`` in one transaction."""
    with transaction.atomic():
        for _ in range(times):
            product = Product.objects.get(pk=product_id)
            product.stock += 1
            services.save_product(product)


async def test_a_change_is_read_once_for_every_feed(queries):
    product = await sync_to_async(ProductFactory.create)()
    live = LiveProducts()
    async with AsyncExitStack() as stack:
        feeds = [await stack.enter_async_context(live.feed(ProductCriteria())) for _ in range(200)]
        queries.clear()
        await save(product.pk)
        received = [await anext(feed.changes(10)) for feed in feeds]

    reads = [sql for sql in queries if "IN (" in sql and sql.lstrip().startswith("SELECT")]
    assert len(reads) == 1, reads
    # One list for all: api.graphql.execution completes it once per selection.
    assert all(changes.products is received[0].products for changes in received)
    assert received[0].products[0].version == 2


async def test_a_feed_resumed_from_behind_gets_what_changed_since():
    """The feed comes as the process starts reading the log: that first read
    is made for where the process stands, not for the feed."""
    product = await sync_to_async(ProductFactory.create)()
    since = await sync_to_async(current_frontier)()
    await save(product.pk)
    async with LiveProducts().feed(ProductCriteria(), since) as feed:
        async with asyncio.timeout(5):
            resumed = await anext(feed.changes(10))

    assert [(p.pk, p.version) for p in resumed.products] == [(product.pk, 2)]


async def test_a_burst_of_changes_is_coalesced_into_batches_of_the_limit():
    products = await sync_to_async(ProductFactory.create_batch)(7)
    live = LiveProducts()
    async with live.feed(ProductCriteria()) as feed:
        for product in products:
            await save(product.pk, times=3)
        await asyncio.sleep(0.2)  # every event has arrived
        changes = feed.changes(3)
        batches = [await anext(changes) for _ in range(3)]

    assert [len(batch.products) for batch in batches] == [3, 3, 1]
    assert [p.pk for batch in batches for p in batch.products] == [p.pk for p in products]
    assert {p.version for batch in batches for p in batch.products} == {4}


async def test_changes_outside_the_filter_are_removals():
    cheap = await sync_to_async(ProductFactory.create)(price=Decimal("5.00"))
    dear = await sync_to_async(ProductFactory.create)(price=Decimal("500.00"))
    live = LiveProducts()
    async with live.feed(ProductCriteria(price=DecimalRange(lte=Decimal("10")))) as feed:
        await save(cheap.pk)
        await save(dear.pk)
        await asyncio.sleep(0.2)
        changes = await anext(feed.changes(10))

    assert [p.pk for p in changes.products] == [cheap.pk]
    assert changes.removed_ids == [dear.pk]


async def test_a_view_that_only_deletion_shrinks_hears_nothing_of_other_products():
    mine, other, gone = await sync_to_async(ProductFactory.create_batch)(3)
    live = LiveProducts()
    async with live.feed(ProductCriteria(ids=frozenset({mine.pk}))) as feed:
        await save(other.pk)
        await sync_to_async(services.delete_product)(gone)
        await save(mine.pk)
        await asyncio.sleep(0.2)
        changes = await anext(feed.changes(10))

    assert [p.pk for p in changes.products] == [mine.pk]
    assert changes.removed_ids == []


def test_who_could_have_held_a_product_that_does_not_match_now():
    assert not ProductCriteria().could_have_held(1, deleted=False)
    assert ProductCriteria().could_have_held(1, deleted=True)
    assert not ProductCriteria(ids=frozenset({2})).could_have_held(1, deleted=True)
    assert ProductCriteria(ids=frozenset({1})).could_have_held(1, deleted=True)
    assert ProductCriteria(on_sale=True).could_have_held(1, deleted=False)
    assert not ProductCriteria(ids=frozenset({2}), on_sale=True).could_have_held(1, deleted=False)


async def test_subscribers_far_apart_in_a_burst_still_share_its_batches():
    live = LiveProducts()
    async with live.feed(ProductCriteria()) as ahead, live.feed(ProductCriteria()) as behind:
        await sync_to_async(ProductFactory.create_batch)(300)
        await asyncio.sleep(0.2)
        first = [changes.products async for changes in batches_of_one(ahead, 300)]
        then = [changes.products async for changes in batches_of_one(behind, 300)]

    assert [len(products) for products in first] == [1] * 300
    assert all(a is b for a, b in zip(first, then, strict=True))


async def batches_of_one(feed, count):
    changes = feed.changes(1)
    for _ in range(count):
        yield await anext(changes)


async def test_a_quiet_live_stream_holds_no_rows():
    """graphql-core keeps a subscription's last event while it waits for the
    next; the stream lets go of the rows in it once they are sent."""
    ids = {product.pk for product in await sync_to_async(ProductFactory.create_batch)(20)}
    results = await schema.subscribe(
        "subscription { productStream(batchSize: 50, live: true) { products { id } } }"
    )
    assert not isinstance(results, ExecutionResult)
    snapshot = await anext(results)
    assert len(snapshot.data["productStream"]["products"]) == 20  # type: ignore[index]
    waiting = asyncio.ensure_future(anext(results))
    await asyncio.sleep(0.2)  # the stream now waits for a change
    gc.collect()
    try:
        assert not [o for o in gc.get_objects() if type(o) is Product and o.pk in ids]
    finally:
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting


def overrun_feed(overruns: list[str]) -> Feed:
    """A feed of every product that notes when it is overrun."""
    return Feed(ProductCriteria(), Frontier(0), SharedList, lambda: overruns.append("overrun"))


def changed(feed: Feed, ids: list[int], rows: dict[int, Product] | None = None) -> None:
    """Offers ``feed`` a read of the log in which ``ids`` changed, one after
    another, and ``rows`` as the products are now (missing: deleted)."""
    start = feed.frontier.position
    log = [Change(start + n, 0, id) for n, id in enumerate(ids, 1)]
    feed.offer(Offer(LogRead(log, Frontier(start + len(ids))), rows or {}))


async def test_a_feed_with_too_many_changes_waiting_is_overrun(settings):
    settings.LIVE_MAX_PENDING = 100
    overruns: list[str] = []
    feed = overrun_feed(overruns)
    changed(feed, list(range(1, 101)))  # deleted products: removals
    assert (feed.waiting, overruns) == (100, [])
    changed(feed, [101])
    assert (feed.waiting, overruns) == (0, ["overrun"])
    changed(feed, [102])  # takes no more, and tells once
    assert (feed.waiting, overruns) == (0, ["overrun"])
    with pytest.raises(LiveUpdatesLost, match="Fell too far behind"):
        await anext(feed.changes(10))


async def test_a_feed_whose_subscriber_is_stuck_sending_is_overrun(settings):
    settings.LIVE_STALL_TIMEOUT = 0.2
    overruns: list[str] = []
    feed = overrun_feed(overruns)
    changes = feed.changes(10)
    changed(feed, [1])
    await anext(changes)  # the subscriber takes a batch and is away sending it
    changed(feed, [2])
    assert (feed.waiting, overruns) == (1, [])
    await asyncio.sleep(0.3)
    changed(feed, [3])
    assert (feed.waiting, overruns) == (0, ["overrun"])
    with pytest.raises(LiveUpdatesLost):
        await anext(changes)


async def test_a_subscriber_that_waits_or_sends_its_snapshot_is_not_stuck(settings):
    settings.LIVE_STALL_TIMEOUT = 0.1
    overruns: list[str] = []
    feed = overrun_feed(overruns)
    await asyncio.sleep(0.2)  # the snapshot is being sent: the feed is not read yet
    changed(feed, [1])
    changes = feed.changes(10)
    assert (await anext(changes)).removed_ids == [1]
    waiting = asyncio.ensure_future(anext(changes))  # back for more, and waits
    await asyncio.sleep(0.2)
    changed(feed, [2])
    assert (await waiting).removed_ids == [2]
    assert overruns == []


async def test_a_batch_tells_where_the_subscriber_stands_in_the_log():
    feed = Feed(ProductCriteria(), Frontier(10), SharedList)
    changes = feed.changes(2)
    changed(feed, [1, 2, 3])  # positions 11, 12, 13
    changed(feed, [4, 1])  # 14, 15: 1 changed again, and waits where it was
    first = await anext(changes)
    assert first.removed_ids == [1, 2]
    # 3 is still to be told: its change came after the read that ended at 10.
    assert first.frontier == Frontier(10)
    second = await anext(changes)
    assert second.removed_ids == [3, 4]
    assert second.frontier == Frontier(15)


def test_a_feed_takes_only_what_is_news_to_it():
    feed = Feed(ProductCriteria(), Frontier(12, in_flight=(99,)), SharedList)
    read = LogRead(
        [Change(11, 1, 1), Change(12, 2, 2), Change(8, 99, 3), Change(13, 3, 4)],
        Frontier(13, in_flight=(100,)),
    )
    feed.offer(Offer(read, {}))
    assert list(feed._pending) == [3, 4]
    assert feed.frontier == Frontier(13, in_flight=(100,))


async def test_a_read_that_fails_is_tried_again_and_the_feed_misses_nothing(monkeypatch, caplog):
    product = await sync_to_async(ProductFactory.create)()
    read_products = live_module.read_products
    failures = [RuntimeError("a bug"), DatabaseError("the database went away")]

    async def failing_at_first(ids):
        if failures:
            raise failures.pop(0)
        return await read_products(ids)

    monkeypatch.setattr(api.retrying, "RETRY_FIRST", 0.01)
    monkeypatch.setattr(live_module, "read_products", failing_at_first)
    async with LiveProducts().feed(ProductCriteria()) as feed:
        await save(product.pk)
        changes = await asyncio.wait_for(anext(feed.changes(10)), 5)

    assert [(p.pk, p.version) for p in changes.products] == [(product.pk, 2)]
    assert failures == []
    assert "reading the change log failed" in caplog.text
