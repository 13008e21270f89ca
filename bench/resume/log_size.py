"""The change log's size over a long run of writes: a server pruning every
second what is older than 5 s (CHANGE_LOG_RETENTION=5,
CHANGE_LOG_PRUNE_INTERVAL=1) while a writer makes steady stock changes by
SQL, against the same run on a server that never prunes
(CHANGE_LOG_PRUNE_INTERVAL=0), and against pruning with the benchmark
itself running ``VACUUM`` of the log every 10 s (as autovacuum would, where
it is on): the log's rows and its ``pg_total_relation_size`` sampled every
few seconds, and the bytes a change costs.

    DATABASE_URL=postgres://.../conveyor_bench_resume python -m bench.resume.log_size
        [--duration S] [--rate N]

It runs on the harness's small database (``LOG_DATABASE``), whose log each
round empties first (``manage.py prune_change_log --retention 0``, then
``VACUUM FULL`` of the log). ``python -m bench.resume`` runs this with the
other scenarios.
"""

import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg

from bench.databases import manage
from bench.resume import harness
from bench.resume.harness import Bench, Options, Restartable, Scenario
from bench.scenarios import progress

RETENTION = 5
PRUNE_INTERVAL = 1
SAMPLE_EVERY = 5.0  # seconds
VACUUM_EVERY = 2  # samples, in the round that vacuums the log itself
TICK = 0.05  # seconds between the writer's UPDATEs
LOG = "products_productchange"


@dataclass
class Round:
    label: str
    vacuums: bool = False  # VACUUM of the log every VACUUM_EVERY samples
    changes: int = 0
    seconds: float = 0.0
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (s, rows, bytes)

    @property
    def rows(self) -> list[int]:
        return [rows for _, rows, _ in self.samples]

    @property
    def sizes(self) -> list[int]:
        return [size for _, _, size in self.samples]


async def measure(bench: Bench, options: Options) -> list[str]:
    url = bench.log_url
    ids = await product_ids(url)
    pruning = {
        "CHANGE_LOG_RETENTION": str(RETENTION),
        "CHANGE_LOG_PRUNE_INTERVAL": str(PRUNE_INTERVAL),
    }
    pruned = f"pruned every {PRUNE_INTERVAL} s, {RETENTION} s kept"
    plan = [
        (Round(pruned), pruning),
        (Round(f"{pruned}, VACUUM every {VACUUM_EVERY * SAMPLE_EVERY:.0f} s", True), pruning),
        (Round("never pruned (baseline)"), {"CHANGE_LOG_PRUNE_INTERVAL": "0"}),
    ]
    rounds = []
    for round, environment in plan:
        progress(f"log size, {round.label}: {options.rate}/s for {options.duration:.0f} s…")
        await asyncio.to_thread(empty_log, url)
        server = Restartable(url, environment)
        await server.start()
        try:
            rounds.append(await observed(round, url, ids, options))
        finally:
            await server.stop()
        last = rounds[-1].samples[-1]
        progress(f"  {rounds[-1].changes:,} changes; end: {last[1]:,} rows, {last[2]:,} bytes")
    return report(rounds, options, await setting(url, "autovacuum"))


async def setting(url: str, name: str) -> str:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        row = await (await conn.execute("SELECT current_setting(%s)", (name,))).fetchone()
    return str(row[0]) if row else "?"


async def product_ids(url: str) -> list[int]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cursor = await conn.execute("SELECT id FROM products_product ORDER BY id")
        return [id for (id,) in await cursor.fetchall()]


def empty_log(url: str) -> None:
    manage(url, "prune_change_log", "--retention", "0")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"VACUUM FULL {LOG}")


