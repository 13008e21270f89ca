"""A property of live ``productStream`` clients that disconnect and resume
by ``resumeToken``, against a real uvicorn: whatever the writes, through the
services or as another program's SQL, and whenever the clients come and go,
each ends holding exactly the database's products for its filter."""

from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st
from strawberry.relay import to_base64

from products import services
from products.factories import CategoryFactory, ProductFactory
from products.models import Category, Product
from tests.graphql_ws import PROTOCOLS
from tests.products.live_view import LIVE_STREAM, LiveView, following, resumed_view
from tests.properties import examples

pytestmark = pytest.mark.django_db(transaction=True)

# Around the price range's bounds (20 to 80), and discounts that put a
# product on sale or take it off.
PRICES = [Decimal(price) for price in ("9.00", "20.00", "50.00", "80.00", "120.00")]
PERCENTS = [None, Decimal("0"), Decimal("15"), Decimal("50")]
STOCKS = [0, 1, 5]
FEWEST = 4  # products left, below which nothing is deleted

products = st.integers(0, 10**6)  # an index into the products there are then
categories = st.integers(0, 1)
CLIENTS = st.sets(st.integers(0, 3), min_size=1)
STEPS = st.one_of(
    st.tuples(st.just("update"), products, st.just("price"), st.sampled_from(PRICES)),
    st.tuples(st.just("update"), products, st.just("stock"), st.sampled_from(STOCKS)),
    st.tuples(st.just("update"), products, st.just("discount_percent"), st.sampled_from(PERCENTS)),
    st.tuples(st.just("update"), products, st.just("category"), st.sampled_from([0, 1, None])),
    st.tuples(st.just("create"), categories, st.sampled_from(PRICES), st.sampled_from(PERCENTS)),
    st.tuples(st.just("delete"), products),
    st.tuples(st.just("category discount"), categories, st.sampled_from(PERCENTS)),
    st.tuples(
        st.just("SQL update"),
        products,
        st.sampled_from(["price", "stock", "discount_percent"]),
        st.sampled_from([0, 1, 2]),
    ),
    st.tuples(st.just("SQL insert"), categories, st.sampled_from(PRICES)),
    st.tuples(st.just("SQL delete"), products),
    st.tuples(st.just("SQL category discount"), categories, st.sampled_from(PERCENTS)),
    # Some clients at once, all of them at times: the server then has no
    # stream left, and its first resumed one starts its reading of the log.
    st.tuples(st.just("disconnect"), CLIENTS),
    st.tuples(st.just("resume"), CLIENTS),
)
# The values an SQL UPDATE sets, by column and by the index drawn.
SQL_VALUES: dict[str, list[Any]] = {
    "price": PRICES[1:4],
    "stock": STOCKS,
    "discount_percent": PERCENTS[1:],
}


@pytest.fixture
def shop(transactional_db: None) -> list[Category]:
    """Two categories, one with a discount of its own, and a dozen products."""
    shelves = [CategoryFactory.create(discount_percent=d) for d in (None, Decimal("20"))]
    for index in range(12):
        ProductFactory(
            category=shelves[index % 2],
            price=PRICES[index % len(PRICES)],
            discount_percent=PERCENTS[index % len(PERCENTS)],
            stock=STOCKS[index % len(STOCKS)],
        )
    return shelves


@dataclass
class Client:
    """A storefront with a live stream of one filter, which comes and goes."""

    base_url: str
    protocol: str
    filter: dict[str, Any]
    lookups: dict[str, Any]  # the filter, as the ORM says it
    batch_size: int
    view: LiveView = field(default_factory=LiveView)
    connection: AsyncExitStack | None = None

    @property
    def variables(self) -> dict[str, Any]:
        return {"filter": self.filter, "batchSize": self.batch_size}

    async def connect(self) -> None:
        self.connection = AsyncExitStack()
        stream = following(self.base_url, self.protocol, self.view, LIVE_STREAM, self.variables)
        await self.connection.enter_async_context(stream)

    async def disconnect(self) -> None:
        if self.connection:
            await self.view.until(lambda v: bool(v.batches))  # a token to resume with
            await self.connection.aclose()
            self.connection = None

    async def resume(self) -> None:
        if not self.connection:
            self.connection = AsyncExitStack()
            stream = resumed_view(self.base_url, self.protocol, self.view, **self.variables)
            await self.connection.enter_async_context(stream)

    async def converged(self) -> None:
        expected = await in_database(self.lookups)
        await self.view.until(lambda v: held(v) == expected, within=15)


