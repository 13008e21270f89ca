"""Queries per change: the database work of the servers for one price
change, with 1 and 1,000 live subscribers, on one and on two processes; the
goals being a constant in the subscribers and at most one read of the log
per process for a group of changes.

    DATABASE_URL=postgres://.../conveyor_bench_live python -m bench.live.queries [--quick]

PostgreSQL counts the scans of every table (``pg_stat_user_tables``:
``seq_scan + idx_scan``): of ``products_productchange``, the reads of the
log; of ``products_product``, the reads of the changed rows. The counts are
the database's, whoever asked, so the writer's own scans are counted alone
in the same run (the same writes, no server) and taken off. One read of the
log is one statement but several scans, so what a read costs in these counts
is measured in the same run too: this process reads the log itself, with no
server, and the servers' reads are their scans of the log's primary key over
a read's. A backend
publishes its counts when it goes idle, at most once a second, else within
10 s: every count is taken after ``QUIET`` seconds with no work. The servers
of the per-change counts poll the log once an hour rather than every second
(``CHANGE_LOG_POLL_INTERVAL``), so that each read counted is one a change
caused; the poll's own reads are counted apart, on default servers with no
change at all.

The run and its database are ``bench.live.harness``'s; ``python -m
bench.live`` runs this with the other scenarios.
"""

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import psycopg

from bench.live import harness
from bench.live.clients import CLIENT_PROCESSES, ClientGroup, subscribed
from bench.live.harness import Bench, Options, Scenario, product_gid, serving
from bench.live.price_changes import FanOut
from bench.scenarios import progress
from bench.servers import Server

if TYPE_CHECKING:
    from products.changes import Frontier

LOG, ROWS = "products_productchange", "products_product"
LOG_KEY = "products_productchange_pkey"
# Seconds of no work before a count: PostgreSQL's PGSTAT_IDLE_INTERVAL (10 s) and some.
QUIET = 11.5
NO_POLL = {"CHANGE_LOG_POLL_INTERVAL": "3600"}
POLL_WINDOW = 30.0  # seconds the default servers are counted idle
CALIBRATION_READS = 20  # log reads of this process per kind of read measured


@dataclass(frozen=True)
class Scans:
    key: float  # of the log: its primary key, and any sequential scan
    log: float  # of the log: every scan
    rows: float  # of the products

    def __sub__(self, other: "Scans") -> "Scans":
        return Scans(self.key - other.key, self.log - other.log, self.rows - other.rows)

    def __truediv__(self, n: float) -> "Scans":
        return Scans(self.key / n, self.log / n, self.rows / n)

    def __str__(self) -> str:
        return f"{self.key:.2f} key, {self.log:.2f} log, {self.rows:.2f} product-row scans"


def table_scans(url: str) -> Scans:
    """The scans of the log and of the products so far, on a connection of
    its own (whose statistics snapshot is fresh). The scans of the log's
    primary key (and any sequential one) count its reads, at so many a read
    (``Read``); the scans of its index on ``transaction_id`` depend on the
    frontier's unfinished transactions too."""
    with psycopg.connect(url, autocommit=True) as conn:
        found: dict[str, int] = dict(
            conn.execute(
                "SELECT relname, coalesce(seq_scan, 0) + coalesce(idx_scan, 0)"
                " FROM pg_stat_user_tables WHERE relname = ANY(%s)",
                ([LOG, ROWS],),
            ).fetchall()
        )
        row = conn.execute(
            "SELECT t.seq_scan + i.idx_scan FROM pg_stat_user_tables t"
            " JOIN pg_stat_user_indexes i ON i.relid = t.relid"
            " WHERE t.relname = %s AND i.indexrelname = %s",
            (LOG, LOG_KEY),
        ).fetchone()
    assert row is not None
    return Scans(row[0], found[LOG], found[ROWS])


