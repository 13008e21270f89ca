"""The LIVE phase of ``productStream`` over a real websocket to a real uvicorn,
which finds this process's writes, and those of other server processes, in
the database's change log."""

import asyncio
import contextlib
import random
from decimal import Decimal
from functools import partial
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.db import connections, transaction
from strawberry.relay import to_base64

from accounts.factories import UserFactory
from accounts.services import create_api_token
from products import services
from products.factories import CategoryFactory, ProductFactory
from products.models import Category, Product
from tests.conftest import QUIET, running_uvicorn
from tests.graphql_ws import PROTOCOLS, graphql_websocket
from tests.products.live_view import LIVE_STREAM, LiveView, live_view
from tests.server_probe import connections_by_worker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def close_writer_connections():
    """The writes run on asgiref's shared thread; its connection must not
    outlive the test database."""
    yield
    await sync_to_async(connections.close_all)()


def gid(product: Product) -> str:
    return to_base64("Product", product.pk)


@sync_to_async
def update(product_id: int, **changes: Any) -> Product:
    product = Product.objects.get(pk=product_id)
    for name, value in changes.items():
        setattr(product, name, value)
    return services.save_product(product)


@sync_to_async
def set_category_discount(category: Category, percent: Decimal | None) -> None:
    category.discount_percent = percent
    services.save_category(category)


def shown(view: LiveView, product: Product) -> dict[str, Any] | None:
    return view.products.get(gid(product))


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_update_is_pushed_with_its_new_price_and_version(uvicorn_server, protocol):
    product = await sync_to_async(ProductFactory.create)(
        price=Decimal("10.00"), discount_percent=None
    )
    async with live_view(uvicorn_server, protocol) as view:
        await update(product.pk, price=Decimal("20.00"), discount_percent=Decimal("25"))
        await view.until(lambda v: shown(v, product)["version"] == 2)  # type: ignore[index]

    (batch,) = view.live_batches
    assert batch["sequence"] == view.batches[-2]["sequence"] + 1
    assert batch["cursor"] is None
    assert batch["snapshotComplete"] is True
    assert batch["removedIds"] == []
    assert batch["products"] == [
        {
            "id": gid(product),
            "sku": product.sku,
            "price": "20.00",
            "discountPercent": "25.00",
            "discountedPrice": "15.00",
            "stock": product.stock,
            "version": 2,
            "category": {"id": to_base64("Category", product.category_id)},
        }
    ]


async def test_created_and_deleted_products_are_pushed(uvicorn_server):
    deleted = await sync_to_async(ProductFactory.create)()
    deleted_id = gid(deleted)
    async with live_view(uvicorn_server, "graphql-transport-ws") as view:
        assert deleted_id in view.products
        created = await sync_to_async(services.save_product)(
            ProductFactory.build(category=deleted.category)
        )
        await view.until(lambda v: shown(v, created) is not None)
        await sync_to_async(services.delete_product)(deleted)
        await view.until(lambda v: deleted_id not in v.products)

    assert [batch["removedIds"] for batch in view.live_batches] == [[], [deleted_id]]


async def test_products_leaving_and_entering_the_filter(uvicorn_server):
    on_sale = await sync_to_async(ProductFactory.create)(discount_percent=Decimal("10"))
    async with live_view(uvicorn_server, "graphql-ws", filter={"onSale": True}) as view:
        assert shown(view, on_sale) is not None
        await update(on_sale.pk, discount_percent=Decimal("0"))
        await view.until(lambda v: shown(v, on_sale) is None)
        await update(on_sale.pk, discount_percent=Decimal("5"))
        await view.until(lambda v: shown(v, on_sale) is not None)

    left, entered = view.live_batches
    assert left["removedIds"] == [gid(on_sale)]
    assert left["products"] == []
    assert entered["products"][0]["version"] == 3


