"""``productStream`` over real websockets: time to the first batch, throughput
against a raw server-side cursor, the server's peak memory, and many streams
at once.

    DATABASE_URL=postgres://.../conveyor_bench python -m bench.streams [--quick] [--section ...]

Needs the million-product database of docs/benchmarks.md; creates, migrates
and seeds ``conveyor_bench_10k`` (10,000 products) beside it when missing.
Every server is a fresh uvicorn process on the project's own settings
(``api.settings``). Figures are ratios against a baseline measured in the
same run. Progress goes to stderr; the Markdown tables of results to stdout.
"""

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from bench import servers
from bench.servers import Server, cpu_seconds
from bench.stream_client import Streamed, StreamError, first_batch_ms, session, stream, warm_up

ROOT = Path(__file__).resolve().parent.parent
BIG_PRODUCTS = 1_000_000
SMALL_PRODUCTS = 10_000
SMALL_DATABASE = "conveyor_bench_10k"

# The server's bounds, passed to every server explicitly so that the figures
# printed beside the measurements are the ones in force (defaults: api.settings).
STREAM_DB_READERS = int(os.environ.get("STREAM_DB_READERS", "4"))
DB_POOL_MIN_SIZE = int(os.environ.get("DB_POOL_MIN_SIZE", "2"))
DB_POOL_MAX_SIZE = int(os.environ.get("DB_POOL_MAX_SIZE", "10"))

# The same columns for the raw cursor and the naive ORM load; created_at is the order.
COLUMNS = ("id", "sku", "name", "price", "discounted_price", "stock", "created_at")
RAW_QUERY = f"SELECT {', '.join(COLUMNS)} FROM products_product ORDER BY created_at, id"
RAW_FETCH = 2000

TTFB_GOAL_MS = 50.0
TTFB_RATIO_GOAL = 1.5
THROUGHPUT_GOAL = 0.10
MEMORY_GOAL_MB = 50.0

SINGLES = 3  # single-client baseline runs before, and again after, the concurrent one

SECTIONS = ("ttfb", "throughput", "memory", "concurrency")


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Options:
    sections: tuple[str, ...]
    ttfb_runs: int
    ttfb_warmups: int
    throughput_rounds: int
    throughput_limit: int | None  # None: the whole table at batchSize 500
    batch1_limit: int
    clients: int
    deflate: bool

    @classmethod
    def parse(cls, argv: Sequence[str]) -> "Options":
        parser = argparse.ArgumentParser(prog="python -m bench.streams", description=__doc__)
        parser.add_argument("--quick", action="store_true", help="fewer runs, shorter streams")
        parser.add_argument(
            "--section",
            action="append",
            choices=SECTIONS,
            help="run only this section (repeatable; default: all)",
        )
        parser.add_argument("--clients", type=int, help="concurrent clients (default 200)")
        parser.add_argument(
            "--batch1-limit", type=int, help="products streamed at batchSize 1 (default 100,000)"
        )
        parser.add_argument(
            "--deflate",
            action="store_true",
            help="let the client offer permessage-deflate, as browsers do (default: off)",
        )
        args = parser.parse_args(argv)
        quick: bool = args.quick
        return cls(
            sections=tuple(args.section or SECTIONS),
            ttfb_runs=5 if quick else 20,
            ttfb_warmups=1 if quick else 3,
            throughput_rounds=1 if quick else 2,
            throughput_limit=200_000 if quick else None,
            batch1_limit=args.batch1_limit or (10_000 if quick else 100_000),
            clients=args.clients or (50 if quick else 200),
            deflate=args.deflate,
        )


