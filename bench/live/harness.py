"""``productStream(live: true)`` over real websockets: how fast one committed
write reaches many live subscribers, what it costs the server in queries and
CPU, a category discount over 10,000 products, and the same across two server
processes through Redis.

    DATABASE_URL=postgres://.../conveyor_bench_live python -m bench.live [--quick] [--section ...]

Creates, migrates and seeds the database of ``DATABASE_URL`` when it is
missing or empty (10,000 products, ``--seed 1``), and adds one category of
10,000 more products that inherit its discount (none at rest). Every server
is a fresh ``uvicorn api.asgi:application`` with ``REDIS_URL`` set (default
``redis://127.0.0.1:6379/0``) and a ``BROADCAST_PREFIX`` of this run's own;
this process is the writer, calling ``products.services`` with Django set up
on the same database and Redis, so its change events reach the servers
through Redis pub/sub. The subscribers are ``websockets`` clients speaking
``graphql-transport-ws``, spread over a few client processes (children of
this one); every receipt is stamped with the system-wide monotonic clock,
the same as the writer's. Latencies count from the writer's commit (an
``on_commit`` callback registered before the services' own, which publish)
to the receipt of the LIVE batch carrying the new version. Figures are
compared with a baseline measured in the same run. Progress goes to stderr;
the Markdown tables of results to stdout.
"""

import argparse
import asyncio
import base64
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    AsyncExitStack,
    asynccontextmanager,
    nullcontext,
)
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from bench import servers
from bench.servers import Server, cpu_seconds
from bench.streams import database_name, manage, product_count, with_database

ROOT = Path(__file__).resolve().parent.parent
SEEDED_PRODUCTS = 10_000
DISCOUNT_CATEGORY = "bench-live-discount"  # the slug of the category of section 3
DISCOUNT_PRODUCTS = 10_000
DISCOUNT = Decimal("10.00")
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

HANDFUL = 5  # products in the fan-out subscribers' filter
CLIENT_PROCESSES = 4  # client processes sharing the many subscribers of a section
CONNECTS_AT_ONCE = 50  # websockets a client process opens concurrently
REACH_TIMEOUT = 600.0  # seconds a change may take to reach every subscriber
SPACING = 0.2  # seconds of quiet between two changes, after the server went idle
P99_GOAL_MS = 250.0

LIVE_QUERY = (
    "subscription Live($filter: ProductFilter, $b: Int!) {"
    " productStream(filter: $filter, batchSize: $b, live: true) {"
    " phase sequence snapshotComplete removedIds"
    " products { id sku name price discountPercent discountedPrice stock version"
    " category { id name } } } }"
)

SECTIONS = ("fanout", "queries", "category", "redis")

T = TypeVar("T")


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def product_gid(pk: int) -> str:
    return base64.b64encode(f"Product:{pk}".encode()).decode()


def category_gid(pk: int) -> str:
    return base64.b64encode(f"Category:{pk}".encode()).decode()


@dataclass(frozen=True)
class Options:
    sections: tuple[str, ...]
    subscribers: int  # fan-out on one process
    changes: int  # per side of the fan-out comparison
    query_levels: tuple[int, ...]
    query_changes: int
    category_subscribers: int
    category_batch_sizes: tuple[int, ...]
    category_rounds: int
    profile: Path | None

    @classmethod
    def parse(cls, argv: Sequence[str]) -> "Options":
        parser = argparse.ArgumentParser(prog="python -m bench.live", description=__doc__)
        parser.add_argument("--quick", action="store_true", help="fewer subscribers and changes")
        parser.add_argument(
            "--section",
            action="append",
            choices=SECTIONS,
            help="run only this section (repeatable; default: all)",
        )
        parser.add_argument(
            "--profile",
            type=Path,
            help="profile the fan-out server (cProfile, its event loop) while 1,000 "
            "subscribers receive the changes, and write the stats to this file",
        )
        parser.add_argument("--subscribers", type=int, help="fan-out subscribers (default 1,000)")
        parser.add_argument("--changes", type=int, help="changes per fan-out row (default 24)")
        args = parser.parse_args(argv)
        quick: bool = args.quick
        return cls(
            sections=tuple(args.section or SECTIONS),
            subscribers=args.subscribers or (200 if quick else 1000),
            changes=args.changes or (6 if quick else 24),
            query_levels=(1, 10, 100) if quick else (1, 10, 100, 1000),
            query_changes=2 if quick else 3,
            category_subscribers=20 if quick else 100,
            category_batch_sizes=(1000,) if quick else (1000, 100),
            category_rounds=1 if quick else 2,
            profile=args.profile,
        )


