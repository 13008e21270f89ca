"""What every resume scenario shares: its options, the databases, the
changes made by SQL (as another program would make them), the statistics of
rows read, a server that can be stopped and started again on its port, and
the run.

``DATABASE_URL`` names the database of a million products in 100 categories
(``seed_products --count 1000000 --categories 100 --seed 1``), created,
migrated and seeded when missing or empty; the change log's scenario runs on
a database of its own beside it (``LOG_DATABASE``, 10,000 products), whose
log it empties first. The subscribers are ``bench.resume.views`` in this
process. Progress goes to stderr; the Markdown tables of results to stdout.
"""

import argparse
import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from bench import servers
from bench.databases import database_name, ensure_database, with_database
from bench.resume.views import global_id
from bench.scenarios import add_scenario_arguments, measure, progress

PRODUCTS = 1_000_000
CATEGORIES = 100
LOG_DATABASE = "conveyor_bench_resume_log"
LOG_PRODUCTS = 10_000

FLAGS: dict[str, dict[str, Any]] = {
    "--duration": {"type": float, "help": "seconds of writes per log round (default 60)"},
    "--rate": {"type": int, "help": "changes per second in the log rounds (default 200)"},
}


@dataclass(frozen=True)
class Options:
    sections: tuple[str, ...]
    duration: float
    rate: int

    @classmethod
    def parse(
        cls, argv: Sequence[str], scenarios: Sequence["Scenario"], prog: str, doc: str | None
    ) -> "Options":
        parser = argparse.ArgumentParser(prog=prog, description=doc)
        parser.set_defaults(section=None, duration=None, rate=None)
        sections = add_scenario_arguments(parser, scenarios, FLAGS)
        args = parser.parse_args(argv)
        return cls(
            sections=tuple(args.section or sections),
            duration=args.duration or 60.0,
            rate=args.rate or 200,
        )


@dataclass(frozen=True)
class Catalog:
    """The big database's products: every id, and the ids of each category."""

    url: str
    ids: list[int]
    by_category: Mapping[int, list[int]]


@dataclass(frozen=True)
class Bench:
    url: str  # the million products
    log_url: str  # LOG_PRODUCTS products, for the change log's scenario
    _catalog: list[Catalog] = field(default_factory=list)

    async def catalog(self) -> Catalog:
        """Read once, before any scenario counts rows read."""
        if not self._catalog:
            self._catalog.append(await read_catalog(self.url))
        return self._catalog[0]


@dataclass(frozen=True)
class Scenario:
    """One benchmark: its name for ``--section``, the flags of ``FLAGS`` it
    reads, and its measurement, which returns its results in Markdown, its
    heading first."""

    section: str
    measure: Callable[[Bench, Options], Awaitable[list[str]]]
    flags: tuple[str, ...] = ()


# SQL ----------------------------------------------------------------------------------


async def read_catalog(url: str) -> Catalog:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        rows = await (await conn.execute("SELECT id, category_id FROM products_product")).fetchall()
    by_category: dict[int, list[int]] = {}
    for id, category in rows:
        by_category.setdefault(category, []).append(id)
    return Catalog(url, [id for id, _ in rows], by_category)


async def change_prices(url: str, ids: Sequence[int]) -> dict[str, int]:
    """One UPDATE of ``ids``' prices (each a new version, one log row each), in
    its own transaction; gid → the version it gave."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cursor = await conn.execute(
            "UPDATE products_product SET price = price + 0.01 WHERE id = ANY(%s)"
            " RETURNING id, version",
            (list(ids),),
        )
        return {global_id("Product", id): version for id, version in await cursor.fetchall()}


def sample(ids: Sequence[int], n: int) -> list[int]:
    return random.sample(list(ids), n)


async def rows_read(url: str) -> int:
    """Rows of products_product read so far, by sequential and index scans.
    Backends report their counts at the end of a transaction, at most once a
    second, and when they exit: a caller reads this once the readers it
    measures are gone."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        cursor = await conn.execute(
            "SELECT COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0)"
            " FROM pg_stat_user_tables WHERE relname = 'products_product'"
        )
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


# A server that restarts ---------------------------------------------------------------


class Restartable:
    """A uvicorn of the project on one port, stopped and started again there,
    so that its clients reconnect to the same address."""

    def __init__(self, url: str, settings: Mapping[str, str] | None = None) -> None:
        self.port = servers.free_port()
        self.settings = {"DATABASE_URL": url, **(settings or {})}
        self.process: Any = None

    @property
    def ws_url(self) -> str:
        return f"ws://{servers.HOST}:{self.port}/graphql/"

    async def start(self) -> float:
        """Starts it; the perf_counter at which it first answered ``/readyz``."""
        self.process = servers.start(self.port, self.settings)
        await servers.wait_until_ready(self.process, f"http://{servers.HOST}:{self.port}")
        return time.perf_counter()

    async def stop(self) -> None:
        if self.process is not None:
            await asyncio.to_thread(servers.stop, self.process)
            self.process = None


# The run ------------------------------------------------------------------------------


def prepare(url: str) -> str:
    """Both databases, seeded when missing; the URL of the log's."""
    ensure_database(url, PRODUCTS, CATEGORIES)
    log_url = with_database(url, LOG_DATABASE)
    ensure_database(log_url, LOG_PRODUCTS)
    return log_url


async def run(options: Options, scenarios: Sequence[Scenario]) -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        progress("Set DATABASE_URL to a PostgreSQL database (created when missing).")
        return 1
    log_url = await asyncio.to_thread(prepare, url)
    progress(
        f"{database_name(url)}: {PRODUCTS:,} products in {CATEGORIES} categories; "
        f"{LOG_DATABASE}: {LOG_PRODUCTS:,}; sections: {', '.join(options.sections)}"
    )
    bench = Bench(url, log_url)
    await measure(bench, scenarios, options)
    return 0


def main(
    argv: Sequence[str], scenarios: Sequence[Scenario], prog: str, description: str | None
) -> int:
    """Runs those of ``scenarios`` the command line chooses, in their order."""
    return asyncio.run(run(Options.parse(argv, scenarios, prog, description), scenarios))
