"""What every ``productStream`` snapshot scenario shares: its options, the two
databases it runs on, fresh servers with the bounds printed beside the
figures, and the run that prepares them once and measures the scenarios
chosen in turn.

Needs the million-product database of docs/benchmarks.md; creates, migrates
and seeds ``conveyor_bench_10k`` (10,000 products) beside it when missing.
Every server is a fresh uvicorn process on the project's own settings
(``api.settings``). Figures are ratios against a baseline measured in the
same run. Progress goes to stderr; the Markdown tables of results to stdout.
"""

import argparse
import asyncio
import os
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from bench import servers
from bench.databases import database_name, ensure_database, product_count, with_database
from bench.scenarios import add_scenario_arguments, measure, progress
from bench.servers import Server

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


# Options and scenarios -------------------------------------------------------

# The flags a scenario may read; a command offers those of its scenarios only.
FLAGS: dict[str, dict[str, Any]] = {
    "--clients": {"type": int, "help": "concurrent clients (default 200)"},
    "--batch1-limit": {
        "type": int,
        "help": "products streamed at batchSize 1 (default 100,000)",
    },
}


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
    def parse(
        cls,
        argv: Sequence[str],
        scenarios: Sequence["Scenario"],
        prog: str,
        description: str | None,
    ) -> "Options":
        parser = argparse.ArgumentParser(prog=prog, description=description)
        parser.set_defaults(section=None, clients=None, batch1_limit=None)
        parser.add_argument("--quick", action="store_true", help="fewer runs, shorter streams")
        sections = add_scenario_arguments(parser, scenarios, FLAGS)
        parser.add_argument(
            "--deflate",
            action="store_true",
            help="let the client offer permessage-deflate, as browsers do (default: off)",
        )
        args = parser.parse_args(argv)
        quick: bool = args.quick
        return cls(
            sections=tuple(args.section or sections),
            ttfb_runs=5 if quick else 20,
            ttfb_warmups=1 if quick else 3,
            throughput_rounds=1 if quick else 2,
            throughput_limit=200_000 if quick else None,
            batch1_limit=args.batch1_limit or (10_000 if quick else 100_000),
            clients=args.clients or (50 if quick else 200),
            deflate=args.deflate,
        )


@dataclass(frozen=True)
class Bench:
    """What the run prepared for every scenario: the URLs of its two databases."""

    small_url: str  # SMALL_PRODUCTS products
    big_url: str  # BIG_PRODUCTS products


@dataclass(frozen=True)
class Scenario:
    """One benchmark: its name for ``--section``, the flags of ``FLAGS`` it
    reads, and its measurement, which returns its results in Markdown, its
    heading first."""

    section: str
    measure: Callable[[Bench, Options], Awaitable[list[str]]]
    flags: tuple[str, ...] = ()


# Databases -------------------------------------------------------------------


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


# The run ---------------------------------------------------------------------


async def run(options: Options, scenarios: Sequence[Scenario]) -> int:
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
    bench = Bench(small_url, big_url)
    await measure(bench, scenarios, options)
    return 0


def main(
    argv: Sequence[str], scenarios: Sequence[Scenario], prog: str, description: str | None
) -> int:
    """Runs those of ``scenarios`` the command line chooses, in their order."""
    return asyncio.run(run(Options.parse(argv, scenarios, prog, description), scenarios))
