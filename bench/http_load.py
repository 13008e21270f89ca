"""First pages over real HTTP: one uvicorn process serving both the project's
``/graphql/`` and the baseline's ``/stock-graphql/`` (bench.settings), loaded
in alternating rounds so that the machine's noise falls on both alike.

    DATABASE_URL=postgres://... python -m bench.http_load

prints the table alone; ``bench.connection_depth`` prints it after its own.
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from bench import servers

# One log line per request would load the client more than the server.
logging.getLogger("httpx").setLevel(logging.WARNING)

# The project with the stock baseline beside it (bench.urls).
BENCH_SETTINGS = {"DJANGO_SETTINGS_MODULE": "bench.settings"}
CONCURRENCY = 8
ROUNDS = 8
REQUESTS_PER_ROUND = 200
THROUGHPUT_GOAL = 1.0

NODE = "id sku name price discountPercent discountedPrice category { name }"
SELECTION = (
    f"edges {{ cursor node {{ {NODE} }} }} pageInfo {{ hasNextPage hasPreviousPage endCursor }}"
)


@dataclass(frozen=True)
class Target:
    label: str
    path: str
    field: str

    def body(self) -> dict[str, Any]:
        return {"query": f"{{ {self.field}(first: 20) {{ {SELECTION} }} }}"}


PROJECT = Target("Conveyor `products` (keyset)", "/graphql/", "products")
STOCK = Target("stock `DjangoListConnection` (offset)", "/stock-graphql/", "stockList")


@dataclass(frozen=True)
class Throughput:
    requests: int
    seconds: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


@asynccontextmanager
async def served() -> AsyncIterator[httpx.AsyncClient]:
    """A client of a fresh bench server, stopped on the way out."""
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with (
        servers.serving(BENCH_SETTINGS) as server,
        httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=60.0) as client,
    ):
        yield client


async def post_page(client: httpx.AsyncClient, target: Target) -> None:
    response = await client.post(target.path, json=target.body())
    # A fast error must not pass for throughput.
    if response.status_code != 200 or b'"errors"' in response.content:
        raise RuntimeError(f"{target.label}: HTTP {response.status_code} {response.text[:300]}")


async def fire(client: httpx.AsyncClient, target: Target, count: int) -> Throughput:
    """``count`` requests, ``CONCURRENCY`` at a time."""
    remaining = count

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await post_page(client, target)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return Throughput(count, time.perf_counter() - start)


async def compare() -> dict[Target, Throughput]:
    """Requests per second of each target over ``ROUNDS`` alternating rounds."""
    totals = {PROJECT: Throughput(0, 0.0), STOCK: Throughput(0, 0.0)}
    async with served() as client:
        for target in totals:  # warm-up: connections, caches, the pool
            await fire(client, target, REQUESTS_PER_ROUND // 4)
        for _ in range(ROUNDS):
            for target, total in totals.items():
                round_ = await fire(client, target, REQUESTS_PER_ROUND)
                totals[target] = Throughput(
                    total.requests + round_.requests, total.seconds + round_.seconds
                )
    return totals


def throughput_table(totals: dict[Target, Throughput]) -> list[str]:
    project, stock = totals[PROJECT], totals[STOCK]
    ratio = project.rps / stock.rps
    verdict = "met" if ratio >= THROUGHPUT_GOAL else "missed"
    return [
        f"| First page over HTTP | {PROJECT.label} / {STOCK.label} "
        f"| {PROJECT.label} | {STOCK.label} |",
        "|---|---|---|---|",
        f"| `first: 20`, {CONCURRENCY} concurrent | ×{ratio:.2f} "
        f"| {project.rps:.1f} req/s | {stock.rps:.1f} req/s |",
        "",
        f"{ROUNDS} alternating rounds of {REQUESTS_PER_ROUND} requests per "
        f"side, one uvicorn process. Goal: ≥ {THROUGHPUT_GOAL} — {verdict}.",
    ]


if __name__ == "__main__":
    print("\n".join(throughput_table(asyncio.run(compare()))))
