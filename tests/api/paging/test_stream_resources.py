"""What a stream holds: backpressure, cancellation, and the bound on database
connections shared by many concurrent streams, against a uvicorn started with
small limits."""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from products.factories import ProductFactory
from tests.conftest import running_uvicorn, served_database_url
from tests.graphql_ws import PROTOCOLS, graphql_websocket

pytestmark = pytest.mark.django_db(transaction=True)

ON_POSTGRESQL = connection.vendor == "postgresql"
WINDOW = 100
READERS = 2
SERVER = "conveyor-stream-test"  # the server's application_name in pg_stat_activity
# About 1 KB a product: 20,000 of them are far more than socket buffers hold.
HEAVY = """subscription($batchSize: Int) {{
  productStream(batchSize: $batchSize) {{
    sequence products {{ id sku name price discountedPrice updatedAt {} }}
  }}
}}""".format(" ".join(f"d{n}: description" for n in range(12)))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """uvicorn reading windows of 100 rows on two reader threads, logging each
    window read, with a pool that closes idle connections after half a second."""
    log = tmp_path / "server.log"
    env = {
        "LOG_LEVEL": "DEBUG",
        "STREAM_WINDOW_SIZE": str(WINDOW),
        "STREAM_DB_READERS": str(READERS),
        "DB_POOL_MIN_SIZE": "1",
        "DB_POOL_MAX_SIZE": "6",
        "DB_POOL_MAX_IDLE": "0.5",
        "PGAPPNAME": SERVER,
    }
    with running_uvicorn(served_database_url(), settings=env, log=log) as base_url:
        httpx.get(f"{base_url}/readyz")  # opens the pool: its one idle connection is the baseline
        yield base_url, log


def windows_read(log: Path) -> int:
    return len(re.findall(r"read a window of \d+ rows", log.read_text()))


async def reading_stopped(log: Path) -> int:
    """The windows read once a second has passed without another being read."""
    read = windows_read(log)
    async with asyncio.timeout(15):
        while True:
            await asyncio.sleep(1.0)
            read, before = windows_read(log), read
            if read == before:
                return read


async def count_connections(conn: psycopg.AsyncConnection) -> int:
    cursor = await conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [SERVER]
    )
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def backend_connections() -> int:
    """The server's connections to PostgreSQL."""
    async with await psycopg.AsyncConnection.connect(served_database_url()) as conn:
        return await count_connections(conn)


async def settles_at(baseline: int, within: float = 5) -> int:
    """The connection count once it is back at ``baseline`` (or the timeout)."""
    deadline = asyncio.get_running_loop().time() + within
    while (count := await backend_connections()) > baseline:
        if asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.1)
    return count


@contextlib.asynccontextmanager
async def peak_connections() -> AsyncIterator[list[int]]:
    """Samples the connection count every 10 ms while the block runs."""
    samples: list[int] = []

    async def sample() -> None:
        async with await psycopg.AsyncConnection.connect(served_database_url()) as conn:
            while True:
                samples.append(await count_connections(conn))
                await asyncio.sleep(0.01)

    sampler = asyncio.create_task(sample())
    try:
        yield samples
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler


def create_products(count: int) -> None:
    ProductFactory.create_batch(count)
    connection.close()  # this thread's: the test database is dropped at the end


@pytest.fixture
def many_products(transactional_db: None) -> int:
    call_command("seed_products", count=20_000, seed=7, no_progress=True)
    return 20_000


@pytest.mark.slow
@pytest.mark.parametrize(
    ("protocol", "how"),
    [(protocol, "unsubscribe") for protocol in PROTOCOLS] + [(PROTOCOLS[0], "disconnect")],
)
async def test_a_slow_client_slows_the_reading_and_leaving_stops_it(
    server, many_products, protocol, how
):
    base_url, log = server
    total_windows = many_products // WINDOW
    baseline = await backend_connections() if ON_POSTGRESQL else 0

    async with graphql_websocket(base_url, protocol, small_buffers=True) as socket:
        operation = await socket.subscribe(HEAVY, {"batchSize": WINDOW})
        results = socket.results(operation)
        for _ in range(3):
            await anext(results)
        # The client stops reading: once the socket's buffers are full, so is
        # the server's reading (how soon depends on the kernel's buffer sizes).
        stalled = await reading_stopped(log)
        assert stalled < total_windows // 2
        if how == "unsubscribe":
            await socket.unsubscribe(operation)
            await asyncio.sleep(0.5)
    # Leaving, either way, stops the reading where it was.
    left_at = windows_read(log)
    assert left_at <= stalled + 1
    await asyncio.sleep(1.0)
    assert windows_read(log) == left_at
    if ON_POSTGRESQL:
        assert await settles_at(baseline) <= baseline


@pytest.mark.slow
async def test_many_concurrent_streams_share_a_bounded_number_of_connections(server):
    await asyncio.to_thread(create_products, 250)
    base_url, log = server
    baseline = await backend_connections() if ON_POSTGRESQL else 0

    async def one_stream(index: int) -> int:
        protocol = PROTOCOLS[index % 2]
        async with graphql_websocket(base_url, protocol) as socket:
            batches = await socket.collect(HEAVY, {"batchSize": 50})
        assert all("errors" not in batch for batch in batches), batches
        return sum(len(b["data"]["productStream"]["products"]) for b in batches)

    if ON_POSTGRESQL:
        async with peak_connections() as samples:
            counts = await asyncio.gather(*(one_stream(i) for i in range(500)))
        assert samples, "the sampler saw nothing"
        # Between windows a stream holds nothing; while reading, each holds one
        # of the reader threads' connections.
        assert max(samples) >= 1, "no stream was seen reading"
        # The pool's idle connections (one, or two after /readyz) are reused.
        assert max(samples) <= max(READERS, baseline), (samples, baseline)
        assert await settles_at(baseline) <= baseline
    else:
        counts = await asyncio.gather(*(one_stream(i) for i in range(500)))
    assert counts == [250] * 500
    assert windows_read(log) == 500 * 3  # 50, 100 and 100 rows, the last one short
