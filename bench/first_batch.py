"""How long a new ``productStream`` subscriber waits for its first batch while
other streams are running, and what those streams get meanwhile: before and
after, in the same run.

    DATABASE_URL=postgres://.../conveyor_first20k \\
        python -m bench.first_batch --baseline REF [--tries 60] [--streams 0,20,200]

The database of ``DATABASE_URL`` is created, migrated and seeded with 20,000
products when missing or empty. ``--baseline`` names the commit measured
first ("before"): it is exported (``git archive``) into a temporary directory
and served from there by this interpreter, with the same installed packages;
"after" is this checkout, uncommitted changes included. Every configuration
(code, batch size, number of other streams) gets a fresh uvicorn.

The other streams are full snapshot streams (no ``live``), each on its own
websocket, read as fast as a client can and subscribed again as soon as one
completes, so that they run for the whole measurement; their clients live in
a child process, so that their work does not delay the measuring client's
event loop. Each try opens a websocket, subscribes, takes the first batch (or
gives up after ``--timeout`` seconds: a timed-out try counts as longer than
any that came) and closes it. Progress goes to stderr; the Markdown tables of
results to stdout.
"""

import argparse
import asyncio
import json
import math
import os
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import servers
from bench.commits import Code, checkout, exported
from bench.databases import database_name, ensure_database, product_count
from bench.percentiles import percentile
from bench.scenarios import progress
from bench.stream_client import StreamError, first_batch_ms, session, stream, warm_up

ROOT = Path(__file__).resolve().parent.parent
PRODUCTS = 20_000
READY_SECONDS = 120.0  # for every other stream's websocket to be open
CHILD_FLAG = "--load-child"


def counts(text: str) -> tuple[int, ...]:
    """A comma-separated list of whole numbers, as given on the command line."""
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text}") from None


@dataclass(frozen=True)
class Options:
    baseline: str
    tries: int
    streams: tuple[int, ...]
    batch_sizes: tuple[int, ...]
    timeout: float
    settle: float

    @classmethod
    def parse(cls, argv: Sequence[str]) -> "Options":
        parser = argparse.ArgumentParser(prog="python -m bench.first_batch", description=__doc__)
        parser.add_argument(
            "--baseline", required=True, help="git ref of the code measured first (before)"
        )
        parser.add_argument("--tries", type=int, default=60, help="new subscribers per cell")
        parser.add_argument(
            "--streams",
            type=counts,
            default=(0, 20, 200),
            help="numbers of other streams running (default 0,20,200)",
        )
        parser.add_argument(
            "--batch-sizes", type=counts, default=(1, 500), help="batch sizes (default 1,500)"
        )
        parser.add_argument(
            "--timeout", type=float, default=2.0, help="seconds a try waits for its first batch"
        )
        parser.add_argument(
            "--settle",
            type=float,
            default=1.0,
            help="seconds the other streams run before the measurement starts",
        )
        args = parser.parse_args(argv)
        return cls(
            args.baseline, args.tries, args.streams, args.batch_sizes, args.timeout, args.settle
        )


# The other streams: a child process ----------------------------------------------


@dataclass
class Reader:
    """What one of the other streams received so far, over its restarts."""

    rows: int = 0
    batches: int = 0
    failure: str | None = None
    settled: asyncio.Event = field(default_factory=asyncio.Event)  # open, or failed

    def add(self, rows: int) -> None:
        self.rows += rows
        self.batches += 1


async def keep_streaming(url: str, batch_size: int, reader: Reader) -> None:
    """One full snapshot stream after another on one websocket, until cancelled."""
    try:
        async with session(url) as ws:
            reader.settled.set()
            while True:
                # No silence is too long: a starved stream is what is measured.
                await stream(ws, batch_size, within=None, on_batch=reader.add)
    except Exception as error:  # reported by the next mark
        reader.failure = repr(error)
        reader.settled.set()


