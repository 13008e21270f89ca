"""What the operational switches cost: a first page over HTTP and a
``productStream`` snapshot, each served by a fresh uvicorn process per set of
switches, as ratios of time to the server with every switch off, in one run.

    DATABASE_URL=postgres://.../conveyor_bench_overhead_200k REDIS_URL=redis://127.0.0.1:6379/0 python -m bench.overhead [--baseline REF]

The database is created, migrated and seeded (``PRODUCTS`` products) when
missing or empty; ``PRODUCTS`` is large enough that a stream costs seconds of
CPU, read from /proc in 10 ms ticks. ``--baseline REF`` adds REF's code (an
export of that commit) with every switch off and every switch on, measured
beside this checkout's in the same rounds: before and after in one run.
Every server runs at once; rounds visit them in turn, so that the machine's
noise falls on all alike. Traces go to a stand-in
collector in a process of its own, which accepts OTLP/HTTP and discards it.
A second all-off server measures the noise floor (A/A). Progress goes to
stderr; the Markdown table to stdout.
"""

import argparse
import asyncio
import logging
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Mapping
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field

import httpx

from bench import servers
from bench.commits import Code, checkout, exported
from bench.databases import ensure_database
from bench.scenarios import progress
from bench.servers import Server
from bench.stream_client import session, stream
from tests.otlp_collector import Collector

logging.getLogger("httpx").setLevel(logging.WARNING)

PRODUCTS = 200_000
CONCURRENCY = 8
BATCH_SIZE = 500
GOAL = 1.05
EXPORT_DELAY = "1000"
PAGE = {
    "query": "query ProductPage { products(first: 20) { edges { cursor node { id sku name "
    "price discountPercent discountedPrice category { name } } } pageInfo { hasNextPage endCursor } } }",
    "operationName": "ProductPage",
}

# Every switch, off. Cost analysis and rate limiting are the environment
# switches of the limits they name; a server that does not know one ignores it.
OFF = {
    # The same hash seed in every process, so that no server's dictionaries
    # and sets fall out luckier than another's.
    "PYTHONHASHSEED": "0",
    "METRICS_ENABLED": "false",
    "GRAPHQL_COST_ANALYSIS": "false",
    "RATE_LIMITING": "false",
    # The access log, one line per request, is the same for all: off.
    "ACCESS_LOG_LEVEL": "WARNING",
}


@dataclass(frozen=True)
class Switches:
    label: str
    settings: Mapping[str, str]
    code: Code | None = None  # another commit's tree; None: this checkout


@dataclass
class Figures:
    """Per round: the server's CPU seconds, and the wall-clock seconds, of a
    first page and of a stream."""

    page_cpu: list[float] = field(default_factory=list)
    page_wall: list[float] = field(default_factory=list)
    stream_cpu: list[float] = field(default_factory=list)
    stream_wall: list[float] = field(default_factory=list)


def switch_sets(collector: str, metrics_dir: str, baseline: Code | None) -> list[Switches]:
    metrics = {"METRICS_ENABLED": "true"}
    # Every process writes its series to files a scrape sums: `make serve`'s way.
    files = {**metrics, "PROMETHEUS_MULTIPROC_DIR": f"{metrics_dir}/{{label}}"}
    # The exporter sends what is left every EXPORT_DELAY ms: a measurement
    # waits for that send, so that the work of the spans it made is its own.
    traces = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector, "OTEL_BSP_SCHEDULE_DELAY": EXPORT_DELAY}
    cost = {"GRAPHQL_COST_ANALYSIS": "true"}
    # Shared through Redis, as several processes need, with buckets so large
    # that nothing waits: what is measured is the spending, not the refusals.
    rates = {
        "RATE_LIMITING": "true",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "RATE_LIMIT_CAPACITY": "1e15",
        "RATE_LIMIT_REFILL_PER_SECOND": "1e12",
    }
    everything = {**files, **traces, **cost, **rates}
    # How a deployment keeps traces: one request in ten, and what its callers sampled.
    sampled = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}
    before = (
        [
            Switches(f"all off ({baseline.label})", {}, baseline),
            Switches(f"all on ({baseline.label})", everything, baseline),
        ]
        if baseline
        else []
    )
    return [
        Switches("all off", {}),
        Switches("all off, again (noise)", {}),
        Switches("metrics", metrics),
        Switches("metrics, multiprocess files", files),
        Switches("traces", traces),
        Switches("cost analysis", cost),
        Switches("rate limiting", rates),
        *before,
        Switches("all on", everything),
        Switches("all on, one trace in ten", {**everything, **sampled}),
    ]


def settings_of(switches: Switches, index: int) -> dict[str, str]:
    settings = {**OFF, **switches.settings}
    if "PROMETHEUS_MULTIPROC_DIR" in settings:
        directory = settings["PROMETHEUS_MULTIPROC_DIR"].format(label=index)
        os.makedirs(directory, exist_ok=True)
        settings["PROMETHEUS_MULTIPROC_DIR"] = directory
    return settings


def quiet_after(switches: Switches) -> float:
    """Seconds without CPU that tell a server is done: with traces, longer
    than the exporter waits before it sends."""
    exporting = "OTEL_EXPORTER_OTLP_ENDPOINT" in switches.settings
    return int(EXPORT_DELAY) / 1000 + 0.3 if exporting else 0.3


