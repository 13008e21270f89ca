"""The compiled path (GRAPHQL_COMPILED) and worker processes, each against a
baseline measured in the same run, interleaved with it.

    DATABASE_URL=postgres://.../conveyor_bench python -m bench.compiled [--quick]
        [--section stream|page|profile|workers] [--stream-limit N]

- ``stream``: one websocket client, ``productStream`` with the six-field
  selection at batchSize 500 (the whole table, or ``--stream-limit``) and 1,
  from a server with the compiled path (auto) and one without (off), against
  a raw psycopg cursor over the same rows read just before.
- ``page``: ``products(first: 100)`` with ``category { name }``: p50 in
  process (``schema.execute``) and requests per second over HTTP, compiled,
  off, and stock strawberry-graphql-django's connection (bench.stock_schema).
- ``profile``: where a streamed product's microseconds go, in process.
- ``workers``: one server process against two (``WEB_CONCURRENCY``, which
  uvicorn reads): 8 and 200 concurrent streams of the 10,000-product
  database, and first pages over HTTP.

Progress goes to stderr; the Markdown tables to stdout.
"""

import argparse
import asyncio
import logging
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any

import django
import httpx
import orjson

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings")
django.setup()

from django.test import override_settings  # noqa: E402
from strawberry.types import ExecutionResult  # noqa: E402

from bench import cpu_shares, servers  # noqa: E402
from bench.databases import ensure_database, product_count, with_database  # noqa: E402
from bench.percentiles import percentile  # noqa: E402
from bench.scenarios import progress  # noqa: E402
from bench.stream_client import Streamed, StreamError, session, stream, warm_up  # noqa: E402
from bench.streams.throughput import raw_read  # noqa: E402

# One log line per request would load the client more than the server.
logging.getLogger("httpx").setLevel(logging.WARNING)

SMALL_DATABASE = "compiled_bench_10k"
SMALL_PRODUCTS = 10_000
SIX_FIELDS = "id sku name price discountedPrice stock"
NODE = "id sku name price discountPercent discountedPrice category { name }"
PAGE = f"{{ products(first: 100) {{ edges {{ cursor node {{ {NODE} }} }} }} }}"
STOCK_PAGE = f"{{ stockList(first: 100) {{ edges {{ cursor node {{ {NODE} }} }} }} }}"
BENCH_SETTINGS = {"DJANGO_SETTINGS_MODULE": "bench.settings"}
HTTP_CONCURRENCY = 8


def _ratio(value: float, baseline: float) -> str:
    return f"×{value / baseline:.3f}"


# Streams ---------------------------------------------------------------------