async def test_a_category_discount_reaches_every_inheriting_product_in_batches(uvicorn_server):
    category = await sync_to_async(CategoryFactory.create)(discount_percent=None)
    inheriting = await sync_to_async(ProductFactory.create_batch)(
        250, category=category, discount_percent=None, price=Decimal("10.00")
    )
    own = await sync_to_async(ProductFactory.create)(
        category=category, discount_percent=Decimal("5")
    )
    async with live_view(uvicorn_server, "graphql-transport-ws", batchSize=100) as view:
        await set_category_discount(category, Decimal("20"))
        await view.until(lambda v: all(shown(v, p)["version"] == 2 for p in inheriting))  # type: ignore[index]

    assert all(len(batch["products"]) <= 100 for batch in view.live_batches)
    pushed = [product for batch in view.live_batches for product in batch["products"]]
    assert {product["id"] for product in pushed} == {gid(p) for p in inheriting}
    assert {product["discountedPrice"] for product in pushed} == {"8.00"}
    assert shown(view, own)["version"] == 1  # type: ignore[index]


async def test_a_rolled_back_write_sends_nothing(uvicorn_server):
    product = await sync_to_async(ProductFactory.create)(price=Decimal("10.00"))

    class RolledBack(Exception):
        pass

    @sync_to_async
    def update_then_roll_back() -> None:
        with contextlib.suppress(RolledBack), transaction.atomic():
            services.save_product(Product.objects.get(pk=product.pk))
            raise RolledBack

    async with live_view(uvicorn_server, "graphql-transport-ws") as view:
        await update_then_roll_back()
        await update(product.pk, price=Decimal("11.00"))
        await view.until(lambda v: bool(v.live_batches))

    (batch,) = view.live_batches
    assert [(p["price"], p["version"]) for p in batch["products"]] == [("11.00", 2)]


async def test_a_change_made_while_the_snapshot_is_read_is_not_missed(uvicorn_server):
    """The first product is changed after it was sent and before the snapshot
    ends: only the LIVE phase can tell the client."""
    products = await sync_to_async(ProductFactory.create_batch)(30)
    first = min(products, key=lambda p: (p.created_at, p.pk))
    async with graphql_websocket(uvicorn_server, "graphql-transport-ws") as socket:
        operation_id = await socket.subscribe(LIVE_STREAM, {"batchSize": 1})
        view = LiveView()
        results = socket.results(operation_id)
        view.apply((await anext(results))["data"]["productStream"])
        assert shown(view, first)["version"] == 1  # type: ignore[index]
        await update(first.pk, stock=999)
        while not view.live_batches:
            view.apply((await anext(results))["data"]["productStream"])

    assert [p["id"] for p in view.live_batches[0]["products"]] == [gid(first)]
    assert shown(view, first)["stock"] == 999  # type: ignore[index]


async def test_every_client_converges_to_the_database(uvicorn_server):
    """Hundreds of random writes while three live streams with different
    filters run; each client's products end equal to the database's."""
    rng = random.Random(7)
    categories = await sync_to_async(CategoryFactory.create_batch)(3, discount_percent=None)
    products = [
        await sync_to_async(ProductFactory.create)(
            category=rng.choice(categories), discount_percent=None
        )
        for _ in range(40)
    ]
    filters = [None, {"onSale": True}, {"discountedPrice": {"lte": "50.00"}, "inStock": True}]

    @sync_to_async
    def write(step: int) -> None:
        roll = rng.random()
        if roll < 0.05:
            products.append(services.save_product(ProductFactory.build(category=categories[0])))
        elif roll < 0.08 and len(products) > 20:
            services.delete_product(products.pop(rng.randrange(len(products))))
        elif roll < 0.12:
            set_discount = rng.choice([None, Decimal("10"), Decimal("50")])
            category = Category.objects.get(pk=rng.choice(categories).pk)
            category.discount_percent = set_discount
            services.save_category(category)
        else:
            product = Product.objects.get(pk=rng.choice(products).pk)
            product.price = Decimal(rng.randrange(100, 10000)) / 100
            product.stock = rng.randrange(3)
            product.discount_percent = rng.choice([None, None, Decimal("0"), Decimal("30")])
            services.save_product(product)

    @sync_to_async
    def database(filter: dict[str, Any] | None) -> dict[str, tuple[int, str]]:
        rows = Product.objects.all()
        if filter and "onSale" in filter:
            rows = rows.filter(effective_discount_percent__gt=0)
        if filter and "inStock" in filter:
            rows = rows.filter(discounted_price__lte=Decimal("50.00"), stock__gt=0)
        return {gid(p): (p.version, str(p.discounted_price)) for p in rows}

    def converged(view: LiveView, expected: dict[str, tuple[int, str]]) -> bool:
        held = {id: (p["version"], p["discountedPrice"]) for id, p in view.products.items()}
        return held == expected

    async with (
        live_view(uvicorn_server, "graphql-transport-ws", batchSize=7) as everything,
        live_view(uvicorn_server, "graphql-ws", filter=filters[1]) as on_sale,
        live_view(uvicorn_server, "graphql-transport-ws", filter=filters[2], batchSize=3) as cheap,
    ):
        for step in range(300):
            await write(step)
            if step % 50 == 0:
                await asyncio.sleep(0.05)  # let batches go out while writes go on
        for view, filter in zip((everything, on_sale, cheap), filters, strict=True):
            expected = await database(filter)
            await view.until(partial(converged, expected=expected), within=20)