# Statistics --------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile (p in 0–100) of ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Latencies:
    """Milliseconds from a commit to a receipt, over (subscriber, change) pairs."""

    ms: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # server CPU seconds per change
    client_cpu: list[float] = field(default_factory=list)  # client processes' CPU seconds

    def add(self, other: "Latencies") -> None:
        self.ms += other.ms
        self.cpu += other.cpu
        self.client_cpu += other.client_cpu

    @property
    def p50(self) -> float:
        return statistics.median(self.ms)

    @property
    def p99(self) -> float:
        return percentile(self.ms, 99)

    @property
    def max(self) -> float:
        return max(self.ms)

    @property
    def cpu_ms(self) -> float:
        return statistics.mean(self.cpu) * 1000 if self.cpu else math.nan

    @property
    def client_cpu_ms(self) -> float:
        return statistics.mean(self.client_cpu) * 1000 if self.client_cpu else math.nan


# Client processes ----------------------------------------------------------------
#
# A child process opens its share of the subscribers, waits for every
# snapshot, then answers commands on stdin with one JSON line each on stdout:
#   {"arm": {"versions": {gid: version}}}  every subscriber must hold each gid at
#       ≥ version (or {"absent": [gid…]}: none of them); answers "armed", then,
#       once all have it, "reached" with [first LIVE receipt, done] per subscriber
#   {"stats": true}  LIVE batches received per subscriber since the last arm
#   {"close": true}


@dataclass
class Subscriber:
    view: dict[str, int] = field(default_factory=dict)  # gid → highest version held
    snapshot: asyncio.Event = field(default_factory=asyncio.Event)
    armed: bool = False
    absent: bool = False
    targets: dict[str, int] = field(default_factory=dict)
    remaining: set[str] = field(default_factory=set)
    first_at: float | None = None
    done_at: float | None = None
    live_batches: int = 0
    failure: BaseException | None = None

    def arm(self, targets: dict[str, int], absent: bool, now: float) -> bool:
        """Starts waiting for ``targets``; True when they already hold."""
        self.armed, self.absent, self.targets = True, absent, targets
        self.first_at, self.live_batches = None, 0
        if absent:
            self.remaining = {gid for gid in targets if gid in self.view}
        else:
            self.remaining = {gid for gid, v in targets.items() if self.view.get(gid, 0) < v}
        self.done_at = None if self.remaining else now
        return self.done_at is not None

    def apply(self, batch: dict[str, Any], at: float) -> bool:
        """Keeps the batch; True when it completed what the subscriber waited for."""
        for product in batch["products"]:
            if product["version"] > self.view.get(product["id"], 0):
                self.view[product["id"]] = product["version"]
        for gid in batch["removedIds"]:
            self.view.pop(gid, None)
        if batch["phase"] == "LIVE":
            if not batch["snapshotComplete"]:
                raise RuntimeError(f"LIVE batch {batch['sequence']} without snapshotComplete")
            self.live_batches += 1
        else:
            if batch["snapshotComplete"]:
                self.snapshot.set()
            return False
        if not self.armed or self.done_at is not None:
            return False
        if self.first_at is None:
            self.first_at = at
        if self.absent:
            self.remaining.difference_update(batch["removedIds"])
        else:
            for product in batch["products"]:
                if self.targets.get(product["id"], math.inf) <= product["version"]:
                    self.remaining.discard(product["id"])
        if self.remaining:
            return False
        self.done_at = at
        return True


def emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def run_subscriber(
    url: str, variables: dict[str, Any], state: Subscriber, done: Callable[[], None]
) -> None:
    try:
        async with connect(
            url,
            subprotocols=[Subprotocol("graphql-transport-ws")],
            max_size=None,
            compression=None,
            ping_interval=None,
            open_timeout=120,
            close_timeout=5,
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            ack = json.loads(await ws.recv())
            if ack.get("type") != "connection_ack":
                raise RuntimeError(f"expected connection_ack, got {ack}")
            payload = {"query": LIVE_QUERY, "variables": variables}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            await receive_batches(ws, state, done)
    except BaseException as error:
        state.failure = error
        state.snapshot.set()
        raise


async def receive_batches(
    ws: ClientConnection, state: Subscriber, done: Callable[[], None]
) -> None:
    while True:
        raw = await ws.recv()
        at = time.monotonic()
        message = json.loads(raw)
        if message.get("type") != "next":
            raise RuntimeError(f"unexpected message: {str(message)[:300]}")
        payload = message["payload"]
        if payload.get("errors"):
            raise RuntimeError(f"the stream failed: {str(payload)[:300]}")
        if state.apply(payload["data"]["productStream"], at):
            done()


class ClientChild:
    def __init__(self, config: dict[str, Any]) -> None:
        self.urls: list[str] = config["urls"]
        self.variables: dict[str, Any] = config["variables"]
        self.subscribers = [Subscriber() for _ in range(config["count"])]
        self.waiting = 0
        self.tasks: list[asyncio.Task[None]] = []

    def one_done(self) -> None:
        self.waiting -= 1
        if self.waiting == 0:
            emit({"reached": [[s.first_at, s.done_at] for s in self.subscribers]})

    async def open(self) -> None:
        gate = asyncio.Semaphore(CONNECTS_AT_ONCE)

        async def opened(url: str, state: Subscriber) -> None:
            async with gate:
                self.tasks.append(
                    asyncio.create_task(run_subscriber(url, self.variables, state, self.one_done))
                )
                await state.snapshot.wait()

        await asyncio.gather(
            *(
                opened(self.urls[n % len(self.urls)], state)
                for n, state in enumerate(self.subscribers)
            )
        )
        self.check()
        emit({"ready": [len(s.view) for s in self.subscribers]})

    def check(self) -> None:
        for state in self.subscribers:
            if state.failure is not None:
                raise RuntimeError(f"a subscriber failed: {state.failure!r}")

    def arm(self, expectation: dict[str, Any]) -> None:
        absent = "absent" in expectation
        targets = dict.fromkeys(expectation["absent"], 0) if absent else expectation["versions"]
        now = time.monotonic()
        # Every subscriber armed before the answer: the write follows it at once.
        already = sum(state.arm(targets, absent, now) for state in self.subscribers)
        self.waiting = len(self.subscribers) - already
        emit({"armed": True})
        if self.waiting == 0:
            emit({"reached": [[s.first_at, s.done_at] for s in self.subscribers]})

    async def serve(self, commands: asyncio.StreamReader) -> None:
        while line := await commands.readline():
            command = json.loads(line)
            self.check()
            if "arm" in command:
                self.arm(command["arm"])
            elif "stats" in command:
                emit({"stats": [s.live_batches for s in self.subscribers]})
            elif "close" in command:
                break
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        emit({"closed": True})


async def client_child() -> None:
    loop = asyncio.get_running_loop()
    commands = asyncio.StreamReader(limit=2**28)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    child = ClientChild(json.loads(await commands.readline()))
    await child.open()
    await child.serve(commands)


class ClientGroup:
    """Subscribers spread over client processes, driven from here."""

    def __init__(self, processes: list[asyncio.subprocess.Process]) -> None:
        self.processes = processes
        self.snapshot_sizes: list[int] = []

    @classmethod
    async def start(
        cls, urls: Sequence[str], count: int, variables: dict[str, Any], processes: int
    ) -> "ClientGroup":
        """``count`` subscribers over ``processes`` processes, every snapshot received.
        Process k connects to ``urls[k % len(urls)]``."""
        shares = [count // processes + (k < count % processes) for k in range(processes)]
        children = []
        for k, share in enumerate(s for s in shares if s):
            child = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "bench.live", "--client-child"),
                cwd=ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=2**24,
            )
            config = {"urls": [urls[k % len(urls)]], "count": share, "variables": variables}
            children.append(child)
            await cls._send(child, config)
        group = cls(children)
        for answer in await group._answers("ready", within=REACH_TIMEOUT):
            group.snapshot_sizes += answer
        return group

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    @staticmethod
    async def _send(process: asyncio.subprocess.Process, message: dict[str, Any]) -> None:
        assert process.stdin is not None
        process.stdin.write(json.dumps(message).encode() + b"\n")
        await process.stdin.drain()

    async def _answers(self, key: str, within: float) -> list[Any]:
        async def answer(process: asyncio.subprocess.Process) -> Any:
            assert process.stdout is not None
            line = await process.stdout.readline()
            if not line:
                raise RuntimeError(f"client process {process.pid} exited ({key} awaited)")
            return json.loads(line)[key]

        async with asyncio.timeout(within):
            return await asyncio.gather(*(answer(p) for p in self.processes))

    async def arm(self, expectation: dict[str, Any]) -> None:
        for process in self.processes:
            await self._send(process, {"arm": expectation})
        await self._answers("armed", within=60)

    async def reached(self) -> list[tuple[float | None, float]]:
        """[first LIVE receipt since armed, receipt completing the expectation]."""
        answers = await self._answers("reached", within=REACH_TIMEOUT)
        return [(first, done) for answer in answers for first, done in answer]

    async def stats(self) -> list[int]:
        for process in self.processes:
            await self._send(process, {"stats": True})
        return [n for answer in await self._answers("stats", within=60) for n in answer]

    async def close(self) -> None:
        for process in self.processes:
            await self._send(process, {"close": True})
        try:
            await self._answers("closed", within=60)
        finally:
            for process in self.processes:
                if process.returncode is None:
                    process.kill()
                await process.wait()