# Databases -------------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def product_count(url: str) -> int | None:
    """Products in the database at ``url``; None when it is not migrated."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT to_regclass('products_product') IS NOT NULL").fetchone()
        if row is None or not row[0]:
            return None
        counted = conn.execute("SELECT count(*) FROM products_product").fetchone()
        return int(counted[0]) if counted else 0


def manage(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "api.settings"}
    command = [sys.executable, "manage.py", *args]
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=sys.stderr, timeout=1800)


def ensure_database(url: str, products: int) -> None:
    """Creates, migrates and seeds (``products`` products, ``--seed 1``) the
    database of ``url`` when missing or empty; exits when it holds another
    number of products, which no figure could be compared with."""
    name = database_name(url)
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found is None:
            progress(f"creating {name}…")
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    count = product_count(url)
    if count is None:
        progress(f"migrating {name}…")
        manage(url, "migrate", "--noinput")
        count = 0
    if count == 0:
        progress(f"seeding {name} with {products:,} products…")
        manage(url, "seed_products", "--count", str(products), "--seed", "1", "--no-progress")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        count = product_count(url)
    if count != products:
        raise SystemExit(
            f"{name} holds {count} products, not {products:,}; drop it "
            f"(dropdb -h HOST -U USER {name}) and run again to recreate it."
        )


def ensure_small_database(big_url: str) -> str:
    """The URL of the 10,000-product database, created and seeded if missing."""
    url = with_database(big_url, SMALL_DATABASE)
    ensure_database(url, SMALL_PRODUCTS)
    return url


# Servers ---------------------------------------------------------------------


def serving(database_url: str) -> AbstractAsyncContextManager[Server]:
    """A fresh server on ``database_url`` with the bounds printed beside the figures."""
    return servers.serving(
        {
            "DATABASE_URL": database_url,
            "STREAM_DB_READERS": str(STREAM_DB_READERS),
            "DB_POOL_MIN_SIZE": str(DB_POOL_MIN_SIZE),
            "DB_POOL_MAX_SIZE": str(DB_POOL_MAX_SIZE),
        }
    )


# 1. Time to first batch ------------------------------------------------------


@dataclass(frozen=True)
class FirstBatch:
    label: str
    products: int
    batch_size: int
    ms: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.ms)


async def measure_ttfb(small_url: str, big_url: str, options: Options) -> list[str]:
    databases = [(small_url, SMALL_PRODUCTS), (big_url, BIG_PRODUCTS)]
    batch_sizes = (100, 500)
    async with AsyncExitStack() as stack:
        running = [await stack.enter_async_context(serving(url)) for url, _ in databases]
        sockets = [
            await stack.enter_async_context(session(server.ws_url, deflate=options.deflate))
            for server in running
        ]
        cells = {
            (products, size): FirstBatch(f"{products:,}", products, size)
            for _, products in databases
            for size in batch_sizes
        }
        plan = [
            (ws, cells[products, size])
            for ws, (_, products) in zip(sockets, databases, strict=True)
            for size in batch_sizes
        ]
        for _ in range(options.ttfb_warmups):
            for ws, cell in plan:
                await first_batch_ms(ws, cell.batch_size)
        for run in range(options.ttfb_runs):
            for ws, cell in plan:  # interleaved: noise falls on every cell alike
                cell.ms.append(await first_batch_ms(ws, cell.batch_size))
            if (run + 1) % 5 == 0:
                progress(f"  first batch: {run + 1}/{options.ttfb_runs} runs")
    lines = [
        "| Products | " + " | ".join(f"batchSize {size}" for size in batch_sizes) + " |",
        "|---" * (len(batch_sizes) + 1) + "|",
    ]
    for _, products in databases:
        row = [f"{cells[products, size].median:.1f} ms" for size in batch_sizes]
        lines.append(f"| {products:,} | " + " | ".join(row) + " |")
    ratios = [
        cells[BIG_PRODUCTS, size].median / cells[SMALL_PRODUCTS, size].median
        for size in batch_sizes
    ]
    lines.append("| 1,000,000 / 10,000 | " + " | ".join(f"×{r:.2f}" for r in ratios) + " |")
    big = [cells[BIG_PRODUCTS, size].median for size in batch_sizes]
    ms_met = all(ms <= TTFB_GOAL_MS for ms in big)
    ratio_met = all(ratio <= TTFB_RATIO_GOAL for ratio in ratios)
    lines += [
        "",
        f"From `subscribe` to the first `next` on an open websocket (connection_ack received), "
        f"median of {options.ttfb_runs} interleaved runs after {options.ttfb_warmups} warm-up(s), "
        "one fresh uvicorn per database. "
        f"Goals: ≤ {TTFB_GOAL_MS:.0f} ms at 1,000,000 — {'met' if ms_met else 'missed'}; "
        f"1,000,000 / 10,000 ≤ {TTFB_RATIO_GOAL} — {'met' if ratio_met else 'missed'}.",
    ]
    return lines


# 2. Throughput ---------------------------------------------------------------


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


async def measure_throughput(big_url: str, options: Options) -> list[str]:
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


# 3. Peak memory --------------------------------------------------------------


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM (peak RSS) and the other kB figures of /proc/<pid>/status."""
    figures: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if value.strip().endswith(" kB"):
            figures[name] = int(value.split()[0])
    return figures


def reset_peak(pid: int) -> bool:
    """Resets VmHWM to the current RSS (Linux ≥ 4.0); False when not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Growth:
    label: str
    products: int
    baseline_kb: int  # VmRSS after startup and warm-up
    peak_kb: int  # VmHWM after the load
    peak_reset: bool
    seconds: float

    @property
    def growth_mb(self) -> float:
        return (self.peak_kb - self.baseline_kb) / 1024


async def server_growth(url: str, products: int, options: Options) -> Growth:
    async with serving(url) as server:
        await warm_up(server.ws_url, deflate=options.deflate)
        await asyncio.sleep(0.5)
        baseline = memory_kb(server.pid)["VmRSS"]
        reset = reset_peak(server.pid)
        async with session(server.ws_url, deflate=options.deflate) as ws:
            streamed = await stream(ws, 500)
        if streamed.products != products or not streamed.completed:
            raise StreamError(f"streamed {streamed.products:,} of {products:,} products")
        peak = memory_kb(server.pid)["VmHWM"]
    return Growth(
        "`productStream`, batchSize 500", products, baseline, peak, reset, streamed.seconds
    )


def naive_child() -> None:
    """Runs in a subprocess: the whole table as model instances, at once."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings")
    import django

    django.setup()
    from products.models import Product

    list(Product.objects.only(*COLUMNS)[:10])  # warm-up: imports, the pool
    pid = os.getpid()
    baseline = memory_kb(pid)["VmRSS"]
    reset = reset_peak(pid)
    start = time.perf_counter()
    rows = list(Product.objects.only(*COLUMNS))
    seconds = time.perf_counter() - start
    peak = memory_kb(pid)["VmHWM"]
    print(
        json.dumps(
            {
                "products": len(rows),
                "baseline_kb": baseline,
                "peak_kb": peak,
                "reset": reset,
                "seconds": seconds,
            }
        )
    )


