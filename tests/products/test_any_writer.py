"""Writes that go round the project's services reach live subscribers all the
same: SQL on a connection of its own, as another program would run it, and
``QuerySet.update``, which saves no model. The database's triggers log them
(migration 0004); a real uvicorn tails the log and tells a real websocket
client."""

import asyncio
import sqlite3
from contextlib import closing
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections
from strawberry.relay import to_base64

from products.factories import CategoryFactory, ProductFactory
from products.models import Category, Product
from tests.conftest import served_database_url
from tests.products.live_view import LiveView, live_view

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def close_writer_connections():
    """The ORM's writes run on asgiref's shared thread; its connection must
    not outlive the test database."""
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture
def run_sql():
    """Runs one statement (``%s`` placeholders) on a connection of its own,
    committed and closed before it returns: none of Django's."""
    settings = connection.settings_dict
    if settings["ENGINE"].endswith("sqlite3"):
        path = settings["NAME"]

        def execute(sql: str, params: tuple[Any, ...]) -> None:
            with closing(sqlite3.connect(path, timeout=10)) as conn, conn:
                conn.execute(sql.replace("%s", "?"), params)
    else:
        url = served_database_url()

        def execute(sql: str, params: tuple[Any, ...]) -> None:
            with psycopg.connect(url) as conn:
                conn.execute(sql, params)

    async def run(sql: str, *params: Any) -> None:
        await asyncio.to_thread(execute, sql, params)

    return run


def gid(product: Product | int) -> str:
    return to_base64("Product", product if isinstance(product, int) else product.pk)


def shown(view: LiveView, product: Product | int) -> dict[str, Any]:
    return view.products.get(gid(product), {})


def told(view: LiveView, product: Product | int) -> list[dict[str, Any]]:
    """What the LIVE batches said of ``product``."""
    return [p for b in view.live_batches for p in b["products"] if p["id"] == gid(product)]


@sync_to_async
def product(**fields: Any) -> Product:
    return ProductFactory.create(**fields)


@sync_to_async
def category(percent: str | None) -> Category:
    return CategoryFactory.create(discount_percent=None if percent is None else Decimal(percent))


async def test_an_sql_update_is_pushed_repriced_with_a_new_version(uvicorn_server, run_sql):
    lamp = await product(category=await category("10"), price=Decimal("10.00"))
    async with live_view(uvicorn_server, "graphql-transport-ws") as view:
        await run_sql("UPDATE products_product SET price = %s WHERE id = %s", "30.00", lamp.pk)
        await view.until(lambda v: shown(v, lamp)["version"] > 1)

    (pushed,) = told(view, lamp)
    assert (pushed["price"], pushed["discountedPrice"], pushed["version"]) == ("30.00", "27.00", 2)


async def test_an_sql_insert_is_pushed_with_its_category_discount(uvicorn_server, run_sql):
    """Only what a program that knows nothing of the triggers would give:
    the database fills in the rest."""
    sale = await category("25")
    async with live_view(uvicorn_server, "graphql-ws") as view:
        await run_sql(
            "INSERT INTO products_product (sku, name, category_id, price) VALUES (%s, %s, %s, %s)",
            "SQL-1",
            "Lamp",
            sale.pk,
            "20.00",
        )
        await view.until(lambda v: any(p["sku"] == "SQL-1" for p in v.products.values()))

    inserted = await sync_to_async(Product.objects.get)(sku="SQL-1")
    assert told(view, inserted) == [
        {
            "id": gid(inserted),
            "sku": "SQL-1",
            "price": "20.00",
            "discountPercent": "25.00",  # the effective discount: its category's
            "discountedPrice": "15.00",
            "stock": 0,
            "version": 1,
            "category": {"id": to_base64("Category", sale.pk)},
        }
    ]


async def test_an_sql_delete_is_pushed_as_removed(uvicorn_server, run_sql):
    doomed, kept = await product(), await product()
    async with live_view(uvicorn_server, "graphql-transport-ws") as view:
        await run_sql("DELETE FROM products_product WHERE id = %s", doomed.pk)
        await view.until(lambda v: gid(doomed) not in v.products)

    assert [batch["removedIds"] for batch in view.live_batches] == [[gid(doomed)]]
    assert gid(kept) in view.products


async def test_an_sql_category_discount_reprices_only_the_inheriting_products(
    uvicorn_server, run_sql
):
    shop = await category(None)
    inheriting = [await product(category=shop, price=Decimal("10.00")) for _ in range(3)]
    own = await product(category=shop, price=Decimal("10.00"), discount_percent=Decimal("5"))
    async with live_view(uvicorn_server, "graphql-transport-ws") as view:
        await run_sql(
            "UPDATE products_category SET discount_percent = %s WHERE id = %s", "20", shop.pk
        )
        await view.until(lambda v: all(shown(v, p)["version"] == 2 for p in inheriting))

    for repriced in inheriting:
        (pushed,) = told(view, repriced)
        assert (pushed["discountedPrice"], pushed["version"]) == ("8.00", 2)
    assert told(view, own) == []
    assert (shown(view, own)["discountedPrice"], shown(view, own)["version"]) == ("9.50", 1)
    assert await sync_to_async(lambda: Product.objects.get(pk=own.pk).version)() == 1


async def test_a_queryset_update_is_pushed(uvicorn_server):
    shop = await category("50")
    changed = [await product(category=shop, stock=1) for _ in range(2)]
    untouched = await product(category=shop, stock=1)
    ids = [p.pk for p in changed]

    @sync_to_async
    def update() -> int:
        return Product.objects.filter(pk__in=ids).update(price=Decimal("7.00"), stock=9)

    async with live_view(uvicorn_server, "graphql-ws") as view:
        assert await update() == 2
        await view.until(lambda v: all(shown(v, id)["version"] == 2 for id in ids))

    for id in ids:
        (pushed,) = told(view, id)
        assert (pushed["price"], pushed["discountedPrice"], pushed["stock"]) == ("7.00", "3.50", 9)
    assert told(view, untouched) == []
