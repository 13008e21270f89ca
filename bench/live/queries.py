"""Queries per change: the SQL statements one server runs for a price change
as its live subscribers grow from 1 to 1,000, the goal being a constant.

    DATABASE_URL=postgres://.../conveyor_bench_live python -m bench.live.queries [--quick]

The run and its database are ``bench.live.harness``'s; ``python -m
bench.live`` runs this with the other scenarios.
"""

import asyncio
import re
import statistics
import sys
import tempfile
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path

from bench.live import harness
from bench.live.clients import ClientGroup, subscribed
from bench.live.harness import Bench, Options, Scenario, product_gid, serving
from bench.live.price_changes import FanOut
from bench.scenarios import progress

STATEMENT = re.compile(r" django\.db\.backends \(\d+\.\d+\) (.*?); args=")


async def measure(bench: Bench, options: Options) -> list[str]:
    writer, products = bench.writer, bench.products
    progress("counting queries per change…")
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
        "#### Queries per change",
        "",
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


SCENARIO = Scenario("queries", measure)


def main(argv: Sequence[str]) -> int:
    return harness.main(argv, [SCENARIO], "python -m bench.live.queries", __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
