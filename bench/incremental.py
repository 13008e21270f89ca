"""A page of 1,000 products over HTTP, streamed (``edges @stream(initialCount:
20)``, ``Accept: multipart/mixed``) against the same page sent whole (the
same document without ``@stream``), from a real uvicorn:

    DATABASE_URL=postgres://.../conveyor_incremental python -m bench.incremental

The database of ``DATABASE_URL`` is created, migrated and seeded with
5,000 products when missing or empty. The server allows pages of 1,000
(``CONNECTION_MAX_PAGE_SIZE``) so that the whole page can be asked for.
Each round asks for both, in turns; the client reads the streamed response
part by part as it arrives (tests.multipart_parts) and decodes each part, and
decodes the whole response too. Goals: the first 20 edges in ≤ ×0.1 of the
whole page's time, the last part in ≤ ×1.2 of it.
"""

import asyncio
import os
import statistics
import sys
import time
from dataclasses import dataclass

import httpx
import orjson

from bench import servers
from bench.databases import ensure_database
from bench.scenarios import progress
from tests.multipart_parts import merged, parts

PRODUCTS = 5_000
PAGE = 1_000
INITIAL = 20
WARMUP = 3
ROUNDS = 20
FIRST_GOAL = 0.1
TOTAL_GOAL = 1.2

NODE = "id sku name price discountPercent discountedPrice category { name }"


def page_query(streamed: bool) -> str:
    stream = f" @stream(initialCount: {INITIAL})" if streamed else ""
    return (
        f"query Page {{ products(first: {PAGE}) {{ totalCount"
        f" edges{stream} {{ cursor node {{ {NODE} }} }}"
        " pageInfo { hasNextPage endCursor } } }"
    )


@dataclass(frozen=True)
class Reading:
    first: float  # seconds to the first INITIAL edges
    total: float  # seconds to the whole page


def read_streamed(client: httpx.Client) -> Reading:
    body = {"query": page_query(streamed=True)}
    headers = {"Accept": "multipart/mixed;incrementalSpec=v0.2, application/json;q=0.9"}
    start = time.perf_counter()
    with client.stream("POST", "/graphql/", json=body, headers=headers) as response:
        received = list(parts(response))
    first_at, first = received[0]
    if len(first["data"]["products"]["edges"]) != INITIAL:
        raise RuntimeError(f"the first part is not the first {INITIAL} edges: {first}")
    if len(merged([payload for _, payload in received])["data"]["products"]["edges"]) != PAGE:
        raise RuntimeError("the streamed page is not whole")
    return Reading(first=first_at - start, total=received[-1][0] - start)


def read_whole(client: httpx.Client) -> Reading:
    body = {"query": page_query(streamed=False)}
    start = time.perf_counter()
    response = client.post("/graphql/", json=body, headers={"Accept": "application/json"})
    edges = orjson.loads(response.content)["data"]["products"]["edges"]
    elapsed = time.perf_counter() - start
    if len(edges) != PAGE:
        raise RuntimeError(f"{len(edges)} edges, not {PAGE}")
    return Reading(first=elapsed, total=elapsed)


def measure(base_url: str) -> tuple[list[Reading], list[Reading]]:
    streamed: list[Reading] = []
    whole: list[Reading] = []
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for round in range(-WARMUP, ROUNDS):
            # In turns, each first every other round.
            pair = (read_streamed, read_whole) if round % 2 else (read_whole, read_streamed)
            readings = {read: read(client) for read in pair}
            if round >= 0:
                streamed.append(readings[read_streamed])
                whole.append(readings[read_whole])
                progress(
                    f"round {round + 1}: streamed first {streamed[-1].first * 1000:.1f} ms, "
                    f"last {streamed[-1].total * 1000:.1f} ms; whole {whole[-1].total * 1000:.1f} ms"
                )
    return streamed, whole


def table(streamed: list[Reading], whole: list[Reading]) -> list[str]:
    baseline = statistics.median(r.total for r in whole)
    first = statistics.median(r.first for r in streamed)
    total = statistics.median(r.total for r in streamed)
    met_first, met_total = first / baseline <= FIRST_GOAL, total / baseline <= TOTAL_GOAL
    return [
        f"| `products(first: {PAGE})` over HTTP | first {INITIAL} edges | ratio "
        "| whole page | ratio |",
        "|---|---|---|---|---|",
        f"| sent whole, JSON (baseline) | {baseline * 1000:.1f} ms | ×1.00 "
        f"| {baseline * 1000:.1f} ms | ×1.00 |",
        f"| `edges @stream(initialCount: {INITIAL})`, multipart/mixed | {first * 1000:.1f} ms "
        f"| ×{first / baseline:.3f} | {total * 1000:.1f} ms | ×{total / baseline:.2f} |",
        "",
        f"{PRODUCTS:,} products; medians of {ROUNDS} rounds after {WARMUP} of warm-up, the two "
        "requests in turns. Goals: first edges ≤ "
        f"×{FIRST_GOAL} — {'met' if met_first else 'missed'}; whole page ≤ ×{TOTAL_GOAL} — "
        f"{'met' if met_total else 'missed'}.",
    ]


async def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        progress("Set DATABASE_URL to a PostgreSQL database (created when missing).")
        return 1
    await asyncio.to_thread(ensure_database, url, PRODUCTS)
    settings = {
        "DATABASE_URL": url,
        "ACCESS_LOG_LEVEL": "WARNING",
        "CONNECTION_MAX_PAGE_SIZE": str(PAGE),
    }
    async with servers.serving(settings) as server:
        streamed, whole = await asyncio.to_thread(measure, server.base_url)
    print("\n".join(table(streamed, whole)))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
