"""Streams that end early leave nothing behind: 500 subscriptions cancelled
mid-stream and 500 connections dropped without a close frame, against a real
uvicorn, bring its PostgreSQL connections back to their baseline and its
memory back near it."""

import asyncio
import socket
import struct
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from strawberry.relay import to_base64

from products.models import Product
from tests.conftest import running_uvicorn
from tests.graphql_ws import PROTOCOLS, GraphQLWebSocket, graphql_websocket
from tests.server_probe import (
    ON_POSTGRESQL_ONLY,
    Memory,
    connections,
    memory,
    named_database_url,
    sampled_connections,
    server_pid,
    settled,
)

pytestmark = ON_POSTGRESQL_ONLY

SERVER = "conveyor-leaks-test"  # the server's application_name in pg_stat_activity
CATALOG = 3000
CYCLES = 500
CONCURRENCY = 20
# The first 1,000 cycles (500 of each) leave the server's RSS 7 to 10 MB
# higher, 4,000 cycles 9 MB: memory the allocator keeps for reuse, which
# levels off. So the baseline is taken after one whole round as warm-up,
# and the round measured after it must not grow the RSS by what a leak of
# 10 KB a cycle would (10 MB).
MEMORY_TOLERANCE_MB = 5.0

STREAM = """subscription($batchSize: Int, $live: Boolean, $filter: ProductFilter) {
  productStream(batchSize: $batchSize, live: $live, filter: $filter) {
    phase sequence snapshotComplete products { id sku name price discountedPrice category { name } }
  }
}"""


@pytest.fixture
def catalog(transactional_db: None) -> list[str]:
    """The global IDs of a catalog of a few thousand products, a few of which
    make the live streams that sit in their LIVE phase."""
    call_command("seed_products", count=CATALOG, seed=11, no_progress=True)
    return [to_base64("Product", pk) for pk in Product.objects.values_list("pk", flat=True)[:3]]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A pool of at least one connection, whose others close after half a
    second idle; its log goes to a file (one access line per subscription)."""
    settings = {"DB_POOL_MIN_SIZE": "1", "DB_POOL_MAX_SIZE": "8", "DB_POOL_MAX_IDLE": "0.5"}
    database_url = named_database_url(SERVER)
    with running_uvicorn(database_url, settings=settings, log=tmp_path / "server.log") as url:
        yield url


def variables(cycle: int, few: list[str]) -> dict[str, Any]:
    """Snapshots, live streams cancelled in their snapshot, and live streams
    cancelled in their LIVE phase (a filter of a few products), in turn."""
    kind = cycle % 3
    return {
        "batchSize": 10 + cycle % 41,
        "live": kind > 0,
        "filter": {"ids": few} if kind == 2 else None,
    }


async def first_results(client: GraphQLWebSocket, operation: str, how_many: int) -> None:
    """Receives ``how_many`` results of ``operation`` (or all, if fewer); the
    ends of operations cancelled before on this connection are skipped."""
    received = 0
    while received < how_many:
        message = await client.receive()
        if message.get("id") != operation:
            continue
        assert message["type"] in {"next", "data"}, message
        assert "errors" not in message["payload"], message
        received += 1
        if message["payload"]["data"]["productStream"]["snapshotComplete"]:
            return


async def cancelling(worker: int, cycles: range, few: list[str], base_url: str) -> None:
    """``cycles`` subscriptions on one connection, each cancelled after its
    first batch or two."""
    async with graphql_websocket(base_url, PROTOCOLS[worker % 2]) as client:
        for cycle in cycles:
            operation = await client.subscribe(STREAM, variables(cycle, few))
            await first_results(client, operation, 1 + cycle % 2)
            await client.unsubscribe(operation)


async def dropping(cycle: int, few: list[str], base_url: str) -> None:
    """A connection lost in the middle of a stream: no close frame, and every
    other time no FIN either (a reset, as when a client's host vanishes)."""
    async with graphql_websocket(base_url, PROTOCOLS[cycle % 2]) as client:
        operation = await client.subscribe(STREAM, variables(cycle, few))
        await first_results(client, operation, 1)
        transport = client.socket.transport
        if cycle % 2:
            linger_zero = struct.pack("ii", 1, 0)
            transport.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, linger_zero
            )
        transport.abort()


async def run_cycles(base_url: str, few: list[str], cycles: int) -> None:
    """``cycles`` cancellations and ``cycles`` drops, ``CONCURRENCY`` at a time."""
    per_worker = cycles // CONCURRENCY
    await asyncio.gather(
        *(
            cancelling(w, range(w * per_worker, (w + 1) * per_worker), few, base_url)
            for w in range(CONCURRENCY)
        )
    )
    drops = count()
    await asyncio.gather(*(drop_worker(drops, cycles, few, base_url) for _ in range(CONCURRENCY)))


async def drop_worker(drops: Iterator[int], cycles: int, few: list[str], base_url: str) -> None:
    while (cycle := next(drops)) < cycles:
        await dropping(cycle, few, base_url)


async def full_snapshot(base_url: str) -> int:
    async with graphql_websocket(base_url, PROTOCOLS[0]) as client:
        results = await client.collect(STREAM, {"batchSize": 500})
    assert all("errors" not in result for result in results), results
    return sum(len(r["data"]["productStream"]["products"]) for r in results)


async def test_cancelled_and_dropped_streams_leave_nothing_behind(server, catalog, tmp_path):
    pid = server_pid(server)
    await run_cycles(server, catalog, CYCLES)  # warm-up: threads, pool, caches, allocator
    baseline_connections = await asyncio.to_thread(settled, lambda: connections(SERVER), 1, 10)
    baseline = memory(pid)

    peak = baseline
    loop = asyncio.get_running_loop()
    started = loop.time()
    with sampled_connections(SERVER) as samples:
        cycles = asyncio.create_task(run_cycles(server, catalog, CYCLES))
        while not cycles.done():
            now = memory(pid)
            peak = Memory(max(peak.rss, now.rss), max(peak.anonymous, now.anonymous))
            await asyncio.sleep(0.05)
        await cycles
    duration = loop.time() - started

    after_connections = await asyncio.to_thread(
        settled, lambda: connections(SERVER), baseline_connections, 10
    )
    after_rss = await asyncio.to_thread(
        settled, lambda: memory(pid).rss, baseline.rss + MEMORY_TOLERANCE_MB, 10
    )
    after = memory(pid)
    print(
        f"\n{CYCLES} cancelled and {CYCLES} dropped streams in {duration:.1f} s"
        f"\nconnections: before {baseline_connections}, peak {max(samples)}, after {after_connections}"
        f"\nmemory: before {baseline}, peak {peak}, after {after}"
    )
    assert after_connections <= baseline_connections
    assert after_rss <= baseline.rss + MEMORY_TOLERANCE_MB
    assert await full_snapshot(server) == CATALOG
    # Clients that leave, politely or not, are no errors of the server's.
    assert "Traceback" not in (tmp_path / "server.log").read_text()