async def page_round(server: Server, requests: int) -> float:
    """Seconds per first page, ``CONCURRENCY`` at a time."""
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=60) as client:
        remaining = requests

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                response = await client.post("/graphql/", json=PAGE)
                if response.status_code != 200 or b'"errors"' in response.content:
                    raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")

        await client.post("/graphql/", json=PAGE)  # the connection made
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return (time.perf_counter() - start) / requests


async def stream_round(server: Server) -> float:
    async with session(server.ws_url) as ws:
        streamed = await stream(ws, BATCH_SIZE)
    if streamed.products != PRODUCTS:
        raise RuntimeError(f"streamed {streamed.products} products, not {PRODUCTS}")
    return streamed.seconds


def serve_collector(ready: "multiprocessing.Queue[str]") -> None:
    with Collector(keep=False).running() as collector:
        ready.put(collector.endpoint)
        while True:
            time.sleep(3600)


async def run(rounds: int, requests: int, baseline: Code | None) -> list[tuple[Switches, Figures]]:
    context = multiprocessing.get_context("spawn")
    ready: multiprocessing.Queue[str] = context.Queue()
    collector = context.Process(target=serve_collector, args=(ready,), daemon=True)
    collector.start()
    try:
        endpoint = await asyncio.to_thread(ready.get, timeout=30)
        with tempfile.TemporaryDirectory() as metrics_dir:
            sets = switch_sets(endpoint, metrics_dir, baseline)
            async with AsyncExitStack() as stack:
                progress(f"starting {len(sets)} servers…")
                # One after another: eight importing Django at once on two cores
                # would outlast the startup timeout.
                running = [
                    await stack.enter_async_context(
                        servers.serving(
                            settings_of(switches, index),
                            root=switches.code.root if switches.code else servers.ROOT,
                        )
                    )
                    for index, switches in enumerate(sets)
                ]
                figures = {switches.label: Figures() for switches in sets}
                for server in running:  # warm-up: imports, the pool, the caches
                    await page_round(server, requests // 4)
                    await stream_round(server)
                for round_ in range(1, rounds + 1):
                    progress(f"round {round_}/{rounds}")
                    # Each round starts with another server, so none is always first.
                    order = list(zip(sets, running, strict=True))
                    order = order[round_ % len(order) :] + order[: round_ % len(order)]
                    for switches, server in order:
                        taken = figures[switches.label]
                        quiet_for = quiet_after(switches)
                        await server.idle(quiet_for=quiet_for)
                        cpu = server.cpu()
                        taken.page_wall.append(await page_round(server, requests))
                        await server.idle(quiet_for=quiet_for)
                        taken.page_cpu.append((server.cpu() - cpu) / requests)
                        cpu = server.cpu()
                        taken.stream_wall.append(await stream_round(server))
                        await server.idle(quiet_for=quiet_for)
                        taken.stream_cpu.append(server.cpu() - cpu)
                return [(switches, figures[switches.label]) for switches in sets]
    finally:
        collector.kill()


def ratio(figures: Figures, base: Figures, name: str) -> float:
    taken: list[float] = getattr(figures, name)
    baseline: list[float] = getattr(base, name)
    return statistics.median(taken) / statistics.median(baseline)


def table(results: list[tuple[Switches, Figures]], rounds: int, requests: int) -> list[str]:
    lines = [
        f"This checkout: {checkout().label}.",
        "",
        "| switches on | first page: server CPU, ms | × all off | wall × all off "
        f"| stream of {PRODUCTS:,}: server CPU, s | × all off | wall × all off |",
        "|---|---|---|---|---|---|---|",
    ]
    for switches, figures in results:
        # Each code's rows against its own all off: what its switches cost.
        base = next(taken for other, taken in results if other.code == switches.code)
        lines.append(
            f"| {switches.label} | {statistics.median(figures.page_cpu) * 1000:.2f} "
            f"| ×{ratio(figures, base, 'page_cpu'):.3f} | ×{ratio(figures, base, 'page_wall'):.2f} "
            f"| {statistics.median(figures.stream_cpu):.2f} "
            f"| ×{ratio(figures, base, 'stream_cpu'):.3f} "
            f"| ×{ratio(figures, base, 'stream_wall'):.2f} |"
        )
    base, everything = results[0][1], results[-1][1]
    worst = max(ratio(everything, base, "page_cpu"), ratio(everything, base, "stream_cpu"))
    verdict = "met" if worst <= GOAL else "missed"
    lines += [
        "",
        f"Medians of {rounds} rounds ({requests} first pages, {CONCURRENCY} at a time, then "
        f"one whole stream at batchSize {BATCH_SIZE}, per server and round); every server a "
        "fresh uvicorn process, all running at once and visited in turn. Server CPU time "
        "(user + system, from /proc) is the measure: it counts the work each switch adds, "
        "the exporter's thread included (a measurement waits for its last send), where "
        "wall-clock time counts whatever else "
        "the machine runs too. A baseline's rows are ratios to its own all off. "
        f"Goal: all on ≤ ×{GOAL} — {verdict} (×{worst:.3f}).",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300, help="first pages per round")
    parser.add_argument("--baseline", metavar="REF", help="git ref measured beside (before)")
    options = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres:", "postgresql:")):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database (created when missing).")
    ensure_database(url, PRODUCTS)
    with ExitStack() as stack:
        baseline = stack.enter_context(exported(options.baseline)) if options.baseline else None
        results = asyncio.run(run(options.rounds, options.requests, baseline))
    print("\n".join(table(results, options.rounds, options.requests)))


if __name__ == "__main__":
    main()
