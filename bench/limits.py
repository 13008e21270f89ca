"""What cost analysis and rate limiting cost: a first page over HTTP and a
stream over a websocket, each switch on and off, as ratios to both off.

One uvicorn process per combination of ``GRAPHQL_COST_ANALYSIS`` and
``RATE_LIMITING`` (the latter with its buckets in the process, the database
and Redis),
all running at once on the same catalog and measured in alternating rounds,
so that the machine's noise falls on all alike. Buckets are made too large to
refuse anything: what is measured is the spending, not the waiting.

    DATABASE_URL=postgres://... REDIS_URL=redis://127.0.0.1:6379/0 python -m bench.limits
"""

import asyncio
import os
import statistics
import sys
import time
from dataclasses import dataclass, field

import httpx

from bench import databases, servers
from bench.scenarios import progress
from bench.stream_client import session, stream, warm_up

PRODUCTS = 50_000
ROUNDS = 7
REQUESTS_PER_ROUND = 100
STREAM_BATCH = 100
GOAL = 1.05

PAGE = {
    "query": "query FirstPage { products(first: 20) { edges { cursor node { id sku name price "
    "discountedPrice category { name } } } pageInfo { hasNextPage endCursor } } }"
}
UNLIMITED = {"RATE_LIMIT_CAPACITY": "1e15", "RATE_LIMIT_REFILL_PER_SECOND": "1e12"}


@dataclass
class Contender:
    label: str
    settings: dict[str, str]
    page_ms: list[float] = field(default_factory=list)
    page_cpu_ms: list[float] = field(default_factory=list)
    stream_rates: list[float] = field(default_factory=list)
    stream_cpu_us: list[float] = field(default_factory=list)  # a product
    server: servers.Server | None = None

    def cpu(self) -> float:
        assert self.server is not None
        return self.server.cpu()


def contenders(redis_url: str) -> list[Contender]:
    def switches(cost: bool, limiting: bool, store: str = "memory") -> dict[str, str]:
        return {
            "GRAPHQL_COST_ANALYSIS": str(cost).lower(),
            "RATE_LIMITING": str(limiting).lower(),
            "RATE_LIMIT_STORE": store,
            "REDIS_URL": redis_url if store == "redis" else "",
            **UNLIMITED,
        }

    made = [
        Contender("both off (baseline)", switches(False, False)),
        Contender("cost analysis on", switches(True, False)),
        Contender("cost analysis and rate limiting (in the process)", switches(True, True)),
        Contender("rate limiting on, database", switches(False, True, "database")),
        Contender("cost analysis and rate limiting (database)", switches(True, True, "database")),
    ]
    if redis_url:
        made += [
            Contender("rate limiting on, Redis", switches(False, True, "redis")),
            Contender("cost analysis and rate limiting (Redis)", switches(True, True, "redis")),
        ]
    return made


async def page_round(client: httpx.AsyncClient, contender: Contender) -> None:
    assert contender.server is not None
    url = f"{contender.server.base_url}/graphql/"
    cpu, started = contender.cpu(), time.perf_counter()
    for _ in range(REQUESTS_PER_ROUND):
        response = await client.post(url, json=PAGE)
        if response.status_code != 200 or b'"errors"' in response.content:
            raise RuntimeError(f"{contender.label}: {response.status_code} {response.text[:300]}")
    contender.page_ms.append((time.perf_counter() - started) * 1000 / REQUESTS_PER_ROUND)
    contender.page_cpu_ms.append((contender.cpu() - cpu) * 1000 / REQUESTS_PER_ROUND)


async def stream_round(contender: Contender) -> None:
    assert contender.server is not None
    cpu = contender.cpu()
    async with session(contender.server.ws_url) as ws:
        streamed = await stream(ws, STREAM_BATCH)
    if streamed.products != PRODUCTS:
        raise RuntimeError(f"{contender.label}: streamed {streamed.products} products")
    contender.stream_rates.append(streamed.rate)
    contender.stream_cpu_us.append((contender.cpu() - cpu) * 1e6 / PRODUCTS)


def table(measured: list[Contender]) -> list[str]:
    base = measured[0]
    med = statistics.median
    lines = [
        "| switches | first page: ms | × | server CPU ms | × | stream: products/s | "
        "× (time) | server CPU µs a product | × |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in measured:
        lines.append(
            f"| {c.label} | {med(c.page_ms):.2f} | ×{med(c.page_ms) / med(base.page_ms):.3f} "
            f"| {med(c.page_cpu_ms):.2f} | ×{med(c.page_cpu_ms) / med(base.page_cpu_ms):.3f} "
            f"| {med(c.stream_rates):,.0f} "
            f"| ×{med(base.stream_rates) / med(c.stream_rates):.3f} "
            f"| {med(c.stream_cpu_us):.1f} "
            f"| ×{med(c.stream_cpu_us) / med(base.stream_cpu_us):.3f} |"
        )
    return [
        *lines,
        "",
        f"`products(first: 20)` with `category {{ name }}`, {REQUESTS_PER_ROUND} requests one "
        f"after another per round; a {PRODUCTS:,}-product `productStream(batchSize: "
        f"{STREAM_BATCH})` (six fields) per round; medians of {ROUNDS} alternating rounds; "
        "server CPU from /proc (user + system). "
        f"Goal: everything on ≤ ×{GOAL} of everything off.",
    ]


async def ready(server: servers.Server, attempts: int = 5) -> None:
    """Waits for a server as long as a machine busy with several starting takes."""
    for attempt in range(attempts):
        try:
            return await servers.wait_until_ready(server.process, server.base_url)
        except RuntimeError:
            if attempt == attempts - 1 or server.process.poll() is not None:
                raise


async def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("set DATABASE_URL to a PostgreSQL server (a database of its own is made)")
    database = databases.with_database(url, "conveyor_bench_limits_50k")
    databases.ensure_database(database, PRODUCTS)
    measured = contenders(os.environ.get("REDIS_URL", ""))
    # Started together: on a busy machine one after another takes minutes.
    started = [
        servers.Server(servers.start(port, {**c.settings, "DATABASE_URL": database}), port)
        for c, port in ((c, servers.free_port()) for c in measured)
    ]
    try:
        await asyncio.gather(*map(ready, started))
        for contender, server in zip(measured, started, strict=True):
            contender.server = server
            await warm_up(server.ws_url)
        async with httpx.AsyncClient(timeout=60.0) as client:
            for contender in measured:
                await page_round(client, contender)  # warm-up
                contender.page_ms.clear()
                contender.page_cpu_ms.clear()
            for round_ in range(ROUNDS):
                progress(f"round {round_ + 1}/{ROUNDS}")
                # Each round in another order, so that no contender always goes first.
                shift = round_ % len(measured)
                for contender in measured[shift:] + measured[:shift]:
                    await page_round(client, contender)
                    await stream_round(contender)
    finally:
        for server in started:
            servers.stop(server.process)
    print("\n".join(table(measured)))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
