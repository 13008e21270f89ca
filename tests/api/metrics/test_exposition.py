"""``/metrics`` of a real uvicorn, read by prometheus_client's parser and
checked by Prometheus' own ``promtool``, as GraphQL requests, websocket
streams and live changes happen."""

import asyncio
import subprocess
from decimal import Decimal
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections

from products import services
from products.factories import ProductFactory
from products.models import Product
from tests.api.metrics.scrape import Samples, names, parse, scrape, value
from tests.conftest import running_uvicorn
from tests.graphql_ws import PROTOCOLS, graphql_websocket

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "query ProductPage { products(first: 2) { edges { node { name category { name } } } } }"
FEED = """subscription ProductFeed($live: Boolean!) {
  productStream(batchSize: 2, live: $live) { phase snapshotComplete products { id version } }
}"""


@pytest.fixture(scope="module")
def server(test_database_url: str):
    with running_uvicorn(test_database_url) as base_url:
        yield base_url


@pytest.fixture(autouse=True)
async def close_writer_connections():
    yield
    await sync_to_async(connections.close_all)()


def post(base_url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.post(
        f"{base_url}/graphql/",
        json={"query": query, "variables": variables or {}},
        headers={"Accept": "application/json"},
        timeout=10,
    )
    body: dict[str, Any] = response.json()
    return body


def increase(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, labels) - value(before, name, labels)


def test_promtool_accepts_the_exposition(server):
    post(server, PAGE)
    post(server, "query Broken { nope }")
    text = httpx.get(f"{server}/metrics").text
    checked = subprocess.run(
        ["promtool", "check", "metrics"], input=text.encode(), capture_output=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert {
        "conveyor_graphql_operations_total",
        "conveyor_graphql_operation_duration_seconds_bucket",
        "conveyor_graphql_errors_total",
        "conveyor_stream_rows_total",
        "conveyor_live_lag_seconds_count",
        "conveyor_live_pending_changes",
        "conveyor_change_log_backlog_changes",
    } <= names(parse(text))


def test_a_query_counts_with_its_type_name_transport_and_duration(server, product_factory):
    product_factory.create_batch(2)
    before = scrape(server)
    assert "errors" not in post(server, PAGE)
    after = scrape(server)
    operation = {"operation_type": "query", "operation_name": "ProductPage"}
    assert (
        increase(before, after, "conveyor_graphql_operations_total", transport="http", **operation)
        == 1
    )
    assert (
        increase(before, after, "conveyor_graphql_operation_duration_seconds_count", **operation)
        == 1
    )
    slowest = increase(
        before, after, "conveyor_graphql_operation_duration_seconds_bucket", le="+Inf", **operation
    )
    within_10_s = increase(
        before, after, "conveyor_graphql_operation_duration_seconds_bucket", le="10.0", **operation
    )
    assert slowest == within_10_s == 1


def test_errors_count_by_code_and_invalid_documents_name_no_series(server):
    before = scrape(server)
    post(server, "query NoSuchField { nope }")
    post(server, "query TooMany { products(first: 500) { totalCount } }")
    post(server, "query Fine { products(first: 1) { totalCount } }")
    after = scrape(server)
    assert (
        increase(before, after, "conveyor_graphql_errors_total", code="GRAPHQL_VALIDATION_FAILED")
        == 1
    )
    assert increase(before, after, "conveyor_graphql_errors_total", code="BAD_USER_INPUT") == 1
    # A document refused before it runs gets no label value of its own.
    named = {dict(labels).get("operation_name") for _, labels in after}
    assert "Fine" in named
    assert not named & {"NoSuchField", "TooMany"}
    other = {"transport": "http", "operation_type": "query", "operation_name": "other"}
    assert increase(before, after, "conveyor_graphql_operations_total", **other) == 2


@sync_to_async
def raise_price(product_id: int) -> None:
    product = Product.objects.get(pk=product_id)
    product.price += Decimal("1.00")
    services.save_product(product)


async def eventually(server: str, check: Any, within: float = 10) -> Samples:
    """The first scrape for which ``check`` holds."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        samples = await asyncio.to_thread(scrape, server)
        if check(samples) or asyncio.get_running_loop().time() > deadline:
            return samples
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_websocket_streams_count_connections_subscriptions_rows_and_live_lag(
    server, protocol
):
    products = await sync_to_async(ProductFactory.create_batch)(3)
    websocket = {"transport": "websocket"}
    before = await asyncio.to_thread(scrape, server)
    async with graphql_websocket(server, protocol) as client:
        operation_id = await client.subscribe(FEED, {"live": True})
        results = client.results(operation_id)
        while not (await anext(results))["data"]["productStream"]["snapshotComplete"]:
            pass
        during = await asyncio.to_thread(scrape, server)
        assert increase(before, during, "conveyor_connections_active", **websocket) == 1
        assert increase(before, during, "conveyor_connections_total", **websocket) == 1
        assert increase(before, during, "conveyor_subscriptions_active", **websocket) == 1
        assert increase(before, during, "conveyor_stream_rows_total", phase="snapshot") == 3
        assert increase(before, during, "conveyor_stream_batches_total", phase="snapshot") == 2
        subscription = {"operation_type": "subscription", "operation_name": "ProductFeed"}
        assert (
            increase(
                before, during, "conveyor_graphql_operations_total", **websocket, **subscription
            )
            == 1
        )

        await raise_price(products[0].pk)
        live = (await anext(results))["data"]["productStream"]
        assert live["phase"] == "LIVE"
        lagged = await eventually(
            server, lambda s: increase(during, s, "conveyor_live_lag_seconds_count") == 1
        )
        assert increase(during, lagged, "conveyor_live_lag_seconds_count") == 1
        assert 0 <= increase(during, lagged, "conveyor_live_lag_seconds_sum") < 5
        assert increase(during, lagged, "conveyor_stream_rows_total", phase="live") == 1

    def closed(samples: Samples) -> bool:
        return increase(before, samples, "conveyor_connections_active", **websocket) == 0

    after = await eventually(server, closed)
    assert closed(after)
    assert increase(before, after, "conveyor_subscriptions_active", **websocket) == 0


def test_the_pool_is_reported_on_postgresql_and_absent_on_sqlite(server):
    post(server, PAGE)
    samples = scrape(server)
    if connection.vendor != "postgresql":
        assert not any(name.startswith("conveyor_db_pool") for name in names(samples))
        return
    pool = connection.settings_dict["OPTIONS"]["pool"]
    assert value(samples, "conveyor_db_pool_max_connections") == pool["max_size"]
    in_use = value(samples, "conveyor_db_pool_connections", {"state": "in_use"})
    idle = value(samples, "conveyor_db_pool_connections", {"state": "idle"})
    assert in_use >= 0
    assert in_use + idle >= 1
    assert value(samples, "conveyor_db_pool_waiting_requests") == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no pool")
async def test_requests_that_wait_for_a_pooled_connection_are_counted(test_database_url):
    small_pool = {"DB_POOL_MIN_SIZE": "1", "DB_POOL_MAX_SIZE": "1", "STREAM_DB_READERS": "1"}
    with running_uvicorn(test_database_url, small_pool) as base_url:
        before = await asyncio.to_thread(scrape, base_url)
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            await asyncio.gather(
                *(client.post("/graphql/", json={"query": PAGE}) for _ in range(20))
            )
        after = await asyncio.to_thread(scrape, base_url)
    assert value(after, "conveyor_db_pool_max_connections") == 1
    assert increase(before, after, "conveyor_db_pool_waits_total") > 0
    assert increase(before, after, "conveyor_db_pool_wait_seconds_total") > 0
