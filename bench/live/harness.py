"""What every live-updates scenario shares: its options, the database it
runs on, the writers, fresh servers, and the run that prepares them once and
measures the scenarios chosen in turn.

Creates, migrates and seeds the database of ``DATABASE_URL`` when it is
missing or empty (10,000 products, ``--seed 1``), and adds one category of
10,000 more products that inherit its discount (none at rest). Every server
is a fresh ``uvicorn api.asgi:application`` on that database, which tells it
of every committed change itself (the change log's triggers and NOTIFY).
This process is the writer, in two ways: through ``products.services`` with
Django set up on the same database, as the mutations write, and by plain SQL
on a psycopg connection of its own, as another program would. The
subscribers are ``websockets`` clients speaking ``graphql-transport-ws``,
spread over a few client processes (children of this one,
``bench.live.clients``); every receipt is stamped with the system-wide
monotonic clock, the same as the writer's. Latencies count from the writer's
commit (when its COMMIT returned) to the receipt of the LIVE batch carrying
the new version. Figures are compared with a baseline measured in the same
run. Progress goes to stderr; the Markdown tables of results to stdout.
"""

import argparse
import asyncio
import base64
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, AbstractContextManager, nullcontext
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import psycopg

from bench import servers
from bench.databases import database_name, ensure_seeded, product_count, vacuum
from bench.scenarios import add_scenario_arguments, measure, progress
from bench.servers import Server

SEEDED_PRODUCTS = 10_000
DISCOUNT_CATEGORY = "bench-live-discount"  # the slug of the category discount's category
DISCOUNT_PRODUCTS = 10_000
HANDFUL = 5  # products in the fan-out subscribers' filter

T = TypeVar("T")


def product_gid(pk: int) -> str:
    return base64.b64encode(f"Product:{pk}".encode()).decode()


def category_gid(pk: int) -> str:
    return base64.b64encode(f"Category:{pk}".encode()).decode()


# Options and scenarios ---------------------------------------------------------------

# The flags a scenario may read; a command offers those of its scenarios only.
FLAGS: dict[str, dict[str, Any]] = {
    "--profile": {
        "type": Path,
        "help": "profile the fan-out server (cProfile, its event loop) while 1,000 "
        "subscribers receive the changes, and write the stats to this file",
    },
    "--subscribers": {"type": int, "help": "fan-out subscribers (default 1,000)"},
    "--changes": {"type": int, "help": "changes per fan-out row and writer (default 24)"},
}


@dataclass(frozen=True)
class Options:
    sections: tuple[str, ...]
    subscribers: int  # fan-out on one process
    changes: int  # per side of the fan-out comparison
    query_subscribers: int  # the most subscribers of the queries scenario
    query_changes: int
    category_subscribers: int
    category_batch_sizes: tuple[int, ...]
    category_rounds: int
    profile: Path | None

    @classmethod
    def parse(
        cls,
        argv: Sequence[str],
        scenarios: Sequence["Scenario"],
        prog: str,
        description: str | None,
    ) -> "Options":
        parser = argparse.ArgumentParser(prog=prog, description=description)
        parser.set_defaults(section=None, profile=None, subscribers=None, changes=None)
        parser.add_argument("--quick", action="store_true", help="fewer subscribers and changes")
        sections = add_scenario_arguments(parser, scenarios, FLAGS)
        args = parser.parse_args(argv)
        quick: bool = args.quick
        return cls(
            sections=tuple(args.section or sections),
            subscribers=args.subscribers or (200 if quick else 1000),
            changes=args.changes or (6 if quick else 24),
            query_subscribers=200 if quick else 1000,
            query_changes=4 if quick else 10,
            category_subscribers=20 if quick else 100,
            category_batch_sizes=(1000,) if quick else (1000, 100),
            category_rounds=1 if quick else 2,
            profile=args.profile,
        )


@dataclass(frozen=True)
class Bench:
    """What the run prepared for every scenario."""

    writer: "Writer"
    sql: psycopg.Connection[Any]  # the writer's own, used on its thread
    products: list[int]  # the handful the fan-out subscribers filter on
    category: int  # the discount category, without a discount


@dataclass(frozen=True)
class Scenario:
    """One benchmark: its name for ``--section``, the flags of ``FLAGS`` it
    reads, and its measurement, which returns its results in Markdown, its
    heading first."""

    section: str
    measure: Callable[[Bench, Options], Awaitable[list[str]]]
    flags: tuple[str, ...] = ()


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


def committed(write: Callable[[], object]) -> float:
    """Runs ``write`` in a transaction; the monotonic time its commit returned,
    taken before any on_commit callback of the write runs."""
    from django.db import transaction

    stamps: list[float] = []
    with transaction.atomic():
        transaction.on_commit(lambda: stamps.append(time.monotonic()))
        write()
    return stamps[0]


def discount_category() -> int:
    """The category discount's category, made with its products when missing,
    and without a discount; its primary key."""
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
    settings: Mapping[str, str] | None = None, *, profile: Path | None = None
) -> AbstractAsyncContextManager[Server]:
    """A fresh server, on the default settings but ``settings``; with
    ``profile`` it runs bench.profiled_asgi, whose ``profiling()`` phases go
    to that file."""
    if profile is None:
        return servers.serving(settings)
    profiled = {**(settings or {}), "PROFILE_PATH": str(profile)}
    return servers.serving(profiled, app="bench.profiled_asgi:application")


def profiling(server: Server, profile: Path | None) -> AbstractContextManager[None]:
    return server.profiling() if profile else nullcontext()


# The run -----------------------------------------------------------------------------


async def run(options: Options, scenarios: Sequence[Scenario]) -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        progress("Set DATABASE_URL to a PostgreSQL database (created when missing).")
        return 1
    await asyncio.to_thread(ensure_seeded, url, SEEDED_PRODUCTS)
    setup_django()
    writer = Writer()
    sql = await writer.run(psycopg.connect, url)
    try:
        category = await writer.run(discount_category)
        await asyncio.to_thread(vacuum, url)
        products = await writer.run(handful)
        progress(
            f"{database_name(url)}: {product_count(url):,} products; "
            f"sections: {', '.join(options.sections)}"
        )
        bench = Bench(writer, sql, products, category)
        await measure(bench, scenarios, options)
    finally:
        await writer.run(sql.close)
        writer.close()
    return 0


def main(
    argv: Sequence[str], scenarios: Sequence[Scenario], prog: str, description: str | None
) -> int:
    """Runs those of ``scenarios`` the command line chooses, in their order."""
    return asyncio.run(run(Options.parse(argv, scenarios, prog, description), scenarios))