def naive_growth(url: str) -> Growth:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "api.settings"}
    command = [sys.executable, "-m", "bench.streams", "--naive-child"]
    done = subprocess.run(
        command, cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=900
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return Growth(
        f"naive `list(Product.objects.only({', '.join(COLUMNS)}))`",
        int(figures["products"]),
        int(figures["baseline_kb"]),
        int(figures["peak_kb"]),
        bool(figures["reset"]),
        float(figures["seconds"]),
    )


async def measure_memory(small_url: str, big_url: str, options: Options) -> list[str]:
    streams: list[Growth] = []
    naives: list[Growth] = []
    for url, products in ((small_url, SMALL_PRODUCTS), (big_url, BIG_PRODUCTS)):
        growth = await server_growth(url, products, options)
        progress(f"  server streaming {products:,}: +{growth.growth_mb:.1f} MB")
        streams.append(growth)
        naive = await asyncio.to_thread(naive_growth, url)
        progress(f"  naive list of {products:,}: +{naive.growth_mb:.1f} MB")
        naives.append(naive)
    lines = [
        "| Process | Products | RSS after warm-up | Peak RSS (VmHWM) | Growth |",
        "|---|---|---|---|---|",
    ]
    for growth in [*streams, *naives]:
        lines.append(
            f"| {growth.label} | {growth.products:,} | {growth.baseline_kb / 1024:.1f} MB "
            f"| {growth.peak_kb / 1024:.1f} MB | +{growth.growth_mb:.1f} MB |"
        )
    small, big = streams
    difference = big.growth_mb - small.growth_mb
    naive_difference = naives[1].growth_mb - naives[0].growth_mb
    met = all(growth.growth_mb < MEMORY_GOAL_MB for growth in streams)
    reset = all(growth.peak_reset for growth in [*streams, *naives])
    lines += [
        "",
        f"Growth from 10,000 to 1,000,000 products: `productStream` {difference:+.1f} MB, "
        f"naive {naive_difference:+.1f} MB. Each stream on a fresh uvicorn process, read by "
        "one websocket client; RSS read after startup and a 10-product warm-up stream, then "
        + (
            "VmHWM reset (clear_refs 5) and read after the stream. "
            if reset
            else "VmHWM read after the stream (it could not be reset: it may include startup). "
        )
        + f"Goal: growth < {MEMORY_GOAL_MB:.0f} MB at both sizes, flat — "
        f"{'met' if met else 'missed'} (+{small.growth_mb:.1f} / +{big.growth_mb:.1f} MB).",
    ]
    return lines


# 4. Concurrent streams -------------------------------------------------------


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


async def measure_concurrency(small_url: str, options: Options) -> list[str]:
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


# Main ------------------------------------------------------------------------


async def run(options: Options) -> int:
    big_url = os.environ.get("DATABASE_URL", "")
    if not big_url.startswith(("postgres://", "postgresql://")):
        progress("Set DATABASE_URL to the PostgreSQL database of a million products.")
        return 1
    count = product_count(big_url) or 0
    if count != BIG_PRODUCTS:
        progress(
            f"{database_name(big_url)} holds {count:,} products; this benchmark needs 1,000,000."
        )
        return 1
    small_url = ensure_small_database(big_url)
    progress(
        f"{database_name(big_url)}: {count:,} products; {SMALL_DATABASE}: {SMALL_PRODUCTS:,}; "
        f"sections: {', '.join(options.sections)}"
    )
    output: list[str] = []
    started = time.perf_counter()
    if "ttfb" in options.sections:
        progress("measuring time to first batch…")
        output += ["### Time to first batch", "", *await measure_ttfb(small_url, big_url, options)]
    if "throughput" in options.sections:
        progress("measuring throughput…")
        output += ["", "### Throughput", "", *await measure_throughput(big_url, options)]
    if "memory" in options.sections:
        progress("measuring peak memory…")
        output += ["", "### Peak memory", "", *await measure_memory(small_url, big_url, options)]
    if "concurrency" in options.sections:
        progress(f"measuring {options.clients} concurrent streams…")
        output += ["", "### Concurrent streams", "", *await measure_concurrency(small_url, options)]
    progress(f"done in {time.perf_counter() - started:.0f} s")
    print("\n".join(output).lstrip("\n"))
    return 0


def main(argv: Sequence[str]) -> int:
    if list(argv) == ["--naive-child"]:
        naive_child()
        return 0
    return asyncio.run(run(Options.parse(argv)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