async def measure_stream(url: str, limit: int | None, batch1_limit: int, rounds: int) -> list[str]:
    progress("stream throughput, compiled against off…")
    cases = [(500, limit), (1, batch1_limit)]
    totals: dict[tuple[int, str], list[float]] = {}
    async with AsyncExitStack() as stack:
        sessions = {}
        for mode in ("auto", "off"):
            server = await stack.enter_async_context(
                servers.serving({"DATABASE_URL": url, "GRAPHQL_COMPILED": mode})
            )
            ws = await stack.enter_async_context(session(server.ws_url))
            await stream(ws, 500, limit=10_000)
            sessions[mode] = ws
        for round_ in range(rounds):
            for size, rows in cases:
                raw = await asyncio.to_thread(raw_read, url, rows)
                _add(totals, (size, "raw"), raw)
                for mode, ws in sessions.items():
                    streamed = await stream(ws, size, limit=rows)
                    if rows is not None and streamed.products < rows:
                        raise StreamError(f"streamed {streamed.products:,} of {rows:,}")
                    _add(totals, (size, mode), streamed)
                    progress(
                        f"  round {round_ + 1}, batchSize {size}, {mode}: "
                        f"{streamed.rate:,.0f}/s (raw {raw.rate:,.0f}/s)"
                    )
    lines = [
        "#### Stream throughput, one client",
        "",
        "| Stream | Products per run | Raw cursor | Compiled | Off | Compiled / raw "
        "| Off / raw | Compiled / off |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size, rows in cases:
        cursor, on, off = (_rate(totals[(size, mode)]) for mode in ("raw", "auto", "off"))
        scope = "all" if rows is None else f"first {rows:,}"
        lines.append(
            f"| batchSize {size} | {scope} | {cursor:,.0f} /s | {on:,.0f} /s | {off:,.0f} /s "
            f"| {_ratio(on, cursor)} | {_ratio(off, cursor)} | {_ratio(on, off)} |"
        )
    lines += [
        "",
        f"{rounds} round(s), totals over rounds; each round reads the raw cursor "
        "(psycopg, server-side, fetchmany(2000) of the six columns and created_at) and "
        "then streams from both servers, one after the other.",
    ]
    return lines


def _add(totals: dict[Any, list[float]], key: Any, streamed: Streamed) -> None:
    products, seconds = totals.setdefault(key, [0.0, 0.0])
    totals[key] = [products + streamed.products, seconds + streamed.seconds]


def _rate(total: list[float]) -> float:
    return total[0] / total[1]


# Pages -----------------------------------------------------------------------


async def in_process_ms(query: str, schema: Any) -> float:
    start = time.perf_counter()
    result = await schema.execute(query)
    elapsed = (time.perf_counter() - start) * 1000
    if result.errors:
        raise RuntimeError(result.errors)
    return elapsed


async def measure_page_in_process(repeat: int) -> list[str]:
    from api.schema import schema
    from bench.stock_schema import schema as stock_schema

    progress("first page in process…")
    contenders: dict[str, Callable[[], Awaitable[float]]] = {}

    async def compiled() -> float:
        with override_settings(GRAPHQL_COMPILED="auto"):
            return await in_process_ms(PAGE, schema)

    async def off() -> float:
        with override_settings(GRAPHQL_COMPILED="off"):
            return await in_process_ms(PAGE, schema)

    async def stock() -> float:
        return await in_process_ms(STOCK_PAGE, stock_schema)

    contenders = {"compiled": compiled, "off": off, "stock": stock}
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(3):
        for run in contenders.values():
            await run()
    for _ in range(repeat):
        for name, run in contenders.items():
            samples[name].append(await run())
    p50 = {name: statistics.median(values) for name, values in samples.items()}
    rps = {name: 1000 / statistics.mean(values) for name, values in samples.items()}
    return [
        "#### `products(first: 100)` with `category { name }`, in process",
        "",
        "| | p50 | p99 | Requests/s (one after another) | p50 / stock | Requests/s / stock |",
        "|---|---|---|---|---|---|",
        *(
            f"| {name} | {p50[name]:.2f} ms | {percentile(samples[name], 99):.2f} ms "
            f"| {rps[name]:,.0f} | {_ratio(p50[name], p50['stock'])} "
            f"| {_ratio(rps[name], rps['stock'])} |"
            for name in contenders
        ),
        "",
        f"`schema.execute`, {repeat} interleaved runs each after 3 warm-ups; stock: "
        "`DjangoListConnection` of bench.stock_schema over the same rows and selection.",
    ]


async def fire(
    client: httpx.AsyncClient, path: str, query: str, count: int, concurrency: int
) -> tuple[float, list[float]]:
    """Seconds for ``count`` requests, ``concurrency`` at a time, and each one's ms."""
    remaining = count
    latencies: list[float] = []

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            start = time.perf_counter()
            response = await client.post(path, json={"query": query})
            latencies.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200 or b'"errors"' in response.content:
                raise RuntimeError(f"HTTP {response.status_code} {response.text[:300]}")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, latencies


async def measure_page_http(url: str, rounds: int, per_round: int) -> list[str]:
    progress("first page over HTTP…")
    limits = httpx.Limits(max_connections=HTTP_CONCURRENCY)
    async with AsyncExitStack() as stack:
        clients = {}
        for mode in ("auto", "off"):
            server = await stack.enter_async_context(
                servers.serving({**BENCH_SETTINGS, "DATABASE_URL": url, "GRAPHQL_COMPILED": mode})
            )
            clients[mode] = await stack.enter_async_context(
                httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=60)
            )
        targets = {
            "compiled": (clients["auto"], "/graphql/", PAGE),
            "off": (clients["off"], "/graphql/", PAGE),
            "stock": (clients["auto"], "/stock-graphql/", STOCK_PAGE),
        }
        seconds = dict.fromkeys(targets, 0.0)
        latencies: dict[str, list[float]] = {name: [] for name in targets}
        for client, path, query in targets.values():
            await fire(client, path, query, per_round // 4, HTTP_CONCURRENCY)
        for _ in range(rounds):
            for name, (client, path, query) in targets.items():
                took, each = await fire(client, path, query, per_round, HTTP_CONCURRENCY)
                seconds[name] += took
                latencies[name] += each
    rps = {name: rounds * per_round / seconds[name] for name in targets}
    p50 = {name: statistics.median(values) for name, values in latencies.items()}
    return [
        "#### `products(first: 100)` with `category { name }`, over HTTP",
        "",
        "| | p50 | Requests/s | p50 / stock | Requests/s / stock |",
        "|---|---|---|---|---|",
        *(
            f"| {name} | {p50[name]:.2f} ms | {rps[name]:,.0f} "
            f"| {_ratio(p50[name], p50['stock'])} | {_ratio(rps[name], rps['stock'])} |"
            for name in targets
        ),
        "",
        f"{rounds} alternating rounds of {per_round} requests per side, {HTTP_CONCURRENCY} "
        "at a time; one uvicorn process per mode (bench.settings: compiled also serves the "
        "stock schema at /stock-graphql/).",
    ]


# Workers ---------------------------------------------------------------------


async def concurrent_streams(ws_url: str, clients: int) -> float:
    """Products per second of ``clients`` streams of the whole catalog at once."""
    async with AsyncExitStack() as stack:
        sockets = [await stack.enter_async_context(session(ws_url)) for _ in range(clients)]
        start = time.perf_counter()
        done = await asyncio.gather(*(stream(ws, 500, within=120) for ws in sockets))
        seconds = time.perf_counter() - start
    if any(streamed.products != SMALL_PRODUCTS for streamed in done):
        raise StreamError("a stream missed products")
    return clients * SMALL_PRODUCTS / seconds


async def measure_workers(url: str, rounds: int, per_round: int, many: int) -> list[str]:
    progress("one worker against two…")
    rates: dict[tuple[str, int], list[float]] = {}
    shares: dict[tuple[str, int], list[cpu_shares.Shares]] = {}
    async with AsyncExitStack() as stack:
        running = {}
        for workers in (1, 2):
            server = await stack.enter_async_context(
                servers.serving({"DATABASE_URL": url, "WEB_CONCURRENCY": str(workers)})
            )
            client = await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=server.base_url,
                    limits=httpx.Limits(max_connections=HTTP_CONCURRENCY * 2),
                    timeout=60,
                )
            )
            for _ in range(workers * 2):  # each process warmed up
                await warm_up(server.ws_url)
            await fire(client, "/graphql/", PAGE, per_round // 2, HTTP_CONCURRENCY * 2)
            running[workers] = (server, client)
        for round_ in range(rounds):
            for workers, (server, client) in running.items():
                for clients in (8, many):
                    before = cpu_shares.read(server.pid)
                    rate = await concurrent_streams(server.ws_url, clients)
                    key = (f"{clients} streams", workers)
                    shares.setdefault(key, []).append(
                        cpu_shares.between(before, cpu_shares.read(server.pid))
                    )
                    rates.setdefault(key, []).append(rate)
                    progress(f"  round {round_ + 1}, {workers} worker(s), {clients}: {rate:,.0f}/s")
                before = cpu_shares.read(server.pid)
                took, _ = await fire(client, "/graphql/", PAGE, per_round, HTTP_CONCURRENCY * 2)
                key = ("HTTP first pages", workers)
                shares.setdefault(key, []).append(
                    cpu_shares.between(before, cpu_shares.read(server.pid))
                )
                rates.setdefault(key, []).append(per_round / took)
    loads = ("8 streams", f"{many} streams", "HTTP first pages")
    lines = [
        "#### One worker process against two",
        "",
        "| Load | 1 worker | 2 workers | 2 / 1 |",
        "|---|---|---|---|",
    ]
    for load in loads:
        one, two = (statistics.mean(rates[(load, workers)]) for workers in (1, 2))
        unit = "req/s" if load.startswith("HTTP") else "products/s"
        lines.append(f"| {load} | {one:,.0f} {unit} | {two:,.0f} {unit} | {_ratio(two, one)} |")
    lines += [
        "",
        f"{rounds} round(s), means over rounds. Streams: that many websocket clients at once, "
        f"each streaming all {SMALL_PRODUCTS:,} products at batchSize 500 (six fields); "
        f"HTTP: {per_round} `products(first: 100)` pages, {HTTP_CONCURRENCY * 2} at a time. "
        "`WEB_CONCURRENCY` workers of one uvicorn, compiled path on (auto).",
        "",
        "#### Where the cores went meanwhile",
        "",
        "| Load | Workers | Server | Clients (this benchmark) | PostgreSQL | Other | "
        f"Machine (of {os.cpu_count()}) |",
        "|---|---|---|---|---|---|---|",
    ]
    for load in loads:
        for workers in (1, 2):
            measured = shares[(load, workers)]

            def mean(part: str, measured: list[cpu_shares.Shares] = measured) -> str:
                return f"{statistics.mean(getattr(each, part) for each in measured):.2f}"

            lines.append(
                f"| {load} | {workers} | {mean('server')} | {mean('clients')} "
                f"| {mean('postgres')} | {mean('rest')} | {mean('machine')} |"
            )
    cores = os.cpu_count() or 1
    ceilings = []
    for load in loads:
        used = statistics.mean(
            each.server + each.clients + each.postgres for each in shares[(load, 1)]
        )
        ceilings.append(f"{load} ×{cores / used:.2f}")
    lines += [
        "",
        "Cores busy on average during each run (CPU seconds per second, from /proc): the "
        "server's processes, this process, every PostgreSQL process, and the rest of the "
        "machine. The most two workers could give on this machine, were nothing else running "
        "and the CPU per product or page as with one (all cores divided by what the server, "
        f"the clients and PostgreSQL used with one worker): {', '.join(ceilings)}.",
    ]
    return lines


# Where a product's microseconds go -------------------------------------------

STREAM = f"subscription {{ productStream(batchSize: 500) {{ sequence cursor snapshotComplete products {{ {SIX_FIELDS} }} }} }}"


def _per_row_us(call: Callable[[], Any], rows: int, repeat: int = 3) -> float:
    best = min(_timed(call) for _ in range(repeat))
    return best / rows * 1e6


def _timed(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


async def _streamed_us(rows: int, mode: str) -> float:
    """µs a product of a whole in-process stream, each batch JSON-encoded."""
    from api.schema import schema

    with override_settings(GRAPHQL_COMPILED=mode):
        start = time.perf_counter()
        subscription = await schema.subscribe(STREAM)
        assert not isinstance(subscription, ExecutionResult), subscription.errors
        streamed = 0
        async for result in subscription:
            orjson.dumps(result.data)
            streamed += len(result.data["productStream"]["products"])  # type: ignore[index]
            if streamed >= rows:
                break
        await subscription.aclose()
        return (time.perf_counter() - start) / streamed * 1e6


async def measure_profile(rows: int) -> list[str]:
    from asgiref.sync import sync_to_async

    from api.graphql import compiled
    from api.paging import rows as tuple_rows
    from products.models import Product

    progress("where a product's microseconds go…")
    columns = ("id", "sku", "name", "price", "discounted_price", "stock", "created_at")
    queryset = Product.objects.order_by("created_at", "id")[:rows]

    def read_tuples() -> Any:
        return tuple_rows.read_tuples(queryset, columns)

    def read_tuples_django_loader() -> Any:
        return list(queryset.values_list(*columns))

    def read_models() -> Any:
        return list(queryset.only(*columns))

    read = {
        "tuples, psycopg's C timestamptz loader": await sync_to_async(_per_row_us)(
            read_tuples, rows
        ),
        "tuples, Django's timestamptz loader": await sync_to_async(_per_row_us)(
            read_tuples_django_loader, rows
        ),
        "model instances (`only()`)": await sync_to_async(_per_row_us)(read_models, rows),
    }
    on = await _streamed_us(rows, "auto")
    off = await _streamed_us(rows, "off")
    # The compiled function of the stream's selection, as the run above made it.
    tuples = await sync_to_async(read_tuples)()
    complete = next(
        function
        for (plan, layout), function in compiled.completers._tuples.items()
        if plan.type_name == "Product" and function is not None
    )
    completed = list(map(complete, tuples))
    complete_us = _per_row_us(lambda: list(map(complete, tuples)), rows)
    encode_us = _per_row_us(lambda: orjson.dumps(completed), rows)
    read_us = read["tuples, psycopg's C timestamptz loader"]
    rest = on - read_us - complete_us - encode_us
    lines = [
        "#### Where a streamed product's microseconds go (in process)",
        "",
        "| step | µs per product | share |",
        "|---|---|---|",
        f"| reading the row as a tuple (psycopg, C loaders, on the reader thread) | {read_us:.2f} | {read_us / on:.0%} |",
        f"| the compiled function: tuple → response dict | {complete_us:.2f} | {complete_us / on:.0%} |",
        f"| orjson encoding | {encode_us:.2f} | {encode_us / on:.0%} |",
        f"| the rest: graphql-core per batch (envelope, cursor, token), windows, turns | {rest:.2f} | {rest / on:.0%} |",
        f"| **whole stream, compiled** | **{on:.2f}** | 100% |",
        f"| whole stream, `GRAPHQL_COMPILED=off` | {off:.2f} | ×{off / on:.1f} |",
        "",
        "| reading one row as … | µs |",
        "|---|---|",
        *(f"| {name} | {us:.2f} |" for name, us in read.items()),
        "",
        f"In process, over the first {rows:,} products in `created_at` order: the stream is "
        "`schema.subscribe` of the six-field selection at batchSize 500, each batch encoded "
        "with orjson; the steps are timed alone over the same rows (best of 3).",
    ]
    return lines


# The run ---------------------------------------------------------------------


async def run(args: argparse.Namespace) -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        progress("Set DATABASE_URL to the PostgreSQL database of the benchmarks.")
        return 1
    count = product_count(url) or 0
    progress(f"{count:,} products")
    quick = args.quick
    sections = args.section or ["stream", "page", "profile", "workers"]
    out: list[str] = [f"Catalog: {count:,} products.", ""]
    if "stream" in sections:
        out += await measure_stream(
            url, args.stream_limit, 2_000 if quick else 20_000, 1 if quick else 2
        )
        out.append("")
    if "page" in sections:
        out += await measure_page_in_process(20 if quick else 60)
        out.append("")
        out += await measure_page_http(url, 2 if quick else 4, 100 if quick else 300)
        out.append("")
    if "profile" in sections:
        out += await measure_profile(20_000 if quick else 100_000)
        out.append("")
    if "workers" in sections:
        small = with_database(url, SMALL_DATABASE)
        ensure_database(small, SMALL_PRODUCTS)
        out += await measure_workers(small, 1 if quick else 2, 200 if quick else 600, 200)
    print("\n".join(out))
    return 0


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compiled", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer and shorter runs")
    parser.add_argument(
        "--section", action="append", choices=["stream", "page", "profile", "workers"]
    )
    parser.add_argument(
        "--stream-limit", type=int, default=None, help="products per batchSize 500 run (all)"
    )
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
