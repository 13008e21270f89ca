"""A category discount over 10,000 products: how long the live subscribers
of that category's products on sale take to hold all 10,000 after one
``services.save_category`` sets its discount, 1 subscriber against 100, at
two batch sizes.

    DATABASE_URL=postgres://.../conveyor_bench_live python -m bench.live.category_discount [--quick]

The run and its database are ``bench.live.harness``'s (which made the
category); ``python -m bench.live`` runs this with the other scenarios.
"""

import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from bench.live import harness
from bench.live.clients import subscribed
from bench.live.harness import (
    DISCOUNT_PRODUCTS,
    Bench,
    Options,
    Scenario,
    Writer,
    category_gid,
    product_gid,
    serving,
    set_discount,
)
from bench.scenarios import progress
from bench.servers import Server

DISCOUNT = Decimal("10.00")


@dataclass
class Spread:
    """Per subscriber and change: ms to the first LIVE batch and to holding all."""

    first: list[float] = field(default_factory=list)
    done: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


async def measure(bench: Bench, options: Options) -> list[str]:
    writer, category = bench.writer, bench.category
    progress("measuring a category discount…")
    n = options.category_subscribers
    results: dict[tuple[int, int], Spread] = {}
    async with serving() as server:
        await discount_round(writer, server, category, 1, 1000)  # warm-up
        for batch_size in options.category_batch_sizes:
            for _ in range(options.category_rounds):
                for subscribers in (1, n):  # interleaved
                    spread = await discount_round(writer, server, category, subscribers, batch_size)
                    cell = results.setdefault((batch_size, subscribers), Spread())
                    cell.first += spread.first
                    cell.done += spread.done
                    cell.cpu += spread.cpu
                    progress(
                        f"  batchSize {batch_size}, {subscribers} subscriber(s): all in "
                        f"{max(spread.done) / 1000:.2f} s"
                    )
    lines = [
        f"#### Category discount over {DISCOUNT_PRODUCTS:,} products",
        "",
        f"| batchSize | Live subscribers | first LIVE batch, median | all {DISCOUNT_PRODUCTS:,} "
        "held, median | all held, max | max / 1 subscriber | products/s sent | Server CPU |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for batch_size in options.category_batch_sizes:
        alone = results[batch_size, 1]
        for subscribers in (1, n):
            cell = results[batch_size, subscribers]
            worst = max(cell.done) / 1000
            rate = subscribers * DISCOUNT_PRODUCTS / statistics.median(cell.done) * 1000
            lines.append(
                f"| {batch_size} | {subscribers} | {statistics.median(cell.first):.0f} ms "
                f"| {statistics.median(cell.done) / 1000:.2f} s | {worst:.2f} s "
                f"| ×{max(cell.done) / max(alone.done):.1f} | {rate:,.0f} "
                f"| {statistics.mean(cell.cpu):.2f} s |"
            )
    lines += [
        "",
        f"`services.save_category` sets a {DISCOUNT}% discount on a category of "
        f"{DISCOUNT_PRODUCTS:,} products that all inherit it (one UPDATE, "
        f"{DISCOUNT_PRODUCTS:,} rows of the change log, read 1,000 at a time). The subscribers "
        "filter on that "
        "category and `onSale: true`, so their snapshot is empty and all "
        f"{DISCOUNT_PRODUCTS:,} products enter their view through LIVE batches. Times from "
        "the commit; 'all held' when a subscriber holds every product at its new version. "
        f"{options.category_rounds} round(s) per row, interleaved with the 1-subscriber "
        f"baseline, each on new subscriptions (2 client processes), the discount removed "
        "between rounds with no subscriber open. Products/s sent: subscribers × "
        f"{DISCOUNT_PRODUCTS:,} over the median time to all held. Server CPU: per change, "
        "from just before the commit to the last receipt. Two cores, shared.",
    ]
    return lines


async def discount_round(
    writer: Writer, server: Server, category: int, subscribers: int, batch_size: int
) -> Spread:
    variables = {
        "filter": {"categories": [category_gid(category)], "onSale": True},
        "b": batch_size,
    }
    async with subscribed([server.ws_url], subscribers, variables, processes=2) as group:
        if any(group.snapshot_sizes):
            raise RuntimeError("the category's products were on sale before the discount")
        versions = await writer.run(category_versions, category)
        await group.arm({"versions": {gid: v + 1 for gid, v in versions.items()}})
        await server.idle()
        cpu = server.cpu()
        commit = await writer.run(set_discount, category, DISCOUNT)
        reached = await group.reached()
        spent = server.cpu() - cpu
    # Without subscribers the server reads nothing of the reset.
    await server.idle()
    await writer.run(set_discount, category, None)
    spread = Spread(cpu=[spent])
    for first, done in reached:
        assert first is not None
        spread.first.append((first - commit) * 1000)
        spread.done.append((done - commit) * 1000)
    return spread


def category_versions(category_id: int) -> dict[str, int]:
    from products.models import Product

    rows = Product.objects.filter(category_id=category_id).values_list("id", "version")
    return {product_gid(pk): version for pk, version in rows}


SCENARIO = Scenario("category", measure)


def main(argv: Sequence[str]) -> int:
    return harness.main(argv, [SCENARIO], "python -m bench.live.category_discount", __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