def emit(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


async def load_child(url: str, count: int, batch_size: int) -> None:
    """Runs in the child: ``count`` streams; answers each line on stdin with
    what every stream received so far, and stops at the end of stdin."""
    readers = [Reader() for _ in range(count)]
    tasks = [asyncio.create_task(keep_streaming(url, batch_size, r)) for r in readers]
    await asyncio.gather(*(reader.settled.wait() for reader in readers))
    emit({"ready": True})
    while await asyncio.to_thread(sys.stdin.readline):
        emit(
            {
                "at": time.perf_counter(),
                "rows": [reader.rows for reader in readers],
                "batches": [reader.batches for reader in readers],
                "failures": [reader.failure for reader in readers if reader.failure],
            }
        )
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@dataclass(frozen=True)
class Mark:
    at: float  # the child's perf_counter (seconds)
    rows: list[int]
    batches: list[int]


class Load:
    """The other streams, run by a child process and asked for their counts."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def answer(self, within: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        async with asyncio.timeout(within):
            line = await self.process.stdout.readline()
        if not line:
            raise StreamError(f"the streams' process exited ({await self.process.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def mark(self) -> Mark:
        assert self.process.stdin is not None
        self.process.stdin.write(b"mark\n")
        await self.process.stdin.drain()
        answer = await self.answer(30.0)
        if answer["failures"]:
            failures = answer["failures"]
            raise StreamError(f"{len(failures)} other stream(s) failed; first: {failures[0]}")
        return Mark(float(answer["at"]), list(answer["rows"]), list(answer["batches"]))


@asynccontextmanager
async def running(url: str, count: int, batch_size: int) -> AsyncIterator[Load]:
    """``count`` streams, every websocket open, stopped on the way out."""
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bench.first_batch", CHILD_FLAG),
        *(url, str(count), str(batch_size)),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    load = Load(process)
    try:
        await load.answer(READY_SECONDS)
        yield load
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 60)
        except TimeoutError:
            process.kill()
            await process.wait()


# Measurement ------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One configuration's figures."""

    ms: list[float]  # time to first batch per try; inf: timed out
    streams: int
    served: int  # other streams that received a batch during the tries
    rows_per_second: float  # all the other streams together

    @property
    def timed_out(self) -> int:
        return sum(1 for ms in self.ms if math.isinf(ms))


async def try_first_batch(url: str, batch_size: int, within: float) -> float:
    """A new subscriber's milliseconds to its first batch; inf past ``within`` seconds."""
    async with session(url) as ws:
        try:
            return await first_batch_ms(ws, batch_size, within=within)
        except TimeoutError:
            return math.inf


async def first_batches(url: str, batch_size: int, options: Options) -> list[float]:
    return [await try_first_batch(url, batch_size, options.timeout) for _ in range(options.tries)]


async def measure(
    code: Code, database_url: str, batch_size: int, streams: int, options: Options
) -> Cell:
    # Warnings and errors still show; the access log's line per connection would
    # bury the progress.
    settings = {"DATABASE_URL": database_url, "ACCESS_LOG_LEVEL": "WARNING"}
    async with servers.serving(settings, root=code.root) as server:
        await warm_up(server.ws_url)
        if streams == 0:
            return Cell(await first_batches(server.ws_url, batch_size, options), 0, 0, 0.0)
        async with running(server.ws_url, streams, batch_size) as load:
            await asyncio.sleep(options.settle)
            first = await load.mark()
            ms = await first_batches(server.ws_url, batch_size, options)
            last = await load.mark()
    rows = sum(last.rows) - sum(first.rows)
    served = sum(1 for a, b in zip(first.batches, last.batches, strict=True) if b > a)
    return Cell(ms, streams, served, rows / (last.at - first.at))


# Report -----------------------------------------------------------------------


def ratio(before: float, after: float) -> str:
    """After / before, when both are figures (not timeouts)."""
    if before <= 0 or math.isinf(before) or math.isinf(after):
        return ""
    return f" (×{after / before:.2f})"


def latency(cell: Cell, p: float, timeout: float) -> str:
    value = percentile(cell.ms, p)
    if math.isinf(value):
        return f">{timeout * 1000:.0f} ({cell.timed_out}/{len(cell.ms)} timed out)"
    return f"{value:.1f}"


def latencies(before: Cell, after: Cell, p: float, timeout: float) -> str:
    figures = f"{latency(before, p, timeout)} → {latency(after, p, timeout)}"
    return figures + ratio(percentile(before.ms, p), percentile(after.ms, p))


def table(cells: dict[int, tuple[Cell, Cell]], options: Options) -> list[str]:
    lines = [
        "| Streams running | p50 ms before → after | p99 ms before → after "
        "| Served before → after | Rows/s before → after |",
        "|---|---|---|---|---|",
    ]
    for streams, (before, after) in cells.items():
        if streams:
            served = f"{before.served}/{streams} → {after.served}/{streams}"
            rows = f"{before.rows_per_second:,.0f} → {after.rows_per_second:,.0f}" + ratio(
                before.rows_per_second, after.rows_per_second
            )
        else:
            served = rows = "—"
        lines.append(
            f"| {streams} | {latencies(before, after, 50, options.timeout)} "
            f"| {latencies(before, after, 99, options.timeout)} | {served} | {rows} |"
        )
    return lines


def summary(cell: Cell, timeout: float) -> str:
    line = f"p50 {latency(cell, 50, timeout)}, p99 {latency(cell, 99, timeout)} (ms)"
    if cell.streams:
        line += f", served {cell.served}/{cell.streams}, {cell.rows_per_second:,.0f} rows/s"
    return line


async def run(options: Options) -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        progress("Set DATABASE_URL to a PostgreSQL database (created when missing).")
        return 1
    await asyncio.to_thread(ensure_database, url, PRODUCTS)
    started = time.monotonic()
    results: dict[int, dict[int, tuple[Cell, Cell]]] = {size: {} for size in options.batch_sizes}
    with exported(options.baseline) as before:
        after = checkout()
        progress(
            f"{database_name(url)}: {product_count(url):,} products; "
            f"before: {before.label}, after: {after.label}"
        )
        for size in options.batch_sizes:
            for streams in options.streams:
                # Before and after side by side: the machine's noise falls on both alike.
                pair = []
                for name, code in (("before", before), ("after", after)):
                    cell = await measure(code, url, size, streams, options)
                    progress(
                        f"  batchSize {size}, {streams} streams, {name}: "
                        + summary(cell, options.timeout)
                    )
                    pair.append(cell)
                results[size][streams] = (pair[0], pair[1])
    output: list[str] = []
    for size, cells in results.items():
        output += ["", f"#### batchSize {size}", "", *table(cells, options)]
    output += [
        "",
        f"Before: {before.label}; after: {after.label}; {PRODUCTS:,} products. A new "
        f"subscriber's time from `subscribe` to its first `next` ({options.tries} tries per "
        f"row, each on a websocket of its own; a try without a first batch within "
        f"{options.timeout:g} s counts as longer than that) while the other streams — full "
        "snapshot streams at the same batch size, each on its own websocket, read as fast "
        "as a client can and restarted when they complete — keep running. Served: the "
        "other streams that received at least one batch during the tries; rows/s: the "
        "products they received all together during the tries. Ratios are after / before. "
        "Every row and code on a fresh uvicorn.",
    ]
    progress(f"done in {time.monotonic() - started:.0f} s")
    print("\n".join(output).lstrip("\n"))
    return 0


def main(argv: Sequence[str]) -> int:
    if list(argv[:1]) == [CHILD_FLAG]:
        url, count, batch_size = argv[1:]
        asyncio.run(load_child(url, int(count), int(batch_size)))
        return 0
    return asyncio.run(run(Options.parse(argv)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
