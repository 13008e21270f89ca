"""Under load: 2,000 GraphQL requests over HTTP, 50 at a time, while 200
websocket streams read their whole snapshot at once, against a real uvicorn
whose pool allows 10 PostgreSQL connections. Every answer is right, and the
server never holds more connections than its pool allows."""

import asyncio
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.management import call_command
from strawberry.relay import to_base64

from products.models import Category, Product
from products.selectors import DecimalRange, ProductCriteria, filter_products
from tests.conftest import running_uvicorn
from tests.graphql_ws import PROTOCOLS, graphql_websocket
from tests.server_probe import ON_POSTGRESQL_ONLY, named_database_url, sampled_connections

pytestmark = ON_POSTGRESQL_ONLY

SERVER = "conveyor-load-test"  # the server's application_name in pg_stat_activity
POOL_MAX_SIZE = 10
CATALOG = 1000
REQUESTS = 2000
CONCURRENCY = 50
STREAMS = 200

PAGE = """query($first: Int, $after: String, $last: Int, $before: String,
               $filter: ProductFilter, $orderBy: ProductOrder) {
  products(first: $first, after: $after, last: $last, before: $before,
           filter: $filter, orderBy: $orderBy) {
    edges { cursor node { id sku name price discountedPrice stock category { name } } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}"""
PRODUCT = """query($id: ID, $sku: String) {
  product(id: $id, sku: $sku) { id sku name price discountPercent discountedPrice }
}"""
STREAM = """subscription($filter: ProductFilter, $batchSize: Int) {
  productStream(filter: $filter, batchSize: $batchSize) {
    snapshotComplete products { id sku price discountedPrice }
  }
}"""


@dataclass(frozen=True)
class Catalog:
    products: list[tuple[str, str]]  # global ID and SKU of each
    # Filters as a client sends them, with how many products each matches.
    filters: list[tuple[dict[str, Any], int]]


@pytest.fixture
def catalog(transactional_db: None) -> Catalog:
    call_command("seed_products", count=CATALOG, seed=5, no_progress=True)
    category = Category.objects.order_by("pk").first()
    assert category is not None
    filters: list[tuple[dict[str, Any], ProductCriteria]] = [
        ({}, ProductCriteria()),
        ({"inStock": True}, ProductCriteria(in_stock=True)),
        ({"price": {"lte": "100.00"}}, ProductCriteria(price=DecimalRange(lte=Decimal("100")))),
        ({"onSale": True, "search": "oak"}, ProductCriteria(on_sale=True, search="oak")),
        (
            {"categories": [to_base64("Category", category.pk)]},
            ProductCriteria(category_ids={category.pk}),
        ),
    ]
    products = Product.objects.order_by("pk").values_list("pk", "sku")
    return Catalog(
        products=[(to_base64("Product", pk), sku) for pk, sku in products],
        filters=[(given, filter_products(criteria).count()) for given, criteria in filters],
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    settings = {"DB_POOL_MAX_SIZE": str(POOL_MAX_SIZE)}
    database_url = named_database_url(SERVER)
    with running_uvicorn(database_url, settings=settings, log=tmp_path / "server.log") as url:
        yield url


class Requests:
    """The mix of requests a storefront makes: first pages, next and previous
    pages by cursor, a product by ID or SKU, filtered pages in another order;
    each with a check of its answer."""

    def __init__(self, catalog: Catalog, cursors: list[str]) -> None:
        self.catalog = catalog
        self.cursors = cursors

    def request(self, index: int) -> tuple[str, dict[str, Any], Callable[[dict[str, Any]], None]]:
        pick = random.Random(index)
        cursor = pick.choice(self.cursors)
        gid, sku = pick.choice(self.catalog.products)
        filter, matches = pick.choice(self.catalog.filters)

        def page_of(size: int) -> Callable[[dict[str, Any]], None]:
            def check(data: dict[str, Any]) -> None:
                assert len(data["products"]["edges"]) == size

            return check

        def the_product(data: dict[str, Any]) -> None:
            assert (data["product"]["id"], data["product"]["sku"]) == (gid, sku)

        kind = index % 6
        if kind == 0:
            return PAGE, {}, page_of(20)
        if kind == 1:
            return PAGE, {"first": 50, "after": cursor}, page_of(50)
        if kind == 2:
            return PAGE, {"last": 20, "before": cursor}, page_of(20)
        if kind == 3:
            return PRODUCT, {"id": gid}, the_product
        if kind == 4:
            return PRODUCT, {"sku": sku}, the_product
        order = {"field": "DISCOUNTED_PRICE", "direction": "DESC"}
        return PAGE, {"first": 30, "filter": filter, "orderBy": order}, page_of(min(30, matches))


async def page_cursors(client: httpx.AsyncClient) -> list[str]:
    """End cursors of pages of 50 products, but the last two: each has at
    least 50 products before it and 100 after."""
    cursors: list[str] = []
    after = None
    for _ in range(CATALOG // 50 - 2):
        response = await client.post(
            "/graphql/", json={"query": PAGE, "variables": {"first": 50, "after": after}}
        )
        after = response.json()["data"]["products"]["pageInfo"]["endCursor"]
        cursors.append(after)
    return cursors


async def http_load(client: httpx.AsyncClient, requests: Requests) -> float:
    """``REQUESTS`` requests, ``CONCURRENCY`` at a time; their duration."""
    indexes = iter(range(REQUESTS))
    started = time.monotonic()

    async def worker() -> None:
        for index in indexes:
            query, variables, check = requests.request(index)
            response = await client.post("/graphql/", json={"query": query, "variables": variables})
            assert response.status_code == 200, response.text
            body = response.json()
            assert "errors" not in body, (variables, body["errors"])
            check(body["data"])

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.monotonic() - started


async def stream(base_url: str, index: int, filter: dict[str, Any]) -> int:
    """The number of products a whole snapshot streamed."""
    async with graphql_websocket(base_url, PROTOCOLS[index % 2]) as client:
        variables = {"filter": filter, "batchSize": (100, 250, 1000)[index % 3]}
        results = await client.collect(STREAM, variables)
    assert all("errors" not in result for result in results), results
    assert results[-1]["data"]["productStream"]["snapshotComplete"]
    return sum(len(result["data"]["productStream"]["products"]) for result in results)


async def test_requests_and_streams_at_once_stay_within_the_pool(server, catalog, caplog):
    caplog.set_level(logging.WARNING, logger="httpx")  # not a line per request
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=server, limits=limits, timeout=60) as client:
        requests = Requests(catalog, await page_cursors(client))
        filters = [catalog.filters[i % len(catalog.filters)] for i in range(STREAMS)]
        started = time.monotonic()
        with sampled_connections(SERVER) as samples:
            http_seconds, *streamed = await asyncio.gather(
                http_load(client, requests),
                *(stream(server, i, filter) for i, (filter, _) in enumerate(filters)),
            )
        duration = time.monotonic() - started

    rows = sum(streamed)
    print(
        f"\n{REQUESTS} requests in {http_seconds:.1f} s ({REQUESTS / http_seconds:.0f}/s)"
        f" beside {STREAMS} streams of {rows} products in all, done in {duration:.1f} s"
        f"\nthe server's connections: at most {max(samples)} in {len(samples)} samples"
        f" (pool of {POOL_MAX_SIZE})"
    )
    assert streamed == [matches for _, matches in filters]
    assert len(samples) > duration / 0.1, "too few samples to tell"
    assert max(samples) <= POOL_MAX_SIZE
