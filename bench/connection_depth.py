"""Does paging stay flat with depth, and what does it cost against stock
strawberry-graphql-django connections?

    DATABASE_URL=postgres://... python -m bench.connection_depth

Needs a catalog of at least a million products (``manage.py seed_products``).
Every figure is a ratio against a baseline measured in the same run: the first
page of the same connection for depth, the stock connection for throughput.
Progress goes to stderr; the Markdown tables of results to stdout.
"""

import asyncio
import os
import sys

import django

os.environ["DJANGO_SETTINGS_MODULE"] = "api.settings"
django.setup()

from django.db import connection  # noqa: E402

from bench import http_load, paging  # noqa: E402
from bench.scenarios import progress  # noqa: E402
from products.models import Product  # noqa: E402

MIN_PRODUCTS = 1_000_000
DEPTH_GOAL = 1.5


def depth_cell(figure: paging.Depth | str) -> str:
    if isinstance(figure, str):
        return f"fails: `{figure}`"
    ratio = f"{figure.ratio:.2f}" if figure.ratio < 10 else f"{figure.ratio:.0f}"
    return f"×{ratio} ({figure.first_ms:.1f} → {figure.deep_ms:.1f} ms)"


def depth_table(results: dict[str, dict[str, paging.Depth | str]]) -> list[str]:
    labels = [contender.label for contender in paging.CONTENDERS]
    lines = [
        "| Ordering | " + " | ".join(labels) + " |",
        "|---" * (len(labels) + 1) + "|",
    ]
    for ordering, figures in results.items():
        cells = [depth_cell(figures[label]) for label in labels]
        lines.append(f"| {ordering} | " + " | ".join(cells) + " |")
    project = [figures[labels[0]] for figures in results.values()]
    met = sum(isinstance(f, paging.Depth) and f.ratio <= DEPTH_GOAL for f in project)
    lines += [
        "",
        f"Deep/first, median of up to {paging.REPEAT} interleaved runs after {paging.WARMUP} "
        f"warm-ups (first page ms → page after row {paging.DEEP_INDEX + 1:,} ms). "
        f"Goal for {labels[0]}: ≤ {DEPTH_GOAL} — met for {met} of {len(project)} orderings.",
    ]
    return lines


async def main() -> int:
    count = await Product.objects.acount()
    if count < MIN_PRODUCTS:
        progress(
            f"The catalog has {count:,} products; this benchmark needs {MIN_PRODUCTS:,}. Run:\n"
            f"  python manage.py seed_products --count {MIN_PRODUCTS - count} --seed 1"
        )
        return 1
    progress(f"{count:,} products on {connection.display_name}; measuring paging depth…")
    depth = {
        ordering.label: await paging.measure_ordering(ordering, progress)
        for ordering in paging.ORDERINGS
    }
    progress("measuring HTTP throughput…")
    totals = await http_load.compare()
    print(f"{count:,} products on {connection.display_name}.\n")
    print("\n".join([*depth_table(depth), "", *http_load.throughput_table(totals)]))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
