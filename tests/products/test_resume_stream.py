"""Resuming ``productStream`` by ``resumeToken``, over real websockets to a
real uvicorn: the rest of a snapshot, then what changed while the client was
away (and little more), then live changes; and the tokens refused, each with
its error code."""

from collections.abc import AsyncIterator, Callable
from contextlib import aclosing, asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections
from strawberry.relay import to_base64

from products import retention, services
from products.factories import CategoryFactory, ProductFactory
from products.models import Category, Product
from tests.conftest import catalog_with_ties
from tests.graphql_ws import PROTOCOLS, graphql_websocket
from tests.products.live_view import (
    BATCH,
    LIVE_STREAM,
    RESUMED_STREAM,
    LiveView,
    live_view,
    resumed_view,
)

pytestmark = pytest.mark.django_db(transaction=True)

SNAPSHOT = (
    """
subscription Snapshot($filter: ProductFilter, $orderBy: ProductOrder, $batchSize: Int) {
  productStream(filter: $filter, orderBy: $orderBy, batchSize: $batchSize) { ...Batch }
}
"""
    + BATCH
)
# `after` and `live` may not be given with `resume`, whatever their value.
RESUMED_AFTER = (
    """
subscription($resume: String!, $after: String) {
  productStream(resume: $resume, after: $after) { ...Batch }
}
"""
    + BATCH
)
RESUMED_LIVE = (
    """
subscription($resume: String!) { productStream(resume: $resume, live: true) { ...Batch } }
"""
    + BATCH
)


@pytest.fixture(autouse=True)
async def close_writer_connections():
    """The writes run on asgiref's shared thread; its connection must not
    outlive the test database."""
    yield
    await sync_to_async(connections.close_all)()


def gid(model: type[Product | Category], pk: int) -> str:
    return to_base64(model.__name__, pk)


def rows(batches: list[dict[str, Any]]) -> list[str]:
    return [product["id"] for batch in batches for product in batch["products"]]


def held(view: LiveView) -> dict[str, tuple[int, str]]:
    return {id: (p["version"], p["discountedPrice"]) for id, p in view.products.items()}


@sync_to_async
def in_database(**lookups: Any) -> dict[str, tuple[int, str]]:
    """What a client of the products matching ``lookups`` should hold."""
    products = Product.objects.filter(**lookups)
    return {gid(Product, p.pk): (p.version, str(p.discounted_price)) for p in products}


def showing(product: Product, version: int) -> Callable[[LiveView], bool]:
    """Whether a view holds ``product`` at ``version``."""
    id = gid(Product, product.pk)
    return lambda view: id in view.products and view.products[id]["version"] == version


async def converged(view: LiveView, **lookups: Any) -> None:
    """Waits until ``view`` holds what the database holds."""
    expected = await in_database(**lookups)
    await view.until(lambda v: held(v) == expected)


async def first_batches(
    base_url: str, protocol: str, query: str, variables: dict[str, Any], count: int
) -> list[dict[str, Any]]:
    """The first ``count`` batches of a subscription; then the client disconnects."""
    async with graphql_websocket(base_url, protocol) as socket:
        operation_id = await socket.subscribe(query, variables)
        async with aclosing(socket.results(operation_id)) as results:
            batches = []
            for _ in range(count):
                payload = await anext(results)
                assert "errors" not in payload, payload["errors"]
                batches.append(payload["data"]["productStream"])
    return batches


async def refusal(base_url: str, protocol: str, query: str, **variables: Any) -> dict[str, Any]:
    """The one error a subscription is answered with."""
    async with graphql_websocket(base_url, protocol) as socket:
        payloads = await socket.collect(query, variables)
    assert len(payloads) == 1, payloads
    assert not payloads[0].get("data"), payloads
    (error,) = payloads[0]["errors"]
    return error


@asynccontextmanager
async def tailer_caught_up(base_url: str) -> AsyncIterator[None]:
    """Holds the server's reader of the change log past every change
    committed so far, so that a live stream starting inside stands after them
    all: it runs while a subscriber of a category of its own is open, and has
    told it of a product made in it now."""
    category = await sync_to_async(CategoryFactory.create)()
    marker = {"categories": [gid(Category, category.pk)]}
    async with live_view(base_url, "graphql-transport-ws", filter=marker) as view:
        product = await sync_to_async(ProductFactory.create)(category=category)
        await view.until(lambda v: gid(Product, product.pk) in v.products)
        yield


@sync_to_async
def update(product_id: int, **changes: Any) -> None:
    services.update_product(product_id, changes)  # type: ignore[arg-type]