@asynccontextmanager
async def subscribed(
    urls: Sequence[str], count: int, variables: dict[str, Any], processes: int = CLIENT_PROCESSES
) -> AsyncIterator[ClientGroup]:
    group = await ClientGroup.start(urls, count, variables, min(processes, count))
    try:
        yield group
    finally:
        await group.close()


async def expecting(groups: Sequence[ClientGroup], expectation: dict[str, Any]) -> None:
    for group in groups:
        await group.arm(expectation)


async def all_reached(groups: Sequence[ClientGroup]) -> list[list[tuple[float | None, float]]]:
    return list(await asyncio.gather(*(group.reached() for group in groups)))


# Databases -------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    """Creates, migrates and seeds the database of ``url`` when missing or empty."""
    name = database_name(url)
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found is None:
            progress(f"creating {name}…")
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    if product_count(url) is None:
        progress(f"migrating {name}…")
        manage(url, "migrate", "--noinput")
    if product_count(url) == 0:
        progress(f"seeding {name} with {SEEDED_PRODUCTS:,} products…")
        manage(
            url, "seed_products", "--count", str(SEEDED_PRODUCTS), "--seed", "1", "--no-progress"
        )


def vacuum(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


# The writer ----------------------------------------------------------------------


class Writer:
    """This process's Django, on one thread of its own: the writes, and the
    reads that prepare them."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="writer")

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, function, *args)

    def close(self) -> None:
        self._thread.submit(close_connections).result()
        self._thread.shutdown()


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings")
    import django

    django.setup()


def close_connections() -> None:
    from django.db import connections

    connections.close_all()


def handful() -> list[int]:
    """The first products of the seeded catalog."""
    from products.models import Product

    seeded = Product.objects.exclude(category__slug=DISCOUNT_CATEGORY).order_by("id")
    return list(seeded.values_list("id", flat=True)[:HANDFUL])


def version_of(product_id: int) -> int:
    from products.models import Product

    return Product.objects.values_list("version", flat=True).get(pk=product_id)


def committed(write: Callable[[], None]) -> float:
    """Runs ``write`` in a transaction; the monotonic time of its commit, taken
    before any on_commit callback of the write (the publication) runs."""
    from django.db import transaction

    stamps: list[float] = []
    with transaction.atomic():
        transaction.on_commit(lambda: stamps.append(time.monotonic()))
        write()
    return stamps[0]


def change_price(product_id: int, step: int) -> float:
    from products import services
    from products.models import Product

    def write() -> None:
        product = Product.objects.get(pk=product_id)
        product.price = Decimal(1000 + step % 500) / 100
        services.save_product(product)

    return committed(write)


def discount_category() -> int:
    """The category of section 3, made with its products when missing, and
    without a discount; its primary key."""
    from products import services
    from products.factories import ProductFactory
    from products.models import Category, Product

    category = Category.objects.filter(slug=DISCOUNT_CATEGORY).first()
    if category is None:
        progress(f"adding {DISCOUNT_PRODUCTS:,} products in one category…")
        category = services.save_category(
            Category(name="Live bench discount", slug=DISCOUNT_CATEGORY, discount_percent=None)
        )
        ProductFactory.reset_sequence(Product.objects.count() + 1_000_000)
        products = ProductFactory.build_batch(
            DISCOUNT_PRODUCTS, category=category, discount_percent=None
        )
        for start in range(0, len(products), 5000):
            services.add_products(products[start : start + 5000])
    inheriting = Product.objects.filter(category=category, discount_percent__isnull=True).count()
    if inheriting != DISCOUNT_PRODUCTS:
        raise SystemExit(
            f"category {DISCOUNT_CATEGORY} holds {inheriting} inheriting products, not "
            f"{DISCOUNT_PRODUCTS:,}; drop the database and run again to recreate it."
        )
    if category.discount_percent is not None:
        set_discount(category.pk, None)
    return category.pk


def category_versions(category_id: int) -> dict[str, int]:
    from products.models import Product

    rows = Product.objects.filter(category_id=category_id).values_list("id", "version")
    return {product_gid(pk): version for pk, version in rows}


def set_discount(category_id: int, percent: Decimal | None) -> float:
    from products import services
    from products.models import Category

    def write() -> None:
        category = Category.objects.get(pk=category_id)
        category.discount_percent = percent
        services.save_category(category)

    return committed(write)


# Servers -------------------------------------------------------------------------


def serving(
    *, debug: bool = False, log: Path | None = None, profile: Path | None = None
) -> AbstractAsyncContextManager[Server]:
    """A fresh server. ``debug`` logs every SQL statement (DEBUG=1 LOG_LEVEL=DEBUG
    would not do: Django's `django` logger stops at INFO); with ``profile`` it
    runs bench.profiled_asgi, whose ``profiling()`` phases go to that file."""
    settings = {"DJANGO_SETTINGS_MODULE": "bench.sql_log_settings"} if debug else {}
    if profile is None:
        return servers.serving(settings, log=log)
    settings["PROFILE_PATH"] = str(profile)
    return servers.serving(settings, app="bench.profiled_asgi:application", log=log)


def profiling(server: Server, profile: Path | None) -> AbstractContextManager[None]:
    return server.profiling() if profile else nullcontext()


# 1 and 4. Fan-out of one price change ----------------------------------------------


@dataclass
class FanOut:
    """One change at a time to a product every subscriber holds."""

    writer: Writer
    products: list[int]
    servers: list[Server]
    step: int = 0
    cpu: list[float] = field(default_factory=list)  # per server, of the last change
    client_cpu: float = 0.0  # all client processes, of the last change

    async def change(self, groups: Sequence[ClientGroup]) -> list[list[float]]:
        """One price change; per group, ms from the commit to each subscriber's receipt."""
        for server in self.servers:
            await server.idle()
        await asyncio.sleep(SPACING)
        product = self.products[self.step % len(self.products)]
        self.step += 1
        version = await self.writer.run(version_of, product)
        await expecting(groups, {"versions": {product_gid(product): version + 1}})
        clients = [pid for group in groups for pid in group.pids]
        cpu_before = [server.cpu() for server in self.servers]
        client_before = sum(map(cpu_seconds, clients))
        commit = await self.writer.run(change_price, product, self.step)
        reached = await all_reached(groups)
        self.client_cpu = sum(map(cpu_seconds, clients)) - client_before
        self.cpu = [
            server.cpu() - before for server, before in zip(self.servers, cpu_before, strict=True)
        ]
        return [[(done - commit) * 1000 for _, done in group] for group in reached]


async def measure_fanout(writer: Writer, products: list[int], options: Options) -> list[str]:
    variables = {"filter": {"ids": [product_gid(pk) for pk in products]}, "b": 100}
    one, many = Latencies(), Latencies()
    async with serving(profile=options.profile) as server:
        fanout = FanOut(writer, products, [server])
        async with subscribed([server.ws_url], 1, variables, processes=1) as single:
            if single.snapshot_sizes != [len(products)]:
                raise RuntimeError(f"snapshot of {single.snapshot_sizes}, not {len(products)}")
            await fanout.change([single])  # warm-up
            await fanout_alone(fanout, single, one, options.changes // 2)
            progress(f"  1 subscriber: p50 {one.p50:.1f} ms")
            async with subscribed([server.ws_url], options.subscribers - 1, variables) as rest:
                progress(f"  {options.subscribers} subscribers open")
                await fanout.change([single, rest])  # warm-up
                with profiling(server, options.profile):
                    for n in range(options.changes):
                        single_ms, rest_ms = await fanout.change([single, rest])
                        many.add(Latencies(single_ms + rest_ms, fanout.cpu, [fanout.client_cpu]))
                        progress(
                            f"  {n + 1}/{options.changes}: last {max(single_ms + rest_ms):.0f} ms,"
                            f" server CPU {sum(fanout.cpu) * 1000:.0f} ms;"
                            f" p99 so far {many.p99:.0f} ms"
                        )
                woken, cpu = await unrelated_change(writer, fanout, [single, rest], server)
            await fanout_alone(fanout, single, one, options.changes - options.changes // 2)
    n = options.subscribers
    lines = [
        "| Live subscribers on one process | p50 | p99 | max | p99 / p50 (1 subscriber) "
        "| Server CPU per change | Clients' CPU per change |",
        "|---|---|---|---|---|---|---|",
        latency_row("1 (baseline, half before and half after)", one, one),
        latency_row(f"{n:,}", many, one),
        "",
        f"{options.changes} price changes per row, one at a time, each after the server "
        f"went idle plus {SPACING * 1000:.0f} ms; {len(many.ms):,} (subscriber, change) pairs "
        f"at {n:,}. Latency: from the writer's commit (another process, through Redis) "
        "to the receipt of the LIVE batch carrying the new version. Each subscriber "
        f"selects 10 product fields and `category {{ id name }}` with a filter of "
        f"{len(products)} ids (its snapshot: those {len(products)} products); the "
        f"{n - 1:,} others are spread over {CLIENT_PROCESSES} client processes, the "
        "baseline's subscriber has one of its own. Server CPU: user + system time of the "
        "uvicorn process from just before the commit to the last receipt; clients' CPU: the "
        "same for all client processes. Two cores, "
        "shared by the server, the client processes, PostgreSQL and Redis. "
        f"Goal: p99 ≤ {P99_GOAL_MS:.0f} ms at {n:,} — "
        f"{'met' if many.p99 <= P99_GOAL_MS else 'missed'}.",
        "",
        f"A price change to a product outside every subscriber's filter: {woken:,} of "
        f"{n:,} subscribers received a LIVE batch for it (its id in `removedIds`); server "
        f"CPU {cpu * 1000:.0f} ms.",
    ]
    return lines


async def fanout_alone(fanout: FanOut, single: ClientGroup, into: Latencies, changes: int) -> None:
    for _ in range(changes):
        (ms,) = await fanout.change([single])
        into.add(Latencies(ms, fanout.cpu, [fanout.client_cpu]))


async def unrelated_change(
    writer: Writer, fanout: FanOut, groups: Sequence[ClientGroup], server: Server
) -> tuple[int, float]:
    """Subscribers that got a LIVE batch for a change outside their filter, and
    the server's CPU seconds for it."""
    outsider = await writer.run(outside_product, fanout.products)
    await server.idle()
    await expecting(groups, {"versions": {}})
    await all_reached(groups)
    cpu = server.cpu()
    await writer.run(change_price, outsider, 0)
    await asyncio.sleep(1.0)
    await server.idle()
    cpu = server.cpu() - cpu
    woken = [n for group in groups for n in await group.stats()]
    return sum(1 for batches in woken if batches), cpu


def outside_product(inside: list[int]) -> int:
    from products.models import Product

    return Product.objects.exclude(pk__in=inside).order_by("id").values_list("id", flat=True)[0]


def latency_row(label: str, figures: Latencies, baseline: Latencies) -> str:
    return (
        f"| {label} | {figures.p50:.1f} ms | {figures.p99:.1f} ms | {figures.max:.1f} ms "
        f"| ×{figures.p99 / baseline.p50:.1f} | {figures.cpu_ms:.0f} ms "
        f"| {figures.client_cpu_ms:.0f} ms |"
    )


# 2. Queries per change ---------------------------------------------------------------

STATEMENT = re.compile(r" django\.db\.backends \(\d+\.\d+\) (.*?); args=")


def statements(log: Path, offset: int) -> tuple[list[str], int]:
    """The SQL statements the server logged after ``offset``, and the new offset."""
    data = log.read_bytes()
    found = STATEMENT.findall(data[offset:].decode(errors="replace"))
    return found, len(data)


def shape(statement: str) -> str:
    """A statement without its columns and literals: equal queries count as one kind."""
    statement = re.sub(r"^SELECT .*? FROM ", "SELECT … FROM ", statement)
    statement = re.sub(r"IN \([^)]*\)", "IN (…)", statement)
    return re.sub(r"\b\d+\b", "N", statement)


async def measure_queries(writer: Writer, products: list[int], options: Options) -> list[str]:
    variables = {"filter": {"ids": [product_gid(pk) for pk in products]}, "b": 100}
    rows: list[str] = []
    every: list[int] = []
    kinds: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "server.log"
        async with serving(debug=True, log=log) as server, AsyncExitStack() as stack:
            fanout = FanOut(writer, products, [server])
            groups: list[ClientGroup] = []
            for level in options.query_levels:
                more = level - sum(len(g.snapshot_sizes) for g in groups)
                groups.append(
                    await stack.enter_async_context(subscribed([server.ws_url], more, variables))
                )
                await fanout.change(groups)  # warm-up
                counts = []
                for _ in range(options.query_changes):
                    await server.idle()
                    _, offset = statements(log, 0)
                    await fanout.change(groups)
                    await asyncio.sleep(0.5)
                    await server.idle()
                    found, offset = statements(log, offset)
                    counts.append(len(found))
                    for statement in found:
                        kinds[shape(statement)] = kinds.get(shape(statement), 0) + 1
                progress(f"  {level:,} subscribers: {counts} statements")
                every += counts
                rows.append(
                    f"| {level:,} | {statistics.mean(counts):.1f} | {min(counts)}–{max(counts)} |"
                )
    lines = [
        "| Live subscribers | SQL statements per change (server) | range |",
        "|---|---|---|",
        *rows,
        "",
        f"{options.query_changes} price changes per level after a warm-up change, on one "
        "server started with `DEBUG = True` and the `django.db.backends` logger at DEBUG "
        "(`bench.sql_log_settings`), whose log lines of SQL statements were counted from "
        "just before the commit until the server had been idle for 0.3 s after the last receipt (and at least 0.5 s). The writer's own statements "
        "run in the benchmark's process and are not counted. Statements seen:",
        "",
        *(f"- {count} × `{kind}`" for kind, count in sorted(kinds.items(), key=lambda i: -i[1])),
        "",
        f"Goal: a constant — {'met' if min(every) == max(every) else 'missed'}.",
    ]
    return lines


# 3. A category discount over 10,000 products ---------------------------------------------


@dataclass
class Spread:
    """Per subscriber and change: ms to the first LIVE batch and to holding all."""

    first: list[float] = field(default_factory=list)
    done: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


async def discount_round(
    writer: Writer, server: Server, category: int, subscribers: int, batch_size: int
) -> Spread:
    variables = {
        "filter": {"categories": [category_gid(category)], "onSale": True},
        "b": batch_size,
    }
    async with subscribed([server.ws_url], subscribers, variables, processes=2) as group:
        if any(group.snapshot_sizes):
            raise RuntimeError("the category's products were on sale before the discount")
        versions = await writer.run(category_versions, category)
        await group.arm({"versions": {gid: v + 1 for gid, v in versions.items()}})
        await server.idle()
        cpu = server.cpu()
        commit = await writer.run(set_discount, category, DISCOUNT)
        reached = await group.reached()
        spent = server.cpu() - cpu
    # Without subscribers the server reads nothing of the reset.
    await server.idle()
    await writer.run(set_discount, category, None)
    spread = Spread(cpu=[spent])
    for first, done in reached:
        assert first is not None
        spread.first.append((first - commit) * 1000)
        spread.done.append((done - commit) * 1000)
    return spread


async def measure_category(writer: Writer, category: int, options: Options) -> list[str]:
    n = options.category_subscribers
    results: dict[tuple[int, int], Spread] = {}
    async with serving() as server:
        await discount_round(writer, server, category, 1, 1000)  # warm-up
        for batch_size in options.category_batch_sizes:
            for _ in range(options.category_rounds):
                for subscribers in (1, n):  # interleaved
                    spread = await discount_round(writer, server, category, subscribers, batch_size)
                    cell = results.setdefault((batch_size, subscribers), Spread())
                    cell.first += spread.first
                    cell.done += spread.done
                    cell.cpu += spread.cpu
                    progress(
                        f"  batchSize {batch_size}, {subscribers} subscriber(s): all in "
                        f"{max(spread.done) / 1000:.2f} s"
                    )
    lines = [
        f"| batchSize | Live subscribers | first LIVE batch, median | all {DISCOUNT_PRODUCTS:,} "
        "held, median | all held, max | max / 1 subscriber | products/s sent | Server CPU |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for batch_size in options.category_batch_sizes:
        alone = results[batch_size, 1]
        for subscribers in (1, n):
            cell = results[batch_size, subscribers]
            worst = max(cell.done) / 1000
            rate = subscribers * DISCOUNT_PRODUCTS / statistics.median(cell.done) * 1000
            lines.append(
                f"| {batch_size} | {subscribers} | {statistics.median(cell.first):.0f} ms "
                f"| {statistics.median(cell.done) / 1000:.2f} s | {worst:.2f} s "
                f"| ×{max(cell.done) / max(alone.done):.1f} | {rate:,.0f} "
                f"| {statistics.mean(cell.cpu):.2f} s |"
            )
    lines += [
        "",
        f"`services.save_category` sets a {DISCOUNT}% discount on a category of "
        f"{DISCOUNT_PRODUCTS:,} products that all inherit it (one UPDATE, "
        f"{DISCOUNT_PRODUCTS // 1000} change events of 1,000). The subscribers filter on that "
        "category and `onSale: true`, so their snapshot is empty and all "
        f"{DISCOUNT_PRODUCTS:,} products enter their view through LIVE batches. Times from "
        "the commit; 'all held' when a subscriber holds every product at its new version. "
        f"{options.category_rounds} round(s) per row, interleaved with the 1-subscriber "
        f"baseline, each on new subscriptions (2 client processes), the discount removed "
        "between rounds with no subscriber open. Products/s sent: subscribers × "
        f"{DISCOUNT_PRODUCTS:,} over the median time to all held. Server CPU: per change, "
        "from just before the commit to the last receipt. Two cores, shared.",
    ]
    return lines


# 4. Two processes through Redis ----------------------------------------------------------


async def measure_redis(writer: Writer, products: list[int], options: Options) -> list[str]:
    variables = {"filter": {"ids": [product_gid(pk) for pk in products]}, "b": 100}
    half = options.subscribers // 2
    one, two_a, two_b = Latencies(), Latencies(), Latencies()
    async with serving() as a, serving() as b:
        fanout = FanOut(writer, products, [a, b])
        async with subscribed([a.ws_url], half, variables, processes=2) as first:

            async def alone(changes: int) -> None:
                async with subscribed([a.ws_url], half, variables, processes=2) as second:
                    await fanout.change([first, second])  # warm-up
                    for _ in range(changes):
                        ms_first, ms_second = await fanout.change([first, second])
                        one.add(Latencies(ms_first + ms_second, fanout.cpu[:1]))
                progress(f"  one process, {2 * half}: p99 so far {one.p99:.0f} ms")

            await alone(options.changes // 2)
            async with subscribed([b.ws_url], half, variables, processes=2) as other:
                await fanout.change([first, other])  # warm-up
                for _ in range(options.changes):
                    ms_a, ms_b = await fanout.change([first, other])
                    two_a.add(Latencies(ms_a, fanout.cpu[:1]))
                    two_b.add(Latencies(ms_b, fanout.cpu[1:]))
                progress(f"  two processes: p99 {two_a.p99:.0f} / {two_b.p99:.0f} ms")
            await alone(options.changes - options.changes // 2)
    both = Latencies(
        two_a.ms + two_b.ms, [a + b for a, b in zip(two_a.cpu, two_b.cpu, strict=True)]
    )
    lines = [
        "| Subscribers | p50 | p99 | max | p99 / p99 (one process) | Server CPU per change |",
        "|---|---|---|---|---|---|",
        redis_row(f"{2 * half:,} on one process (A)", one, one),
        redis_row(f"{half:,} on A, of {2 * half:,} over A and B", two_a, one),
        redis_row(f"{half:,} on B, of {2 * half:,} over A and B", two_b, one),
        redis_row(f"all {2 * half:,} over A and B", both, one),
        "",
        f"Two uvicorn processes with the same `REDIS_URL` and prefix; the writer (this "
        f"benchmark's process) commits a price change, its event goes out by one Redis "
        f"PUBLISH and each process's listener reads the row once. {options.changes} changes "
        f"over A and B, {options.changes} on A alone (half before, half after), the same "
        "filter and selection as above, 4 client processes. Server CPU: the process(es) "
        "holding the subscribers, summed. Two cores, shared by both servers, the clients, "
        "PostgreSQL and Redis.",
    ]
    return lines


def redis_row(label: str, figures: Latencies, baseline: Latencies) -> str:
    return (
        f"| {label} | {figures.p50:.1f} ms | {figures.p99:.1f} ms | {figures.max:.1f} ms "
        f"| ×{figures.p99 / baseline.p99:.2f} | {figures.cpu_ms:.0f} ms |"
    )


# Main --------------------------------------------------------------------------------


async def run(options: Options) -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        progress("Set DATABASE_URL to a PostgreSQL database (created when missing).")
        return 1
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    os.environ["BROADCAST_PREFIX"] = f"bench-live-{uuid.uuid4().hex[:12]}"
    await asyncio.to_thread(ensure_database, url)
    setup_django()
    writer = Writer()
    try:
        category = await writer.run(discount_category)
        await asyncio.to_thread(vacuum, url)
        products = await writer.run(handful)
        progress(
            f"{database_name(url)}: {product_count(url):,} products; Redis prefix "
            f"{os.environ['BROADCAST_PREFIX']}; sections: {', '.join(options.sections)}"
        )
        output: list[str] = []
        started = time.monotonic()
        if "fanout" in options.sections:
            progress(f"measuring fan-out to {options.subscribers:,} subscribers…")
            output += [
                "",
                "#### Fan-out on one process",
                "",
                *await measure_fanout(writer, products, options),
            ]
        if "queries" in options.sections:
            progress("counting queries per change…")
            output += [
                "",
                "#### Queries per change",
                "",
                *await measure_queries(writer, products, options),
            ]
        if "category" in options.sections:
            progress("measuring a category discount…")
            output += [
                "",
                f"#### Category discount over {DISCOUNT_PRODUCTS:,} products",
                "",
                *await measure_category(writer, category, options),
            ]
        if "redis" in options.sections:
            progress("measuring two processes through Redis…")
            output += [
                "",
                "#### Two processes through Redis",
                "",
                *await measure_redis(writer, products, options),
            ]
        progress(f"done in {time.monotonic() - started:.0f} s")
        print("\n".join(output).lstrip("\n"))
    finally:
        writer.close()
    return 0


def main(argv: Sequence[str]) -> int:
    if list(argv) == ["--client-child"]:
        asyncio.run(client_child())
        return 0
    return asyncio.run(run(Options.parse(argv)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
