"""What a subscription streamed over HTTP holds, against a real uvicorn: a
client that reads slowly slows the reading, one that leaves stops it at
once and gives its database connection back, and one whose connection is
cut mid-snapshot goes on from its last event without losing a product."""

import asyncio
import socket
from contextlib import aclosing
from urllib.parse import urlsplit

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.db import connections
from strawberry.relay import to_base64

from products.models import Product
from tests.api.http.http_streams import TRANSPORTS, Frame, collect, results, streamed
from tests.api.paging.test_stream_resources import (  # noqa: F401 (fixtures)
    HEAVY,
    ON_POSTGRESQL,
    WINDOW,
    backend_connections,
    many_products,
    reading_stopped,
    server,
    settles_at,
    windows_read,
)
from tests.cutting_proxy import CuttingProxy, cutting_proxy
from tests.graphql_ws import graphql_websocket
from tests.products.live_view import BATCH

pytestmark = pytest.mark.django_db(transaction=True)

SNAPSHOT = (
    "subscription($batchSize: Int) { productStream(batchSize: $batchSize) { ...Batch } }" + BATCH
)


def small_buffers() -> httpx.AsyncHTTPTransport:
    """A client whose socket holds little, so that not reading soon fills it."""
    return httpx.AsyncHTTPTransport(socket_options=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)])


@pytest.mark.slow
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_slow_client_slows_the_reading_and_leaving_stops_it(
    server,  # noqa: F811
    many_products,  # noqa: F811
    transport,
):
    base_url, log = server
    baseline = await backend_connections() if ON_POSTGRESQL else 0
    async with httpx.AsyncClient(
        base_url=base_url, transport=small_buffers(), timeout=30
    ) as client:
        variables = {"batchSize": WINDOW}
        async with (
            streamed(client, transport, HEAVY, variables) as response,
            aclosing(results(response)) as stream,
        ):
            for _ in range(3):
                await anext(stream)
            # The client stops reading: once the buffers are full, the server stops too.
            stalled = await reading_stopped(log)
            assert stalled < many_products // WINDOW // 2
    # Gone: the reading stops where it was, and its connection is given back.
    left_at = windows_read(log)
    assert left_at <= stalled + 1
    await asyncio.sleep(1.0)
    assert windows_read(log) == left_at
    assert (
        f'"subprotocol":"{"graphql-sse" if transport == "sse" else "multipart-subscription"}"'
        in (log.read_text())
    )
    assert '"outcome":"disconnected"' in log.read_text()
    if ON_POSTGRESQL:
        assert await settles_at(baseline) <= baseline


@sync_to_async
def seeded(count: int) -> list[str]:
    call_command("seed_products", count=count, seed=11, no_progress=True)
    ids = [to_base64("Product", pk) for pk in Product.objects.values_list("pk", flat=True)]
    connections.close_all()
    return ids


async def read_until_cut(
    client: httpx.AsyncClient, proxy: CuttingProxy, got: list[Frame], method: str
) -> None:
    """Reads the snapshot into ``got``, the proxy cutting the connection
    after the third event; raises what httpx raises then."""
    async with (
        streamed(client, "sse", SNAPSHOT, {"batchSize": 50}, method=method) as response,
        aclosing(results(response)) as stream,
    ):
        async for frame in stream:
            got.append(frame)
            if len(got) == 3:
                proxy.cut()  # what was sent since is lost on the way


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_stream_cut_mid_snapshot_goes_on_from_its_last_event(uvicorn_server, method):
    everything = set(await seeded(2000))
    port = urlsplit(uvicorn_server).port
    assert port is not None
    got: list[Frame] = []
    with cutting_proxy(port) as proxy:
        async with httpx.AsyncClient(base_url=f"http://{proxy.address}", timeout=10) as client:
            variables = {"batchSize": 50}
            with pytest.raises(httpx.HTTPError):
                await read_until_cut(client, proxy, got, method)
            assert 3 <= len(got) < 40
            last_id = got[-1].id
            assert last_id is not None
            headers = {"Last-Event-ID": last_id}
            got += await collect(client, "sse", SNAPSHOT, variables, method=method, headers=headers)

    received = [p["id"] for f in got for p in f.payload["data"]["productStream"]["products"]]
    assert len(received) == len(set(received))
    assert set(received) == everything
    assert got[-1].payload["data"]["productStream"]["snapshotComplete"]


FAIR_STREAM = (
    "subscription { productStream(batchSize: 1) { sequence snapshotComplete products { id } } }"
)


@pytest.mark.slow
async def test_streams_over_http_and_websockets_take_turns(uvicorn_server):
    """Twelve streams of one product a batch, four over each transport,
    opened at once: every one sends its first batch before any has sent the
    whole catalog."""
    catalog = len(await seeded(500))
    loop = asyncio.get_running_loop()
    first_batches: list[float] = []
    ends: list[float] = []

    async def over_http(client: httpx.AsyncClient, transport: str) -> None:
        async with streamed(client, transport, FAIR_STREAM) as response:
            sent = 0
            async for _ in results(response):
                if sent == 0:
                    first_batches.append(loop.time())
                sent += 1
        assert sent == catalog
        ends.append(loop.time())

    async def over_websocket() -> None:
        async with graphql_websocket(uvicorn_server, "graphql-transport-ws") as socket:
            sent = 0
            async for _ in socket.results(await socket.subscribe(FAIR_STREAM)):
                if sent == 0:
                    first_batches.append(loop.time())
                sent += 1
        assert sent == catalog
        ends.append(loop.time())

    limits = httpx.Limits(max_connections=20)
    async with httpx.AsyncClient(base_url=uvicorn_server, timeout=60, limits=limits) as client:
        streams = [over_websocket() for _ in range(4)] + [
            over_http(client, transport) for transport in TRANSPORTS for _ in range(4)
        ]
        async with asyncio.timeout(120):
            await asyncio.gather(*streams)
    assert len(first_batches) == 12
    assert max(first_batches) < min(ends)