@sync_to_async
def execute(sql: str, *params: Any) -> None:
    """SQL as another program writes it, past the services."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@sync_to_async
def versions() -> dict[int, int]:
    return dict(Product.objects.values_list("pk", "version"))


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_snapshot_resumed_mid_way_sends_the_rest_once(uvicorn_server, protocol):
    catalog = await sync_to_async(catalog_with_ties)(23)
    order = {"field": "PRICE", "direction": "DESC"}
    expected = [gid(Product, p.pk) for p in sorted(catalog, key=lambda p: (p.price, p.pk))][::-1]

    before = await first_batches(
        uvicorn_server, protocol, SNAPSHOT, {"orderBy": order, "batchSize": 4}, count=3
    )
    resume = {"orderBy": order, "batchSize": 5, "resume": before[-1]["resumeToken"]}
    async with graphql_websocket(uvicorn_server, protocol) as socket:
        payloads = await socket.collect(RESUMED_STREAM, resume)
    after = [payload["data"]["productStream"] for payload in payloads]

    assert rows(before) == expected[:12]
    assert rows(after) == expected[12:]
    assert [len(batch["products"]) for batch in after] == [5, 5, 1]
    assert [batch["snapshotComplete"] for batch in after] == [False, False, True]
    assert {batch["phase"] for batch in after} == {"SNAPSHOT"}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_live_stream_resumed_mid_snapshot_ends_equal_to_the_database(
    uvicorn_server, protocol
):
    shelf, elsewhere = await sync_to_async(CategoryFactory.create_batch)(2)
    make = sync_to_async(ProductFactory.create)
    catalog = [await make(category=shelf, price=Decimal(10 + i)) for i in range(18)]
    outside = await make(category=elsewhere, price=Decimal("20.00"))
    filter = {"categories": [gid(Category, shelf.pk)], "price": {"lte": "100.00"}}
    matching = {"category": shelf, "price__lte": Decimal("100.00")}

    view = LiveView()
    async with tailer_caught_up(uvicorn_server):
        variables = {"filter": filter, "batchSize": 4}
        for batch in await first_batches(uvicorn_server, protocol, LIVE_STREAM, variables, 2):
            view.apply(batch)
    sent, unsent = catalog[:8], catalog[8:]
    assert rows(view.batches) == [gid(Product, p.pk) for p in sent]

    # While the client is away: changes to rows it has and to rows it has
    # not been sent yet, deletions, a product leaving the filter, one entering.
    await update(sent[0].pk, price=Decimal("30.00"))
    await update(unsent[0].pk, stock=unsent[0].stock + 1)
    await sync_to_async(services.delete_product_by_id)(sent[1].pk)
    await sync_to_async(services.delete_product_by_id)(unsent[1].pk)
    await update(sent[2].pk, price=Decimal("150.00"))
    await update(outside.pk, category_id=shelf.pk)
    created = await make(category=shelf, price=Decimal("40.00"))
    changed = {gid(Product, p.pk) for p in [*sent[:3], *unsent[:2], outside, created]}

    resumed_from = len(view.batches)
    async with resumed_view(uvicorn_server, protocol, view, filter=filter, batchSize=3):
        await converged(view, **matching)
        # Changes are sent in the log's order: once this one is in, every
        # change from before it has been.
        await update(sent[3].pk, stock=sent[3].stock + 1)
        await view.until(showing(sent[3], 2))
        await converged(view, **matching)

    again = rows(view.batches[resumed_from:])
    sent_again = {gid(Product, p.pk) for p in sent} & set(again)
    assert sent_again - changed == {gid(Product, sent[3].pk)}
    assert len(again) <= len(unsent) + len(changed) + 1  # and the last change


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_live_stream_resumed_in_live_is_sent_what_changed_meanwhile(
    uvicorn_server, protocol
):
    inheriting, own = await sync_to_async(CategoryFactory.create_batch)(2, discount_percent=None)
    make = sync_to_async(ProductFactory.create)
    catalog = [await make(category=inheriting) for _ in range(6)]
    catalog += [await make(category=own, discount_percent=Decimal("5")) for _ in range(6)]
    first, *others = catalog

    async with live_view(uvicorn_server, protocol, batchSize=3) as view:
        await update(first.pk, stock=first.stock + 1)
        await view.until(showing(first, 2))
    assert view.batches[-1]["phase"] == "LIVE"
    told = await versions()

    await update(others[6].pk, price=Decimal("77.00"))
    await execute("UPDATE products_product SET stock = stock + 3 WHERE id = %s", others[7].pk)
    await sync_to_async(services.delete_product_by_id)(others[8].pk)
    await sync_to_async(services.set_category_discount)(inheriting.pk, Decimal("20"))
    await make(category=own)
    now = await versions()
    changed = {gid(Product, pk) for pk in told.keys() | now.keys() if told.get(pk) != now.get(pk)}
    assert len(changed) == 10  # 4 + the 6 repriced by their category

    resumed_from = len(view.batches)
    async with resumed_view(uvicorn_server, protocol, view, batchSize=2):
        await converged(view)
        # Changes are sent in the log's order: once this one is in, every
        # change from before it has been.
        await update(others[9].pk, stock=others[9].stock + 1)
        await view.until(showing(others[9], 2))
        await converged(view)
    meanwhile = view.batches[resumed_from:]
    assert {batch["phase"] for batch in meanwhile} == {"LIVE"}
    sent = rows(meanwhile)
    assert sent[-1] == gid(Product, others[9].pk)
    assert len(sent[:-1]) <= len(changed) + 2  # a frontier may overlap its last change
    assert len(set(sent[:-1]) - changed) <= 2

    # Resumed where nothing changed, a stream sends nothing until something does.
    resumed_from = len(view.batches)
    async with resumed_view(uvicorn_server, protocol, view):
        await update(others[10].pk, stock=others[10].stock + 1)
        await view.until(lambda v: len(v.batches) > resumed_from)
    assert [rows([batch]) for batch in view.batches[resumed_from:]] == [
        [gid(Product, others[10].pk)]
    ]


async def test_streams_sent_the_same_live_batch_each_resume_from_their_own_token(
    uvicorn_server,
):
    """Their LIVE batches share the completion of their products, and not
    the token, which names each stream's filter and place."""
    shelf = await sync_to_async(CategoryFactory.create)()
    product = await sync_to_async(ProductFactory.create)(category=shelf)
    filters = [{}, {"categories": [gid(Category, shelf.pk)]}]
    async with (
        live_view(uvicorn_server, "graphql-transport-ws", filter=filters[0]) as everything,
        live_view(uvicorn_server, "graphql-transport-ws", filter=filters[1]) as on_the_shelf,
    ):
        await update(product.pk, stock=product.stock + 1)
        for view in (everything, on_the_shelf):
            await view.until(showing(product, 2))
    assert everything.resume_token != on_the_shelf.resume_token

    views = zip((everything, on_the_shelf), filters, strict=True)
    for version, (view, filter) in enumerate(views, start=3):
        async with resumed_view(uvicorn_server, "graphql-transport-ws", view, filter=filter):
            await update(product.pk, stock=product.stock + version)
            await view.until(showing(product, version))


