"""Throughput: products per second from ``productStream`` to one websocket
client, at batch sizes 500 and 1, against a raw server-side cursor reading
the same rows just before, with the CPU the server and the client spend.

    DATABASE_URL=postgres://.../conveyor_bench python -m bench.streams.throughput [--quick]
        [--batch1-limit N] [--deflate]

The run and its databases are ``bench.streams.harness``'s; ``python -m
bench.streams`` runs this with the other scenarios.
"""

import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from bench.scenarios import progress
from bench.servers import cpu_seconds
from bench.stream_client import Streamed, StreamError, session, stream
from bench.streams import harness
from bench.streams.harness import BIG_PRODUCTS, COLUMNS, Bench, Options, Scenario, serving

RAW_QUERY = f"SELECT {', '.join(COLUMNS)} FROM products_product ORDER BY created_at, id"
RAW_FETCH = 2000

THROUGHPUT_GOAL = 0.10


def raw_read(url: str, limit: int | None) -> Streamed:
    """The baseline: a server-side (named) cursor over the same columns and order."""
    start = time.perf_counter()
    count = 0
    with psycopg.connect(url) as conn, conn.cursor(name="bench_raw") as cursor:
        cursor.itersize = RAW_FETCH
        if limit is None:
            cursor.execute(RAW_QUERY)
        else:
            cursor.execute(RAW_QUERY + " LIMIT %s", (limit,))
        while rows := cursor.fetchmany(RAW_FETCH):
            count += len(rows)
    return Streamed(count, 0, time.perf_counter() - start, completed=True)


@dataclass
class Tally:
    products: int = 0
    seconds: float = 0.0
    server_cpu: float = 0.0  # CPU seconds of the server process
    client_cpu: float = 0.0  # CPU seconds of this process

    def add(self, streamed: Streamed, server_cpu: float = 0.0, client_cpu: float = 0.0) -> None:
        self.products += streamed.products
        self.seconds += streamed.seconds
        self.server_cpu += server_cpu
        self.client_cpu += client_cpu

    @property
    def rate(self) -> float:
        return self.products / self.seconds


async def measure(bench: Bench, options: Options) -> list[str]:
    progress("measuring throughput…")
    big_url = bench.big_url
    cases = [(500, options.throughput_limit), (1, options.batch1_limit)]
    tallies = {size: (Tally(), Tally()) for size, _ in cases}  # (raw, websocket)
    async with serving(big_url) as server, session(server.ws_url, deflate=options.deflate) as ws:
        await stream(ws, 500, limit=10_000)  # warm-up
        await asyncio.to_thread(raw_read, big_url, 10_000)
        for round_ in range(options.throughput_rounds):
            for size, limit in cases:
                raw, websocket = tallies[size]
                raw_run = await asyncio.to_thread(raw_read, big_url, limit)
                raw.add(raw_run)
                server_cpu, client_cpu = cpu_seconds(server.pid), time.process_time()
                streamed = await stream(ws, size, limit=limit)
                server_cpu = cpu_seconds(server.pid) - server_cpu
                client_cpu = time.process_time() - client_cpu
                expected = limit if limit is not None else BIG_PRODUCTS
                if streamed.products < expected or (limit is None and not streamed.completed):
                    raise StreamError(f"streamed {streamed.products:,} of {expected:,} products")
                websocket.add(streamed, server_cpu, client_cpu)
                progress(
                    f"  throughput round {round_ + 1}, batchSize {size}: raw "
                    f"{raw_run.rate:,.0f}/s, websocket {streamed.rate:,.0f}/s "
                    f"({streamed.products:,} products in {streamed.seconds:.1f} s)"
                )
    lines = [
        "### Throughput",
        "",
        "| Stream | Products per run | Raw cursor | Websocket | Websocket / raw "
        "| Server CPU / wall | Client CPU / wall |",
        "|---|---|---|---|---|---|---|",
    ]
    for size, limit in cases:
        raw, websocket = tallies[size]
        scope = f"all {BIG_PRODUCTS:,}" if limit is None else f"first {limit:,} (limited)"
        lines.append(
            f"| batchSize {size} | {scope} | {raw.rate:,.0f} /s | {websocket.rate:,.0f} /s "
            f"| ×{websocket.rate / raw.rate:.3f} | {websocket.server_cpu / websocket.seconds:.0%} "
            f"| {websocket.client_cpu / websocket.seconds:.0%} |"
        )
    ratio = tallies[500][1].rate / tallies[500][0].rate
    limited = [size for size, limit in cases if limit is not None]
    lines += [
        "",
        f"Products per second to one websocket client that json-decodes every message "
        f"(permessage-deflate {'on' if options.deflate else 'off'}), against a psycopg 3 "
        f"server-side cursor over `{', '.join(COLUMNS)}` ordered by `created_at, id`, "
        f"fetchmany({RAW_FETCH}), run just before each stream over the same rows; "
        f"{options.throughput_rounds} round(s), totals over rounds. CPU / wall: CPU time of "
        "the server process and of the client (this process) during the websocket runs, "
        "over their wall time (two cores: 100% is one core busy). "
        + (
            f"Limited runs (batchSize {', '.join(map(str, limited))}) stop after that many "
            "products and unsubscribe; their raw baseline reads the same first rows (LIMIT). "
            if limited
            else ""
        )
        + f"Goal for batchSize 500: ≥ {THROUGHPUT_GOAL} — "
        f"{'met' if ratio >= THROUGHPUT_GOAL else 'missed'}.",
    ]
    return lines


SCENARIO = Scenario("throughput", measure, flags=("--batch1-limit",))


def main(argv: Sequence[str]) -> int:
    return harness.main(argv, [SCENARIO], "python -m bench.streams.throughput", __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
