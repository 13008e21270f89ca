"""Concurrent streams: 200 clients streaming the 10,000-product catalog at
once, against one client alone before and after, and the PostgreSQL
connections the server holds meanwhile, the goal being that they stay within
the reader threads' bound.

    DATABASE_URL=postgres://.../conveyor_bench python -m bench.streams.concurrency [--quick]
        [--clients N] [--deflate]

The run and its databases are ``bench.streams.harness``'s; ``python -m
bench.streams`` runs this with the other scenarios.
"""

import asyncio
import itertools
import statistics
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass

import psycopg

from bench.databases import database_name, with_database
from bench.scenarios import progress
from bench.servers import Server
from bench.stream_client import Streamed, StreamError, session, stream, warm_up
from bench.streams import harness
from bench.streams.harness import (
    DB_POOL_MAX_SIZE,
    DB_POOL_MIN_SIZE,
    SMALL_DATABASE,
    SMALL_PRODUCTS,
    STREAM_DB_READERS,
    Bench,
    Options,
    Scenario,
    serving,
)

SINGLES = 3  # single-client baseline runs before, and again after, the concurrent one


async def measure(bench: Bench, options: Options) -> list[str]:
    progress(f"measuring {options.clients} concurrent streams…")
    small_url = bench.small_url
    async with serving(small_url) as server:
        with sampling(small_url) as sampler:
            await asyncio.sleep(0.5)
            idle = max((count for _, count in sampler.samples), default=0)
            await warm_up(server.ws_url, deflate=options.deflate)
            # The baseline alone before and after the concurrent run.
            singles = [await single_client(server, sampler, options) for _ in range(SINGLES)]
            concurrent = await many_clients(server, sampler, options)
            progress(
                f"  {concurrent.label}: {concurrent.seconds:.1f} s, {concurrent.rate:,.0f} products/s"
            )
            singles += [await single_client(server, sampler, options) for _ in range(SINGLES)]
            intervals = [b[0] - a[0] for a, b in itertools.pairwise(sampler.samples)]
    single_rate = sum(p.products for p in singles) / sum(p.seconds for p in singles)
    peak_single = max(max(p.connections, default=0) for p in singles)
    peak = max(concurrent.connections, default=0)
    bound = max(STREAM_DB_READERS, DB_POOL_MIN_SIZE)
    lines = [
        "### Concurrent streams",
        "",
        "| Clients (10,000 products each, batchSize 500) | Wall time | Products/s | "
        "Ratio to 1 client | Peak PostgreSQL connections |",
        "|---|---|---|---|---|",
        f"| 1 alone ({len(singles)} runs, half before and half after) "
        f"| {statistics.mean(p.seconds for p in singles):.2f} s | {single_rate:,.0f} "
        f"| ×1.00 | {peak_single} |",
        f"| {concurrent.clients} at once | {concurrent.seconds:.2f} s | {concurrent.rate:,.0f} "
        f"| ×{concurrent.rate / single_rate:.2f} | {peak} |",
        "",
        f"All {concurrent.clients} clients got exactly {SMALL_PRODUCTS:,} products and "
        "`complete`. Connections: `pg_stat_activity` client backends of "
        f"`{SMALL_DATABASE}`, sampled every {sampler.interval * 1000:.0f} ms from the "
        f"`postgres` database ({len(concurrent.connections)} samples during the concurrent "
        f"run, median interval {statistics.median(intervals) * 1000:.0f} ms); {idle} open "
        f"after startup, before any stream (pool min size {DB_POOL_MIN_SIZE}, max size "
        f"{DB_POOL_MAX_SIZE}). Bound: STREAM_DB_READERS={STREAM_DB_READERS} reader threads "
        f"(pool min size stays open) — peak {peak} "
        f"{'≤' if peak <= bound else '>'} {bound}: {'met' if peak <= bound else 'missed'}.",
    ]
    return lines


class ConnectionSampler:
    """Counts the client connections PostgreSQL holds to one database, every
    ``interval`` seconds, on a thread of its own. It connects to the
    ``postgres`` maintenance database, so its own connection is not counted."""

    def __init__(self, url: str, interval: float = 0.02) -> None:
        self.admin_url = with_database(url, "postgres")
        self.database = database_name(url)
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-sampler", daemon=True)
        self._connected = threading.Event()
        self._failure: BaseException | None = None

    def _run(self) -> None:
        try:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                self._connected.set()
                while not self._stop.is_set():
                    row = conn.execute(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = %s AND backend_type = 'client backend'",
                        (self.database,),
                    ).fetchone()
                    self.samples.append((time.perf_counter(), int(row[0]) if row else 0))
                    self._stop.wait(self.interval)
        except BaseException as error:  # reported by stop()
            self._failure = error
            self._connected.set()

    def start(self) -> None:
        self._thread.start()
        self._connected.wait(30)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        if self._failure is not None:
            raise RuntimeError("the connection sampler failed") from self._failure

    def window(self, start: float, end: float) -> list[int]:
        return [count for at, count in self.samples if start <= at <= end]


@contextmanager
def sampling(url: str) -> Iterator[ConnectionSampler]:
    sampler = ConnectionSampler(url)
    sampler.start()
    try:
        yield sampler
    finally:
        sampler.stop()


@dataclass(frozen=True)
class Phase:
    label: str
    clients: int
    products: int
    seconds: float
    connections: list[int]

    @property
    def rate(self) -> float:
        return self.products / self.seconds


async def single_client(server: Server, sampler: ConnectionSampler, options: Options) -> Phase:
    async with session(server.ws_url, deflate=options.deflate) as ws:
        start = time.perf_counter()
        streamed = await stream(ws, 500)
        end = time.perf_counter()
    if streamed.products != SMALL_PRODUCTS or not streamed.completed:
        raise StreamError(f"one client got {streamed.products:,} of {SMALL_PRODUCTS:,}")
    return Phase(
        "1 client alone", 1, streamed.products, streamed.seconds, sampler.window(start, end)
    )


async def many_clients(server: Server, sampler: ConnectionSampler, options: Options) -> Phase:
    async with AsyncExitStack() as stack:
        # Every websocket open and acknowledged first; then all subscribe at once.
        sockets = await asyncio.gather(
            *(
                stack.enter_async_context(session(server.ws_url, deflate=options.deflate))
                for _ in range(options.clients)
            )
        )
        start = time.perf_counter()
        results = await asyncio.gather(*(stream(ws, 500) for ws in sockets), return_exceptions=True)
        end = time.perf_counter()
    failures = [result for result in results if isinstance(result, BaseException)]
    done = [
        result
        for result in results
        if isinstance(result, Streamed) and result.products == SMALL_PRODUCTS and result.completed
    ]
    if failures or len(done) != options.clients:
        first = f"; first failure: {failures[0]!r}" if failures else ""
        raise StreamError(
            f"{len(done)} of {options.clients} clients got all {SMALL_PRODUCTS:,} products "
            f"and `complete`{first}"
        )
    products = sum(result.products for result in done)
    return Phase(
        f"{options.clients} clients at once",
        options.clients,
        products,
        end - start,
        sampler.window(start, end),
    )


SCENARIO = Scenario("concurrency", measure, flags=("--clients",))


def main(argv: Sequence[str]) -> int:
    return harness.main(argv, [SCENARIO], "python -m bench.streams.concurrency", __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