UPDATE_PRICE = """
mutation($id: ID!, $price: Decimal!) {
  updateProduct(id: $id, input: {price: $price}) { product { version } errors { code } }
}
"""


@sync_to_async
def staff_token() -> str:
    return create_api_token(UserFactory.create(staff=True)).token


async def set_price_through(base_url: str, token: str, product: Product, price: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.post(
            "/graphql/",
            json={"query": UPDATE_PRICE, "variables": {"id": gid(product), "price": price}},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.json()["data"]["updateProduct"]["errors"] == [], response.json()


async def test_a_write_through_one_process_reaches_a_subscriber_on_another(test_database_url):
    """Two servers on one database and nothing else between them: each finds
    what the other committed in the log."""
    product, token = await sync_to_async(ProductFactory.create)(), await staff_token()
    with (
        running_uvicorn(test_database_url) as one,
        running_uvicorn(test_database_url) as other,
    ):
        async with (
            live_view(one, "graphql-transport-ws") as here,
            live_view(other, "graphql-ws") as there,
        ):
            await set_price_through(one, token, product, "42.00")
            for view in (here, there):
                await view.until(lambda v: shown(v, product)["price"] == "42.00")  # type: ignore[index]
            await set_price_through(other, token, product, "43.00")
            for view in (here, there):
                await view.until(lambda v: shown(v, product)["price"] == "43.00")  # type: ignore[index]
    for view in (here, there):
        assert shown(view, product)["version"] == 3  # type: ignore[index]


SUBSCRIBERS, MOST_SUBSCRIBERS = 8, 32


async def test_every_worker_of_one_server_tells_its_subscribers_every_change(test_database_url):
    """``uvicorn --workers 2``: the subscribers are spread over both workers,
    the mutations too (each on a connection of its own), and each subscriber
    is told every change, whichever worker committed it."""
    products = await sync_to_async(ProductFactory.create_batch)(6, price=Decimal("10.00"))
    token = await staff_token()
    with running_uvicorn(test_database_url, options=[*QUIET, "--workers", "2"]) as server:
        async with contextlib.AsyncExitStack() as stack:
            views: list[LiveView] = []
            # Which worker takes a connection is the kernel's choice: open
            # them until both have some.
            while len(views) < SUBSCRIBERS or 0 in connections_by_worker(server).values():
                assert len(views) < MOST_SUBSCRIBERS, connections_by_worker(server)
                protocol = PROTOCOLS[len(views) % 2]
                views.append(await stack.enter_async_context(live_view(server, protocol)))
            assert len(connections_by_worker(server)) == 2

            prices = {gid(product): f"{20 + n}.00" for n, product in enumerate(products)}
            for product in products:
                await set_price_through(server, token, product, prices[gid(product)])

            def told_every_change(view: LiveView) -> bool:
                return all(
                    (view.products[id]["price"], view.products[id]["version"]) == (price, 2)
                    for id, price in prices.items()
                )

            for view in views:
                await view.until(told_every_change)
