"""A live client that stops reading, against a real uvicorn that finds this
process's writes in the change log: once it has been stuck for
LIVE_STALL_TIMEOUT with changes waiting, its connection is closed with 1013
(its pending changes dropped), while a client that reads keeps receiving."""

import asyncio
import json
import time
from decimal import Decimal
from pathlib import Path

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.db import connections

from products import services
from products.factories import CategoryFactory, ProductFactory
from products.live import FELL_BEHIND
from products.models import Category
from tests.conftest import running_uvicorn
from tests.graphql_ws import graphql_websocket
from tests.products.live_view import LiveView, live_view

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

STALL_TIMEOUT = 3
PRODUCTS = 300
# Each product about 2 KB on the wire, so that a few discounts fill every
# buffer between the server and a client that does not read.
HEAVY_LIVE_STREAM = """
subscription { productStream(batchSize: 100, live: true) {
  phase snapshotComplete products { id version description }
} }
"""


@pytest.fixture(autouse=True)
async def close_writer_connections():
    yield
    await sync_to_async(connections.close_all)()


@sync_to_async
def set_category_discount(category: Category, percent: Decimal) -> None:
    category.discount_percent = percent
    services.save_category(category)


def discounts(view: LiveView) -> set[str]:
    return {product["discountPercent"] for product in view.products.values()}


async def test_a_client_that_stops_reading_is_closed_with_1013(test_database_url, tmp_path: Path):
    category = await sync_to_async(CategoryFactory.create)(discount_percent=None)
    await sync_to_async(ProductFactory.create_batch)(
        PRODUCTS, category=category, discount_percent=None, description="x" * 2000
    )
    settings = {
        "LIVE_STALL_TIMEOUT": str(STALL_TIMEOUT),
        "LOG_LEVEL": "WARNING",
    }
    log = tmp_path / "server.log"
    with running_uvicorn(test_database_url, settings=settings, log=log) as server:
        async with (
            live_view(server, "graphql-transport-ws") as reader,
            graphql_websocket(server, "graphql-transport-ws", small_buffers=True) as stuck,
        ):
            operation_id = await stuck.subscribe(HEAVY_LIVE_STREAM)
            async for payload in stuck.results(operation_id):
                if payload["data"]["productStream"]["snapshotComplete"]:
                    break
            # The stuck client reads no more while discounts pour in.
            percent = Decimal("10")
            deadline = time.monotonic() + 4 * STALL_TIMEOUT
            while time.monotonic() < deadline:
                percent = Decimal("30") - percent  # 10, 20, 10, …
                await set_category_discount(category, percent)
                await asyncio.sleep(0.2)

            # It finds what had been sent before, then the close.
            sent = 0
            async with asyncio.timeout(30):
                try:
                    while True:
                        message = json.loads(await stuck.socket.recv())
                        assert message["type"] == "next", message
                        sent += 1
                except websockets.ConnectionClosed:
                    pass
            assert sent > 0
            assert stuck.socket.close_code == 1013
            assert stuck.socket.close_reason == FELL_BEHIND

            # The reader was not held up: it has the last discount on every product.
            await reader.until(lambda v: discounts(v) == {f"{percent}.00"})

        # A fresh live subscription is served as before.
        async with live_view(server, "graphql-transport-ws") as fresh:
            await set_category_discount(category, Decimal("50"))
            await fresh.until(lambda v: discounts(v) == {"50.00"})

    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    (closed,) = [line for line in lines if line["event"] == "subscription" and line["code"]]
    assert (closed["outcome"], closed["code"], closed["phase"]) == ("closed", 1013, "LIVE")
    assert closed["rows"] > PRODUCTS
    (connection,) = [
        line for line in lines if line["event"] == "websocket" and line["close_code"] == 1013
    ]
    assert connection["closed_by"] == "server"
