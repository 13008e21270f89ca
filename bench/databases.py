"""The PostgreSQL databases the benchmarks run on, made by the project's own
management commands (``migrate``, ``seed_products --seed 1``) when missing or
empty, so that every benchmark finds the catalog its figures were taken on
without a step of its own."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from bench.scenarios import progress
from bench.servers import ROOT


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


def manage(url: str, *args: str, root: Path = ROOT) -> None:
    """A management command of the tree at ``root`` (another commit's export,
    say), run by this interpreter on the database of ``url``."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "api.settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "manage.py", *args]
    subprocess.run(command, cwd=root, env=env, check=True, stdout=sys.stderr, timeout=1800)


def recreate(url: str) -> None:
    """The database of ``url``, dropped if it exists and created empty."""
    name = sql.Identifier(database_name(url))
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))


def vacuum(url: str) -> None:
    """Fresh statistics after a bulk load, so that the plans measured are the
    ones a settled database gets."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def ensure_seeded(url: str, products: int, categories: int | None = None) -> int:
    """Creates, migrates and seeds (``products`` products, ``--seed 1``, and
    ``--categories`` when given) the database of ``url`` when missing or
    empty; the products it then holds, which may be more when a benchmark
    added its own beside the seeded ones."""
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
        spread = [] if categories is None else ["--categories", str(categories)]
        seed = ["seed_products", "--count", str(products), "--seed", "1", *spread]
        manage(url, *seed, "--no-progress")
        vacuum(url)
        count = product_count(url) or 0
    return count


def ensure_database(url: str, products: int, categories: int | None = None) -> None:
    """``ensure_seeded``, then exits when the database holds another number of
    products than ``products``, which no figure could be compared with."""
    count = ensure_seeded(url, products, categories)
    if count != products:
        name = database_name(url)
        raise SystemExit(
            f"{name} holds {count} products, not {products:,}; drop it "
            f"(dropdb -h HOST -U USER {name}) and run again to recreate it."
        )
