"""A page of 100 products with ``priceIn``: how many calls to the rates
service it makes, and its latency against the same page without it.

    DATABASE_URL=postgres://... python -m bench.price_in

A stand-in rates service runs on loopback (tests.rates_server, answering at
once), and a uvicorn process is pointed at it, twice: with
``EXCHANGE_RATES_TTL=0``, so that every page must fetch the rates, and with
the default TTL, so that pages find them cached. Pages with and without
``priceIn`` alternate, one request at a time, so that the machine's noise
falls on both alike. Progress goes to stderr; the Markdown table to stdout.
"""

import asyncio
import statistics
import sys
import time
from dataclasses import dataclass

import httpx

from bench import http_load, servers
from bench.scenarios import progress
from tests.rates_server import RatesServer

WARMUP = 10
PAGES = 200
CALLS_GOAL = 1

NODE = "id sku name discountedPrice"
PRICE_IN = 'priceIn(currency: "EUR") { amount currency }'


def page(node: str) -> dict[str, str]:
    return {"query": f"{{ products(first: 100) {{ edges {{ node {{ {node} }} }} }} }}"}


WITHOUT, WITH = page(NODE), page(f"{NODE} {PRICE_IN}")


@dataclass(frozen=True)
class Figures:
    label: str
    calls_per_page: float
    with_ms: float
    without_ms: float


async def post(client: httpx.AsyncClient, body: dict[str, str]) -> float:
    start = time.perf_counter()
    response = await client.post("/graphql/", json=body)
    elapsed = time.perf_counter() - start
    if response.status_code != 200 or b'"errors"' in response.content:
        raise RuntimeError(f"HTTP {response.status_code} {response.text[:300]}")
    return elapsed


async def measure(label: str, rates: RatesServer, ttl: str | None) -> Figures:
    settings = {**http_load.BENCH_SETTINGS, "EXCHANGE_RATES_URL": rates.url}
    if ttl is not None:
        settings["EXCHANGE_RATES_TTL"] = ttl
    async with (
        servers.serving(settings) as server,
        httpx.AsyncClient(base_url=server.base_url) as client,
    ):
        for _ in range(WARMUP):
            await post(client, WITHOUT)
            await post(client, WITH)
        calls_before = rates.calls
        with_times, without_times = [], []
        for _ in range(PAGES):
            without_times.append(await post(client, WITHOUT))
            with_times.append(await post(client, WITH))
        calls = rates.calls - calls_before
    figures = Figures(
        label,
        calls / PAGES,
        statistics.median(with_times) * 1000,
        statistics.median(without_times) * 1000,
    )
    progress(f"{label}: {figures}")
    return figures


def table(results: list[Figures]) -> list[str]:
    lines = [
        "| `products(first: 100)` | rates-service calls per page | latency with / without "
        "`priceIn` | with `priceIn` | without |",
        "|---|---|---|---|---|",
    ]
    for f in results:
        lines.append(
            f"| {f.label} | {f.calls_per_page:.2f} | ×{f.with_ms / f.without_ms:.2f} "
            f"| {f.with_ms:.1f} ms | {f.without_ms:.1f} ms |"
        )
    met = results[0].calls_per_page <= CALLS_GOAL
    lines += [
        "",
        f"Median of {PAGES} pages per side, alternating, one at a time, after {WARMUP} warm-ups. "
        f"Goal: at most {CALLS_GOAL} call per page with nothing cached — "
        f"{'met' if met else 'missed'}.",
    ]
    return lines


async def main() -> int:
    with RatesServer().running() as rates:
        results = [
            await measure("nothing cached (`EXCHANGE_RATES_TTL=0`)", rates, "0"),
            await measure("rates cached (default TTL)", rates, None),
        ]
    print("\n".join(table(results)))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
