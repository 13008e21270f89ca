"""What cost analysis and rate limiting cost: a first page over HTTP and a
stream over a websocket, each switch on and off, as ratios to both off.

One uvicorn process per combination of ``GRAPHQL_COST_ANALYSIS`` and
``RATE_LIMITING`` (the latter with its bucket in Redis, and in the process),
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

PRODUCTS = 10_000
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
    stream_rates: list[float] = field(default_factory=list)
    base_url: str = ""
    ws_url: str = ""


def contenders(redis_url: str) -> list[Contender]:
    def switches(cost: bool, limiting: bool, store: str = "") -> dict[str, str]:
        return {
            "GRAPHQL_COST_ANALYSIS": str(cost).lower(),
            "RATE_LIMITING": str(limiting).lower(),
            "REDIS_URL": store,
            **UNLIMITED,
        }

    made = [
        Contender("both off (baseline)", switches(False, False)),
        Contender("cost analysis on", switches(True, False)),
        Contender("cost analysis and rate limiting (in the process)", switches(True, True)),
    ]
    if redis_url:
        made += [
            Contender("rate limiting on, Redis", switches(False, True, redis_url)),
            Contender("cost analysis and rate limiting (Redis)", switches(True, True, redis_url)),
        ]
    return made


async def page_round(client: httpx.AsyncClient, contender: Contender) -> None:
    started = time.perf_counter()
    for _ in range(REQUESTS_PER_ROUND):
        response = await client.post(f"{contender.base_url}/graphql/", json=PAGE)
        if response.status_code != 200 or b'"errors"' in response.content:
            raise RuntimeError(f"{contender.label}: {response.status_code} {response.text[:300]}")
    contender.page_ms.append((time.perf_counter() - started) * 1000 / REQUESTS_PER_ROUND)


async def stream_round(contender: Contender) -> None:
    async with session(contender.ws_url) as ws:
        streamed = await stream(ws, STREAM_BATCH)
    if streamed.products != PRODUCTS:
        raise RuntimeError(f"{contender.label}: streamed {streamed.products} products")
    contender.stream_rates.append(streamed.rate)


def table(measured: list[Contender]) -> list[str]:
    base = measured[0]
    base_page = statistics.median(base.page_ms)
    base_rate = statistics.median(base.stream_rates)
    lines = [
        "| switches | first page, ms (median) | × both off | stream, products/s | "
        "× both off (time) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for contender in measured:
        page = statistics.median(contender.page_ms)
        rate = statistics.median(contender.stream_rates)
        lines.append(
            f"| {contender.label} | {page:.2f} | ×{page / base_page:.3f} | {rate:,.0f} | "
            f"×{base_rate / rate:.3f} |"
        )
    return [
        *lines,
        "",
        f"`products(first: 20)` with `category {{ name }}`, {REQUESTS_PER_ROUND} requests one "
        f"after another per round; a {PRODUCTS:,}-product `productStream(batchSize: "
        f"{STREAM_BATCH})` (six fields) per round; median of {ROUNDS} alternating rounds. "
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
    database = databases.with_database(url, "conveyor_bench_limits")
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
            contender.base_url, contender.ws_url = server.base_url, server.ws_url
            await warm_up(contender.ws_url)
        async with httpx.AsyncClient(timeout=60.0) as client:
            for contender in measured:
                await page_round(client, contender)  # warm-up
                contender.page_ms.clear()
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