def held(view: LiveView) -> dict[str, tuple[int, str]]:
    return {id: (p["version"], p["discountedPrice"]) for id, p in view.products.items()}


@sync_to_async
def in_database(lookups: dict[str, Any]) -> dict[str, tuple[int, str]]:
    return {
        to_base64("Product", p.pk): (p.version, str(p.discounted_price))
        for p in Product.objects.filter(**lookups)
    }


# The steps that name a product, by its index among those there are then.
ON_A_PRODUCT = ("update", "delete", "SQL update", "SQL delete")


@sync_to_async
def write(step: tuple[Any, ...], shelves: list[Category]) -> None:
    kind, *arguments = step
    if kind in ON_A_PRODUCT:
        ids = sorted(Product.objects.values_list("pk", flat=True))
        if kind.endswith("delete") and len(ids) <= FEWEST:
            return
        arguments[0] = ids[arguments[0] % len(ids)]
    if kind.startswith("SQL"):
        with connection.cursor() as cursor:
            cursor.execute(*sql(kind, arguments, shelves))
    elif kind == "update":
        product_id, name, value = arguments
        if name == "category":
            name, value = "category_id", None if value is None else shelves[value].pk
        services.update_product(product_id, {name: value})  # type: ignore[misc]
    elif kind == "create":
        category, price, percent = arguments
        fields: services.ProductFields = {
            "sku": f"SKU-{uuid4().hex[:12]}",
            "name": "Created Lamp",
            "category_id": shelves[category].pk,
            "price": price,
            "discount_percent": percent,
            "stock": 1,
        }
        services.create_product(fields)
    elif kind == "delete":
        services.delete_product_by_id(arguments[0])
    else:
        services.set_category_discount(shelves[arguments[0]].pk, arguments[1])


def sql(kind: str, arguments: list[Any], shelves: list[Category]) -> tuple[str, list[Any]]:
    """Another program's write, past the services: it wakes no server, which
    finds it when it polls the log, or is notified."""
    if kind == "SQL update":
        product_id, column, index = arguments
        value = SQL_VALUES[column][index]
        return f"UPDATE products_product SET {column} = %s WHERE id = %s", [value, product_id]
    if kind == "SQL insert":
        category, price = arguments
        return (
            "INSERT INTO products_product (sku, name, price, category_id)"
            " VALUES (%s, 'Inserted Lamp', %s, %s)",
            [f"SQL-{uuid4().hex[:12]}", price, shelves[category].pk],
        )
    if kind == "SQL delete":
        return "DELETE FROM products_product WHERE id = %s", arguments
    category, percent = arguments
    return "UPDATE products_category SET discount_percent = %s WHERE id = %s", [
        percent,
        shelves[category].pk,
    ]


async def run(base_url: str, shelves: list[Category], steps: list[tuple[Any, ...]]) -> None:
    shelf = shelves[0]
    filters: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({}, {}),
        ({"onSale": True}, {"effective_discount_percent__gt": 0}),
        (
            {"price": {"gte": "20.00", "lte": "80.00"}},
            {"price__gte": Decimal("20.00"), "price__lte": Decimal("80.00")},
        ),
        ({"categories": [to_base64("Category", shelf.pk)]}, {"category_id": shelf.pk}),
    ]
    clients = [
        Client(base_url, PROTOCOLS[index % 2], filter, lookups, batch_size=2 + index)
        for index, (filter, lookups) in enumerate(filters)
    ]
    try:
        for client in clients:
            await client.connect()
        for step in steps:
            kind, *arguments = step
            if kind == "disconnect":
                for index in arguments[0]:
                    await clients[index].disconnect()
            elif kind == "resume":
                for index in arguments[0]:
                    await clients[index].resume()
            else:
                await write(step, shelves)
        for client in clients:
            await client.resume()
        for client in clients:
            await client.converged()
    finally:
        for client in clients:
            if client.connection:
                await client.connection.aclose()


@examples(12)
@given(steps=st.lists(STEPS, min_size=5, max_size=30))
def test_clients_that_come_and_go_end_equal_to_the_database(uvicorn_server, shop, steps):
    async_to_sync(run)(uvicorn_server, shop, steps)
