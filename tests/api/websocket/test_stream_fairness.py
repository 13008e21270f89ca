"""Every stream makes progress, whatever the others do: twenty streams of one
product a batch, opened at once against a real uvicorn, all send their first
batch before any of them has sent its whole catalog. (Before turns and the
readers' queue, four streams sent every batch while sixteen sent none.)"""

import asyncio
from collections.abc import Iterator

import pytest
from django.core.management import call_command

from tests.conftest import running_uvicorn, served_database_url
from tests.graphql_ws import PROTOCOLS, graphql_websocket

pytestmark = pytest.mark.django_db(transaction=True)

CATALOG = 2000
STREAMS = 20
STREAM = "subscription { productStream(batchSize: 1) { sequence snapshotComplete products { id sku name } } }"


@pytest.fixture
def server() -> Iterator[str]:
    call_command("seed_products", count=CATALOG, seed=5, no_progress=True)
    with running_uvicorn(served_database_url()) as base_url:
        yield base_url


async def test_every_stream_sends_its_first_batch_before_any_stream_ends(server):
    loop = asyncio.get_running_loop()
    first_batches: list[float] = []
    ends: list[float] = []
    start = asyncio.Event()

    async def stream(n: int) -> None:
        async with graphql_websocket(server, PROTOCOLS[n % 2]) as client:
            await start.wait()
            operation = await client.subscribe(STREAM)
            sent = 0
            async for _result in client.results(operation):
                if sent == 0:
                    first_batches.append(loop.time())
                sent += 1
            assert sent == CATALOG
            ends.append(loop.time())

    streams = [asyncio.create_task(stream(n)) for n in range(STREAMS)]
    await asyncio.sleep(0.5)  # every connection acknowledged
    start.set()
    async with asyncio.timeout(120):
        await asyncio.gather(*streams)
    assert len(first_batches) == STREAMS
    assert max(first_batches) < min(ends)
