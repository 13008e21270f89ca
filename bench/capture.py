"""What capturing every change costs the writers: a category discount over
10,000 products and ``manage.py seed_products --count 100000``, with the
change log's triggers (this checkout) and without them (``--baseline``, the
code before the log), in turn, on fresh databases; and the log's bytes per
change.

    DATABASE_URL=postgres://.../conveyor_bench_capture \\
        python -m bench.capture --baseline REF [--runs 3] [--seed-count 100000]

``--baseline`` names the commit measured as "before": it is exported
(``git archive``) into a temporary directory and run from there by this
interpreter, with the same installed packages (``bench.commits``); "after" is
this checkout. Every run of each code gets a database of its own, dropped and
created anew: ``DATABASE_URL``'s name with ``_before`` or ``_after``. A run
migrates it (not timed), times ``manage.py seed_products --count N --seed 1
--no-progress`` as a command (the interpreter's start included, the same for
both), then, in one process of that code (``bench.capture_discount``), adds a
category of 10,000 products inheriting its discount and times
``services.set_category_discount`` on it, three times (each reprices all
10,000). The two codes alternate, before first in even runs and after first
in odd ones, so that the machine's drift falls on both. Progress goes to
stderr; the Markdown tables of results to stdout.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.commits import Code, checkout, exported
from bench.databases import database_name, manage, recreate, with_database
from bench.scenarios import progress

DISCOUNT_PRODUCTS = 10_000
GOAL = 1.25  # after / before, at most
DISCOUNT_SOURCE = Path(__file__).with_name("capture_discount.py")


@dataclass(frozen=True)
class Options:
    baseline: str
    runs: int
    seed_count: int

    @classmethod
    def parse(cls, argv: Sequence[str]) -> "Options":
        parser = argparse.ArgumentParser(prog="python -m bench.capture", description=__doc__)
        parser.add_argument(
            "--baseline", required=True, help="git ref of the code without the log (before)"
        )
        parser.add_argument("--runs", type=int, default=3, help="runs of each code (default 3)")
        parser.add_argument(
            "--seed-count", type=int, default=100_000, help="products seeded (default 100,000)"
        )
        args = parser.parse_args(argv)
        return cls(args.baseline, args.runs, args.seed_count)


@dataclass
class Figures:
    seed: list[float] = field(default_factory=list)  # seconds per run
    discount: list[float] = field(default_factory=list)  # seconds per set
    # per run of the code with a log: its size after the seed, before and after the discounts
    logs: list[list[dict[str, int]]] = field(default_factory=list)


def one_run(code: Code, url: str, options: Options, into: Figures) -> None:
    recreate(url)
    manage(url, "migrate", "--noinput", root=code.root)
    started = time.perf_counter()
    manage(
        url,
        *("seed_products", "--count", str(options.seed_count), "--seed", "1", "--no-progress"),
        root=code.root,
    )
    into.seed.append(time.perf_counter() - started)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "api.settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(code.root), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, "-c", DISCOUNT_SOURCE.read_text(), str(DISCOUNT_PRODUCTS), "3"],
        cwd=code.root,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    into.discount += result["seconds"]
    if result["log"][0] is not None:
        into.logs.append(result["log"])


def ratio(before: list[float], after: list[float]) -> float:
    return statistics.median(after) / statistics.median(before)


def seconds(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s ({min(values):.2f}–{max(values):.2f})"


def table(before: Code, after: Code, figures: dict[str, Figures], options: Options) -> list[str]:
    b, a = figures["before"], figures["after"]
    rows = [
        (f"`seed_products --count {options.seed_count:,}`", b.seed, a.seed),
        (f"`set_category_discount` over {DISCOUNT_PRODUCTS:,} products", b.discount, a.discount),
    ]
    lines = [
        "| Write | without the log (before), median (range) | with it (after) | after / before "
        f"| goal ≤ ×{GOAL} |",
        "|---|---|---|---|---|",
    ]
    for label, without, with_log in rows:
        r = ratio(without, with_log)
        lines.append(
            f"| {label} | {seconds(without)} | {seconds(with_log)} | ×{r:.2f} "
            f"| {'met' if r <= GOAL else 'missed'} |"
        )
    lines += [
        "",
        f"Before: {before.label}; after: {after.label}. {options.runs} runs of each, "
        f"alternating, each on a fresh database: {len(b.seed)} seeds and {len(b.discount)} "
        f"discounts (10%, 20%, none, in turn) per code.",
        "",
        "| Change log (after) | rows | bytes (table + indexes) | bytes per change |",
        "|---|---|---|---|",
    ]
    for n, log in enumerate(a.logs, start=1):
        seeded, start, end = log
        updates = end["rows"] - start["rows"]
        grown = end["bytes"] - start["bytes"]
        lines += [
            f"| run {n}: after the seed | {seeded['rows']:,} | {seeded['bytes']:,} "
            f"| {seeded['bytes'] / seeded['rows']:.0f} |",
            f"| run {n}: the discounts' {updates:,} updates alone | {updates:,} | +{grown:,} "
            f"| {grown / updates:.0f} |",
        ]
    return lines


def main(argv: Sequence[str]) -> int:
    options = Options.parse(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        progress("Set DATABASE_URL to a PostgreSQL server's database name to derive from.")
        return 1
    name = database_name(url)
    started = time.monotonic()
    with exported(options.baseline) as before:
        after = checkout()
        codes = {"before": before, "after": after}
        figures = {side: Figures() for side in codes}
        progress(f"before: {before.label}, after: {after.label}")
        for run in range(options.runs):
            order = ("before", "after") if run % 2 == 0 else ("after", "before")
            for side in order:
                cell = figures[side]
                one_run(codes[side], with_database(url, f"{name}_{side}"), options, cell)
                progress(
                    f"  run {run + 1}, {side}: seed {cell.seed[-1]:.2f} s, discount "
                    + ", ".join(f"{s:.2f}" for s in cell.discount[-3:])
                    + " s"
                )
        lines = table(before, after, figures, options)
    progress(f"done in {time.monotonic() - started:.0f} s")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