async def counted(url: str, work: Callable[[], Awaitable[None]]) -> Scans:
    """The scans of every backend during ``work``."""
    await asyncio.sleep(QUIET)
    before = await asyncio.to_thread(table_scans, url)
    await work()
    await asyncio.sleep(QUIET)
    return await asyncio.to_thread(table_scans, url) - before


@dataclass(frozen=True)
class Read:
    """What one read of the log (``products.changes.read_changes``, one
    statement) costs in the counts, measured in this process."""

    empty: Scans  # finding nothing, as most polls
    one: Scans  # finding one change, as the read a change causes


def read_log(frontier: "Frontier", times: int) -> int:
    """Reads the log at ``frontier`` ``times`` times; the changes each read found."""
    from products.changes import read_changes

    (found,) = {len(read_changes([frontier]).changes) for _ in range(times)}
    return found


def frontiers() -> tuple["Frontier", "Frontier"]:
    """Where a reader starting now stands, and the same one change behind."""
    from products.changes import current_frontier

    now = current_frontier()
    return now, replace(now, position=now.position - 1)


async def calibrated(bench: Bench, url: str) -> Read:
    """A read's scans, counted as the servers' are; the log must hold a change."""
    now, behind = await bench.writer.run(frontiers)

    async def reads(frontier: "Frontier", expected: int) -> Scans:
        async def work() -> None:
            found = await bench.writer.run(read_log, frontier, CALIBRATION_READS)
            assert found == expected, f"a calibration read found {found} changes"

        scans = await counted(url, work) / CALIBRATION_READS
        if scans.key <= 0:
            raise SystemExit(f"a log read scanned no key of {LOG}: {scans}")
        return scans

    return Read(await reads(now, 0), await reads(behind, 1))


@dataclass(frozen=True)
class Count:
    label: str
    processes: int
    per_change: Scans  # the servers' own, all processes together
    reads: float  # of the log, per change, all processes together


