"""Subscriptions over HTTP against the websocket, in one run on one server:
products per second of one client streaming a whole snapshot (batchSize 500
and 100), and the time from asking to the first batch (batchSize 100), over
Server-Sent Events and multipart HTTP, each as a ratio to the websocket
(graphql-transport-ws). Goal: every ratio ≥ ×0.8 (for the first batch, the
websocket's time over the transport's, so that higher is better too).

    DATABASE_URL=postgres://USER@HOST/postgres python -m bench.streams.http_transports
        [--quick] [--products N] [--rounds N]

Runs on ``conveyor_bench_http`` (``--products`` products, default 50,000)
on DATABASE_URL's server, created and seeded when missing. Each client
decodes every message's JSON, as the websocket client of bench.stream_client
does. Progress goes to stderr, the Markdown table to stdout.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import AsyncGenerator, Sequence
from contextlib import AbstractAsyncContextManager, aclosing

import httpx

from bench import servers
from bench.databases import ensure_database, with_database
from bench.scenarios import progress
from bench.stream_client import STREAM_QUERY, Streamed, StreamError, first_batch_ms, session, stream
from bench.streams import harness

DATABASE = "conveyor_bench_http"
GOAL = 0.8
ACCEPT = {
    "sse": "text/event-stream",
    "multipart": "multipart/mixed;boundary=graphql;subscriptionSpec=1.0,application/json",
}
SSE_END = b"\n\n"
PART_END = b"\r\n--graphql"


async def results(response: httpx.Response) -> AsyncGenerator[dict[str, object], None]:
    """The results of an SSE or multipart response, heartbeats left out."""
    sse = response.headers["content-type"].startswith("text/event-stream")
    end = SSE_END if sse else PART_END
    buffer = b""
    async for chunk in response.aiter_raw():
        buffer += chunk
        start = 0
        while (at := buffer.find(end, start)) >= 0:
            frame, start = buffer[start:at], at + len(end)
            if sse:
                if frame.startswith(b"event: complete") or b"\nevent: complete" in frame:
                    return
                _, found, data = frame.rpartition(b"data: ")
                if found:
                    yield json.loads(data)
            elif frame:
                _, _, body = frame.partition(b"\r\n\r\n")
                message = json.loads(body)
                if message:
                    yield message["payload"]
        buffer = buffer[start:]
        if not sse and buffer.startswith(b"--"):
            return


def request(
    client: httpx.AsyncClient, transport: str, batch_size: int
) -> AbstractAsyncContextManager[httpx.Response]:
    body = {"query": STREAM_QUERY, "variables": {"b": batch_size}}
    return client.stream("POST", "/graphql/", json=body, headers={"Accept": ACCEPT[transport]})


def batch_of(result: dict[str, object]) -> dict[str, object]:
    data = result.get("data")
    if result.get("errors") or not isinstance(data, dict):
        raise StreamError(f"the stream failed: {json.dumps(result)[:500]}")
    batch: dict[str, object] = data["productStream"]
    return batch


async def http_stream(client: httpx.AsyncClient, transport: str, batch_size: int) -> Streamed:
    """One subscription read to its end, its batches checked as the websocket's are."""
    start = time.perf_counter()
    products = batches = 0
    async with (
        request(client, transport, batch_size) as response,
        aclosing(results(response)) as stream_,
    ):
        async for result in stream_:
            batch = batch_of(result)
            batches += 1
            if batch["sequence"] != batches:
                raise StreamError(f"batch {batches} came with sequence {batch['sequence']}")
            products += len(batch["products"])  # type: ignore[arg-type]
    return Streamed(products, batches, time.perf_counter() - start, completed=True)


async def http_first_batch_ms(client: httpx.AsyncClient, transport: str, batch_size: int) -> float:
    start = time.perf_counter()
    async with (
        request(client, transport, batch_size) as response,
        aclosing(results(response)) as stream_,
    ):
        batch = batch_of(await anext(stream_))
        elapsed = (time.perf_counter() - start) * 1000
    if len(batch["products"]) != batch_size:  # type: ignore[arg-type]
        raise StreamError("the first batch is not full")
    return elapsed