def flipped(token: str) -> str:
    """``token`` with one character of its signed value changed."""
    at = len(token) // 3
    return token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1 :]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_tokens_that_cannot_be_resumed_are_refused_with_their_code(uvicorn_server, protocol):
    await sync_to_async(ProductFactory.create_batch)(5, stock=3)
    (batch,) = await first_batches(uvicorn_server, protocol, SNAPSHOT, {"batchSize": 2}, 1)
    token = batch["resumeToken"]
    cases: list[tuple[str, dict[str, Any], str]] = [
        (RESUMED_STREAM, {"resume": "not a token"}, "INVALID_CURSOR"),
        (RESUMED_STREAM, {"resume": ""}, "INVALID_CURSOR"),
        (RESUMED_STREAM, {"resume": flipped(token)}, "INVALID_CURSOR"),
        (RESUMED_STREAM, {"resume": token, "filter": {"inStock": True}}, "INVALID_CURSOR"),
        (RESUMED_STREAM, {"resume": token, "orderBy": {"field": "NAME"}}, "INVALID_CURSOR"),
        (RESUMED_AFTER, {"resume": token, "after": batch["cursor"]}, "BAD_USER_INPUT"),
        (RESUMED_LIVE, {"resume": token}, "BAD_USER_INPUT"),
    ]
    for query, variables, code in cases:
        error = await refusal(uvicorn_server, protocol, query, **variables)
        assert error["extensions"]["code"] == code, (variables, error)
        assert error["message"], error


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_token_from_before_the_pruned_log_has_expired(uvicorn_server, protocol):
    product = await sync_to_async(ProductFactory.create)()
    async with live_view(uvicorn_server, protocol) as view:
        pass
    await update(product.pk, stock=product.stock + 1)
    assert await sync_to_async(retention.prune)(0) > 0

    error = await refusal(uvicorn_server, protocol, RESUMED_STREAM, resume=view.resume_token)
    assert error["extensions"]["code"] == "RESUME_EXPIRED", error
    assert "subscribe afresh" in error["message"]