async def measure(bench: Bench, options: Options) -> list[str]:
    url = os.environ["DATABASE_URL"]
    writer, products, k = bench.writer, bench.products, options.query_changes
    progress("counting the servers' queries per change…")
    variables = {"filter": {"ids": [product_gid(pk) for pk in products]}, "b": 100}

    async def changes(fanout: FanOut, groups: Sequence[ClientGroup]) -> Scans:
        async def work() -> None:
            for _ in range(k):
                await fanout.change(groups, "sql")

        return await counted(url, work) / k

    writer_alone = await changes(FanOut(writer, bench.sql, products, []), [])
    progress(f"  the writer alone: {writer_alone} per change")
    read = await calibrated(bench, url)
    progress(f"  one log read of this process: {read.empty} empty, {read.one} finding a change")

    def count(label: str, processes: int, scans: Scans) -> Count:
        progress(f"  {processes} process(es), {label} subscribers: {scans} per change")
        return Count(label, processes, scans, scans.key / read.one.key)

    counts: list[Count] = []
    for processes in (1, 2):
        async with AsyncExitStack() as stack:
            servers: list[Server] = [
                await stack.enter_async_context(serving(NO_POLL)) for _ in range(processes)
            ]
            urls = [server.ws_url for server in servers]
            fanout = FanOut(writer, bench.sql, products, servers)
            few = await stack.enter_async_context(
                subscribed(urls, processes, variables, processes=processes)
            )
            await fanout.change([few])  # warm-up
            scans = await changes(fanout, [few]) - writer_alone
            label = f"{processes}" + (" (1 per process)" if processes > 1 else "")
            counts.append(count(label, processes, scans))
            more = options.query_subscribers - processes
            rest = await stack.enter_async_context(subscribed(urls, more, variables))
            await fanout.change([few, rest])  # warm-up
            scans = await changes(fanout, [few, rest]) - writer_alone
            label = f"{options.query_subscribers:,}" + (
                " (half per process)" if processes > 1 else ""
            )
            counts.append(count(label, processes, scans))

    async def idle() -> None:
        await asyncio.sleep(POLL_WINDOW)

    async with (
        serving() as a,
        serving() as b,
        subscribed([a.ws_url, b.ws_url], 2, variables, processes=2),
    ):
        polls = await counted(url, idle) / (2 * (POLL_WINDOW + QUIET))
    poll_reads = polls.key / read.empty.key
    progress(f"  the poll: {polls}, {poll_reads:.2f} reads per second per process")

    # Compared as printed: two decimals.
    def same(a: Count, b: Count) -> bool:
        return (round(a.reads, 2), round(a.per_change.rows, 2)) == (
            round(b.reads, 2),
            round(b.per_change.rows, 2),
        )

    constant = all(same(a, b) for a, b in zip(counts[::2], counts[1::2], strict=True))
    within = all(round(c.reads / c.processes, 2) <= 1 for c in counts)
    lines = [
        "#### Queries per change",
        "",
        "| Server processes | Live subscribers | log reads per change | per process "
        "| key scans per change | log scans per change | product-row scans per change "
        "| per process |",
        "|---|---|---|---|---|---|---|---|",
        *(
            f"| {c.processes} | {c.label} | {c.reads:.2f} | {c.reads / c.processes:.2f} "
            f"| {c.per_change.key:.2f} | {c.per_change.log:.2f} "
            f"| {c.per_change.rows:.2f} | {c.per_change.rows / c.processes:.2f} |"
            for c in counts
        ),
        f"| 2, default settings, no change | 1 per process | the poll, per second and "
        f"process: | {poll_reads:.2f} | {polls.key:.2f} | {polls.log:.2f} | {polls.rows:.2f} "
        "| |",
        "",
        f"Scans counted by PostgreSQL (`pg_stat_user_tables`, `seq_scan + idx_scan`) of "
        f"`{LOG}` (the log) and `{ROWS}` (the changed rows), over {k} price changes written "
        f"by SQL, one at a time as in the fan-out, after a warm-up change; the writer's own "
        f"scans, counted alone in the same run ({writer_alone.log:.2f} log, "
        f"{writer_alone.rows:.2f} product-row scans per change: its read of the version, "
        "its UPDATE), taken off. A log read is one statement "
        "(`products.changes.read_changes`) but several scans, measured in the same run: "
        f"this benchmark's process read the log {CALIBRATION_READS} times at the current "
        f"frontier, finding nothing ({read.empty.key:.2f} key scans, {read.empty.log:.2f} "
        f"log scans per read), and {CALIBRATION_READS} times one change behind it "
        f"({read.one.key:.2f} key scans, {read.one.log:.2f} log scans per read). Key scans "
        f"are those of `{LOG_KEY}` plus any sequential scan of the log; the log reads per "
        "change are the key scans over a read's finding a change, the poll's over an empty "
        "read's. The log scans also count those of the index on `transaction_id`, whose "
        "number depends on the frontier's unfinished transactions (the writers', never the "
        "subscribers'): the goals compare the reads and the product-row scans. "
        "Every count after "
        f"{QUIET:g} s of quiet: a backend publishes its counts when it goes idle, at most "
        "once a second, else within 10 s. The servers of the per-change rows poll the log "
        "once an hour (`CHANGE_LOG_POLL_INTERVAL=3600`), so that every read counted is one a "
        "change caused; the last row is two default servers (a poll every second) with one "
        f"subscriber each and no change, counted over {POLL_WINDOW + QUIET:g} s. The many "
        f"subscribers are spread over {CLIENT_PROCESSES} client processes, each connected to "
        "one server, in turn.",
        "",
        f"Goals: the same work (log reads, product-row scans) at 1 and at "
        f"{options.query_subscribers:,} subscribers — "
        f"{'met' if constant else 'missed'}; at most one log read per process per change — "
        f"{'met' if within else 'missed'}.",
    ]
    return lines


SCENARIO = Scenario("queries", measure)


def main(argv: Sequence[str]) -> int:
    return harness.main(argv, [SCENARIO], "python -m bench.live.queries", __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