async def measure(url: str, products: int, rounds: int, first_batches: int) -> list[str]:
    transports = ("websocket", "sse", "multipart")
    sizes = (500, 100)
    rates: dict[tuple[str, int], list[float]] = {(t, s): [] for t in transports for s in sizes}
    # Products per CPU second of the server: what a transport costs it, which
    # other processes busy on the machine do not change as they do the clock.
    per_cpu: dict[tuple[str, int], list[float]] = {(t, s): [] for t in transports for s in sizes}
    firsts: dict[str, list[float]] = {t: [] for t in transports}
    # The bounds of the websocket benchmarks; an access line per stream would
    # cost the server what the websocket's connection does not pay.
    settings = {
        "DATABASE_URL": url,
        "STREAM_DB_READERS": str(harness.STREAM_DB_READERS),
        "DB_POOL_MIN_SIZE": str(harness.DB_POOL_MIN_SIZE),
        "DB_POOL_MAX_SIZE": str(harness.DB_POOL_MAX_SIZE),
        "ACCESS_LOG_LEVEL": "WARNING",
    }
    async with (
        servers.serving(settings) as server,
        session(server.ws_url) as ws,
        httpx.AsyncClient(base_url=server.base_url, timeout=60) as client,
    ):
        await stream(ws, 500, limit=10_000)  # warm-up: imports, the pool, the readers
        for transport in ("sse", "multipart"):
            await http_first_batch_ms(client, transport, 100)
        for round_ in range(rounds):
            for size in sizes:
                for transport in transports:  # interleaved: noise falls on each alike
                    cpu = server.cpu()
                    if transport == "websocket":
                        streamed = await stream(ws, size)
                    else:
                        streamed = await http_stream(client, transport, size)
                    if streamed.products != products:
                        raise StreamError(f"{transport} streamed {streamed.products} products")
                    rates[transport, size].append(streamed.rate)
                    per_cpu[transport, size].append(streamed.products / (server.cpu() - cpu))
                    progress(
                        f"  round {round_ + 1}, {transport}, batchSize {size}: "
                        f"{streamed.rate:,.0f} products/s"
                    )
        for _ in range(first_batches):
            for transport in transports:
                if transport == "websocket":
                    firsts[transport].append(await first_batch_ms(ws, 100))
                else:
                    firsts[transport].append(await http_first_batch_ms(client, transport, 100))
                    # As the websocket's unsubscribe waits for the server to
                    # fall quiet: the next measurement must not pay for this
                    # stream's end (its cancelled read giving its connection back).
                    await asyncio.sleep(0.1)
    median = {key: statistics.median(values) for key, values in rates.items()}
    cpu_median = {key: statistics.median(values) for key, values in per_cpu.items()}
    first = {key: statistics.median(values) for key, values in firsts.items()}
    lines = [
        f"### Subscriptions over HTTP against the websocket ({products:,} products, "
        f"{rounds} rounds, medians)",
        "",
        "| Transport | batchSize 500 | × websocket | batchSize 100 | × websocket "
        "| first batch (100) | × websocket |",
        "|---|---|---|---|---|---|---|",
    ]
    for transport in transports:
        cells = []
        for size in sizes:
            rate = median[transport, size]
            cells += [f"{rate:,.0f}/s", f"×{rate / median['websocket', size]:.2f}"]
        ms = first[transport]
        cells += [f"{ms:.1f} ms", f"×{first['websocket'] / ms:.2f}"]
        lines.append(f"| {transport} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Products per second of the server's CPU:",
        "",
        "| Transport | batchSize 500 | × websocket | batchSize 100 | × websocket |",
        "|---|---|---|---|---|",
    ]
    for transport in transports:
        cells = []
        for size in sizes:
            rate = cpu_median[transport, size]
            cells += [f"{rate:,.0f}", f"×{rate / cpu_median['websocket', size]:.2f}"]
        lines.append(f"| {transport} | " + " | ".join(cells) + " |")
    ratios = [
        median[t, s] / median["websocket", s] for t in ("sse", "multipart") for s in sizes
    ] + [first["websocket"] / first[t] for t in ("sse", "multipart")]
    verdict = "met" if min(ratios) >= GOAL else "missed"
    lines += ["", f"Goal every ratio ≥ ×{GOAL}: {verdict} (lowest ×{min(ratios):.2f})."]
    return lines


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.streams.http_transports")
    parser.add_argument("--quick", action="store_true", help="one round, fewer first batches")
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        progress("Set DATABASE_URL to a PostgreSQL server (any database on it).")
        return 1
    url = with_database(base, DATABASE)
    ensure_database(url, args.products)
    rounds, first_batches = (1, 5) if args.quick else (args.rounds, 20)
    lines = asyncio.run(measure(url, args.products, rounds, first_batches))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
