"""The JavaScript clients frontends use, subscribing over HTTP to a real
uvicorn: Apollo Client's HttpLink (multipart), urql's fetch exchange (SSE),
and the graphql-sse reference client, reconnecting through a cut network
and resuming by its last event, as Chromium's own EventSource does."""

import asyncio
from collections import Counter
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from playwright.async_api import Browser
from strawberry.relay import to_base64

from accounts.factories import UserFactory
from accounts.services import create_api_token
from products import services
from products.factories import ProductFactory
from products.models import Product
from tests.cutting_proxy import cutting_proxy
from tests.node_clients import run_node

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = Path(__file__).parent / "clients"


@pytest.fixture(autouse=True)
async def close_writer_connections():
    yield
    await sync_to_async(connections.close_all)()


def gid(product: Product) -> str:
    return to_base64("Product", product.pk)


@sync_to_async
def staff_token() -> str:
    return create_api_token(UserFactory.create(staff=True)).token


@sync_to_async
def in_database() -> dict[str, tuple[int, str]]:
    return {gid(p): (p.version, str(p.price)) for p in Product.objects.all()}


async def test_apollo_clients_http_link_follows_a_live_stream_over_multipart(uvicorn_server):
    products = await sync_to_async(ProductFactory.create_batch)(3)
    changed = gid(products[1])
    out = await asyncio.to_thread(
        run_node,
        CLIENTS / "apollo_multipart_subscription.mjs",
        uvicorn_server,
        await staff_token(),
        changed,
    )

    batches = [result["data"]["productStream"] for result in out["results"]]
    assert all(result["errors"] is None for result in out["results"]), out
    assert [batch["phase"] for batch in batches] == ["SNAPSHOT", "LIVE"]
    assert {p["id"] for p in batches[0]["products"]} == {gid(p) for p in products}
    assert [(p["id"], p["price"], p["version"]) for p in batches[1]["products"]] == [
        (changed, "42.00", 2)
    ]


async def test_apollo_client_gets_the_errors_of_a_refused_subscription(uvicorn_server):
    out = await asyncio.to_thread(
        run_node, CLIENTS / "apollo_multipart_subscription.mjs", uvicorn_server, "", "error"
    )
    (result,) = out["results"]
    assert result["data"] is None
    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_urql_streams_a_subscription_over_sse_and_its_queries_as_json(uvicorn_server):
    products = await sync_to_async(ProductFactory.create_batch)(5)
    out = await asyncio.to_thread(
        run_node, CLIENTS / "urql_sse_subscription.mjs", uvicorn_server, "2"
    )

    assert out["errors"] == []
    assert [batch["sequence"] for batch in out["batches"]] == [1, 2, 3]
    assert out["batches"][-1]["snapshotComplete"] is True
    streamed = [p["id"] for batch in out["batches"] for p in batch["products"]]
    assert sorted(streamed) == sorted(gid(p) for p in products)
    assert out["query"] == {"products": {"totalCount": 5}}


async def test_urql_gets_the_errors_of_a_refused_subscription(uvicorn_server):
    out = await asyncio.to_thread(
        run_node, CLIENTS / "urql_sse_subscription.mjs", uvicorn_server, "0"
    )
    assert out["batches"] == []
    assert [error["extensions"]["code"] for error in out["errors"]] == ["BAD_USER_INPUT"]


async def following_through_a_cut(
    base_url: str,
    follow: Callable[[str, Path], Coroutine[Any, Any, Any]],
    signal: Path,
    changed: Product,
) -> Any:
    """Runs ``follow(url, signal)`` through a proxy that cuts its connection
    once the client signals, by making the file ``signal``, that its snapshot
    is complete; while the network is down, ``changed`` changes. Returns
    what ``follow`` returns."""
    port = urlsplit(base_url).port
    assert port is not None
    with cutting_proxy(port) as proxy:
        client = asyncio.create_task(follow(f"http://{proxy.address}", signal))
        async with asyncio.timeout(20):
            while not signal.exists():  # noqa: ASYNC110, ASYNC240 (a file the client writes)
                await asyncio.sleep(0.05)
        proxy.refusing = True
        proxy.cut()
        await sync_to_async(services.update_product)(changed.pk, {"stock": 1234})
        await asyncio.sleep(0.5)
        proxy.refusing = False
        return await client


def node_script(script: str) -> Callable[[str, Path], Coroutine[Any, Any, Any]]:
    async def follow(url: str, signal: Path) -> Any:
        return await asyncio.to_thread(run_node, CLIENTS / script, url, str(signal))

    return follow


async def test_graphql_sse_reconnects_through_a_cut_and_resumes_by_its_last_event(
    uvicorn_server, tmp_path
):
    products = await sync_to_async(ProductFactory.create_batch)(120)
    out = await following_through_a_cut(
        uvicorn_server,
        node_script("graphql_sse_reconnect.mjs"),
        tmp_path / "snapshot",
        products[7],
    )

    assert out["connects"] >= 2
    held = {id: (p["version"], p["price"]) for id, p in out["products"].items()}
    assert held == await in_database()
    # Nothing was sent twice but the product that changed meanwhile.
    sent = Counter(p["id"] for batch in out["batches"] for p in batch["products"])
    assert {id for id, times in sent.items() if times > 1} <= {gid(products[7])}
    after_reconnect = [batch for batch in out["batches"] if batch["connect"] > 1]
    assert {batch["phase"] for batch in after_reconnect} == {"LIVE"}
    assert gid(products[7]) in {p["id"] for batch in after_reconnect for p in batch["products"]}


LIVE = """subscription Live {
  productStream(batchSize: 50, live: true) {
    phase sequence snapshotComplete removedIds products { id price version }
  }
}"""


def in_chromium(browser: Browser) -> Callable[[str, Path], Coroutine[Any, Any, Any]]:
    async def follow(url: str, signal: Path) -> Any:
        context = await browser.new_context()
        try:
            page = await context.new_page()
            await page.expose_function("snapshotComplete", lambda: signal.touch())
            await page.goto(f"{url}/healthz")  # a page of the server's origin
            return await page.evaluate((CLIENTS / "event_source_reconnect.js").read_text(), LIVE)
        finally:
            await context.close()

    return follow


async def test_a_browsers_event_source_reconnecting_on_its_own_loses_nothing(
    uvicorn_server, browser, tmp_path
):
    products = await sync_to_async(ProductFactory.create_batch)(120)
    out = await following_through_a_cut(
        uvicorn_server, in_chromium(browser), tmp_path / "snapshot", products[7]
    )

    assert out["opens"] >= 2
    before, after = (
        [batch for batch in out["batches"] if (batch["open"] > 1) is reconnected]
        for reconnected in (False, True)
    )
    assert sorted(p["id"] for batch in before for p in batch["products"]) == sorted(
        gid(p) for p in products
    )
    # Every event was identified, and the reconnect went on after the last.
    assert all(batch["id"] for batch in out["batches"])
    assert {batch["phase"] for batch in after} == {"LIVE"}
    assert [(p["id"], p["version"]) for batch in after for p in batch["products"]] == [
        (gid(products[7]), 2)
    ]