async def observed(round: Round, url: str, ids: Sequence[int], options: Options) -> Round:
    """Writes for ``options.duration`` seconds at ``options.rate`` while
    sampling the log, and once more at the end."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        writing = asyncio.create_task(write(url, ids, options))
        while not writing.done():
            round.samples.append(await size(conn, time.perf_counter() - started))
            if round.vacuums and len(round.samples) % VACUUM_EVERY == 0:
                await conn.execute(f"VACUUM {LOG}")
            await asyncio.wait([writing], timeout=SAMPLE_EVERY)
        round.changes, round.seconds = writing.result()
        round.samples.append(await size(conn, time.perf_counter() - started))
    return round


async def size(conn: psycopg.AsyncConnection, at: float) -> tuple[float, int, int]:
    cursor = await conn.execute(f"SELECT count(*), pg_total_relation_size('{LOG}') FROM {LOG}")
    row = await cursor.fetchone()
    assert row is not None
    return at, int(row[0]), int(row[1])


async def write(url: str, ids: Sequence[int], options: Options) -> tuple[int, float]:
    """Stock changes of random products, one UPDATE every TICK seconds, as
    many rows each as keep the rate; the changes made and the seconds."""
    made = ticks = 0
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        while (elapsed := time.perf_counter() - started) < options.duration:
            due = round(options.rate * elapsed) - made
            if due > 0:
                chosen = harness.sample(ids, due)
                cursor = await conn.execute(
                    "UPDATE products_product SET stock = stock + 1 WHERE id = ANY(%s)", (chosen,)
                )
                made += cursor.rowcount
            ticks += 1
            await asyncio.sleep(max(0.0, started + ticks * TICK - time.perf_counter()))
    return made, time.perf_counter() - started


def report(rounds: Sequence[Round], options: Options, autovacuum: str) -> list[str]:
    pruned, vacuumed, kept = rounds
    lines = [
        "#### The change log's size, pruned and not",
        "",
        "| Log | changes written | rows: start / peak / end | size: start / peak / end"
        " | end size / never pruned |",
        "|---|---|---|---|---|",
    ]
    for r in rounds:
        rows, sizes = r.rows, r.sizes
        lines.append(
            f"| {r.label} | {r.changes:,} in {r.seconds:.0f} s | {rows[0]:,} / {max(rows):,} /"
            f" {rows[-1]:,} | {kib(sizes[0])} / {kib(max(sizes))} / {kib(sizes[-1])}"
            f" | {sizes[-1] / kept.sizes[-1]:.3f} |"
        )
    grown = kept.sizes[-1] - kept.sizes[0]
    return [
        *lines,
        "",
        f"Samples every {SAMPLE_EVERY:.0f} s of `count(*)` and `pg_total_relation_size` of "
        f"{LOG} (table, its indexes and TOAST) while a writer makes {options.rate} "
        f"stock changes a second by SQL (one UPDATE every {TICK * 1000:.0f} ms), on a "
        f"server started with CHANGE_LOG_RETENTION={RETENTION} and "
        f"CHANGE_LOG_PRUNE_INTERVAL={PRUNE_INTERVAL}, then on one with "
        "CHANGE_LOG_PRUNE_INTERVAL=0, each round from an emptied log; in the second round "
        f"the benchmark runs `VACUUM` of the log every {VACUUM_EVERY * SAMPLE_EVERY:.0f} s. "
        f"PostgreSQL's autovacuum: {autovacuum}. Rows, pruned: {series(pruned.rows)}; "
        f"sizes (KiB), pruned: {series([s // 1024 for s in pruned.sizes])}; pruned and "
        f"vacuumed: {series([s // 1024 for s in vacuumed.sizes])}; never pruned: "
        f"{series([s // 1024 for s in kept.sizes])}. Bytes per change, never pruned: "
        f"{grown / kept.changes:.0f} ({kib(grown)} for {kept.changes:,} changes).",
    ]


def kib(size: int) -> str:
    return f"{size / 1024:,.0f} KiB"


def series(values: Sequence[int]) -> str:
    return " → ".join(f"{value:,}" for value in values)


SCENARIO = Scenario("log", measure, flags=("--duration", "--rate"))

if __name__ == "__main__":
    sys.exit(harness.main(sys.argv[1:], [SCENARIO], "python -m bench.resume.log_size", __doc__))
