"""Exporting a million products over HTTP, against raw psycopg 3 reading the
same columns in the same order.

    DATABASE_URL=postgres://... python -m bench.export

Needs PostgreSQL with a catalog of at least a million products. In each of
``ROUNDS`` rounds it reads the whole catalog with a named (server-side)
psycopg cursor, then downloads ``/export/products.csv`` and ``.ndjson`` from
one uvicorn process, so that the machine's noise falls on all alike. It
reports rows per second as a ratio to the raw read, the time to the first
row, and how far the server's resident memory rose above what it was before
each download (its peak, ``VmHWM``, reset before each download).
Progress goes to stderr; the Markdown table of results to stdout.
"""

import asyncio
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from bench import http_load, servers
from bench.scenarios import progress

MIN_PRODUCTS = 1_000_000
ROUNDS = 3
ITERSIZE = 2_000
RATIO_GOAL = 0.15
MEMORY_GOAL_MB = 50

# The export's columns, and the keyset it reads in (CREATED_AT ASC).
RAW_SQL = """
SELECT p.id, p.sku, p.name, c.name, p.price, p.effective_discount_percent,
       p.discounted_price, p.stock, p.updated_at, p.created_at
FROM products_product p LEFT JOIN products_category c ON c.id = p.category_id
ORDER BY p.created_at, p.id
"""


@dataclass(frozen=True)
class Reading:
    rows: int
    seconds: float
    first_row: float  # seconds until the first row arrived
    memory_growth: float = 0.0  # MB of the server's peak RSS over its RSS before

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds


def read_raw(url: str) -> Reading:
    start = time.perf_counter()
    first_row = 0.0
    rows = 0
    with psycopg.connect(url) as connection, connection.cursor(name="bench_export") as cursor:
        cursor.itersize = ITERSIZE
        cursor.execute(RAW_SQL)
        for _ in cursor:
            if not rows:
                first_row = time.perf_counter() - start
            rows += 1
    return Reading(rows, time.perf_counter() - start, first_row)


def kilobytes(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def reset_peak(pid: int) -> None:
    """Sets the process's peak RSS (VmHWM) back to its current RSS."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


async def download(client: httpx.AsyncClient, format: str, pid: int) -> Reading:
    header_lines = 1 if format == "csv" else 0
    reset_peak(pid)
    rss_before = kilobytes(pid, "VmRSS")
    start = time.perf_counter()
    first_row = 0.0
    lines = 0
    async with client.stream("GET", f"/export/products.{format}") as response:
        response.raise_for_status()
        async for chunk in response.aiter_raw():
            lines += chunk.count(b"\n")  # seeded names hold no line breaks
            if not first_row and lines > header_lines:
                first_row = time.perf_counter() - start
    seconds = time.perf_counter() - start
    growth = (kilobytes(pid, "VmHWM") - rss_before) / 1024
    return Reading(lines - header_lines, seconds, first_row, growth)


def total(readings: list[Reading]) -> Reading:
    return Reading(
        rows=sum(r.rows for r in readings),
        seconds=sum(r.seconds for r in readings),
        first_row=statistics.median(r.first_row for r in readings),
        memory_growth=max(r.memory_growth for r in readings),
    )


def table(count: int, raw: Reading, exports: dict[str, Reading]) -> list[str]:
    lines = [
        "| Read of the whole catalog | rows/s, ratio to raw psycopg | rows/s "
        "| time to first row | peak memory growth of the server |",
        "|---|---|---|---|---|",
        f"| raw psycopg 3, named cursor (baseline) | ×1.00 | {raw.rows_per_second:,.0f} "
        f"| {raw.first_row * 1000:.1f} ms | — |",
    ]
    met = True
    for format, reading in exports.items():
        ratio = reading.rows_per_second / raw.rows_per_second
        met = met and ratio >= RATIO_GOAL and reading.memory_growth < MEMORY_GOAL_MB
        lines.append(
            f"| `GET /export/products.{format}` | ×{ratio:.2f} | {reading.rows_per_second:,.0f} "
            f"| {reading.first_row * 1000:.1f} ms | {reading.memory_growth:.1f} MB |"
        )
    lines += [
        "",
        f"{count:,} products; {ROUNDS} rounds, each reading the catalog raw, then as CSV, then "
        f"as NDJSON; rows/s over all rounds, median time to first row, largest memory growth. "
        f"Goals: ≥ ×{RATIO_GOAL} and < {MEMORY_GOAL_MB} MB — {'met' if met else 'missed'}.",
    ]
    return lines


async def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        progress("Set DATABASE_URL to the PostgreSQL database of the benchmark.")
        return 1
    with psycopg.connect(url) as connection:
        (count,) = connection.execute("SELECT count(*) FROM products_product").fetchone() or (0,)
    if count < MIN_PRODUCTS:
        progress(f"The catalog has {count:,} products; this benchmark needs {MIN_PRODUCTS:,}.")
        return 1

    raw: list[Reading] = []
    exports: dict[str, list[Reading]] = {"csv": [], "ndjson": []}
    async with (
        servers.serving(http_load.BENCH_SETTINGS) as server,
        httpx.AsyncClient(base_url=server.base_url, timeout=600) as client,
    ):
        for round in range(1, ROUNDS + 1):
            raw.append(await asyncio.to_thread(read_raw, url))
            progress(f"round {round}: raw {raw[-1].rows_per_second:,.0f} rows/s")
            for format, readings in exports.items():
                readings.append(await download(client, format, server.pid))
                if readings[-1].rows != count:
                    raise RuntimeError(f"{format}: {readings[-1].rows} rows, not {count}")
                progress(f"round {round}: {format} {readings[-1].rows_per_second:,.0f} rows/s")
    results = {format: total(readings) for format, readings in exports.items()}
    print("\n".join(table(count, total(raw), results)))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
