"""Fan-out on one process: how fast one committed price change reaches 1,000
live subscribers of one server, against one subscriber alone, written by the
mutations' service and by plain SQL in turn, what it costs the server and
the clients in CPU, and how many subscribers a change outside every filter
wakes.

    DATABASE_URL=postgres://.../conveyor_bench_live python -m bench.live.fanout [--quick]
        [--subscribers N] [--changes N] [--profile FILE]

The run and its database are ``bench.live.harness``'s; ``python -m
bench.live`` runs this with the other scenarios.
"""

import asyncio
import sys
from collections.abc import Sequence

from bench.live import harness
from bench.live.clients import CLIENT_PROCESSES, ClientGroup, all_reached, expecting, subscribed
from bench.live.harness import Bench, Options, Scenario, Writer, product_gid, profiling, serving
from bench.live.price_changes import (
    SPACING,
    WRITES,
    WRITTEN_BY,
    FanOut,
    Latencies,
    WriteBy,
    change_price,
    next_price,
    version_and_price,
)
from bench.scenarios import progress
from bench.servers import Server

P99_GOAL_MS = 100.0


async def measure(bench: Bench, options: Options) -> list[str]:
    writer, products = bench.writer, bench.products
    progress(f"measuring fan-out to {options.subscribers:,} subscribers…")
    variables = {"filter": {"ids": [product_gid(pk) for pk in products]}, "b": 100}
    one = {by: Latencies() for by in WRITES}
    many = {by: Latencies() for by in WRITES}
    async with serving(profile=options.profile) as server:
        fanout = FanOut(writer, bench.sql, products, [server])
        async with subscribed([server.ws_url], 1, variables, processes=1) as single:
            if single.snapshot_sizes != [len(products)]:
                raise RuntimeError(f"snapshot of {single.snapshot_sizes}, not {len(products)}")
            await fanout.change([single])  # warm-up
            await fanout_alone(fanout, single, one, options.changes // 2)
            progress(f"  1 subscriber: p50 {one['mutation'].p50:.1f} / {one['sql'].p50:.1f} ms")
            async with subscribed([server.ws_url], options.subscribers - 1, variables) as rest:
                progress(f"  {options.subscribers} subscribers open")
                await fanout.change([single, rest])  # warm-up
                with profiling(server, options.profile):
                    for n in range(options.changes):
                        for by in WRITES:  # in turn: the machine's noise falls on both
                            single_ms, rest_ms = await fanout.change([single, rest], by)
                            latencies = Latencies(
                                single_ms + rest_ms, fanout.cpu, [fanout.client_cpu]
                            )
                            many[by].add(latencies)
                            progress(
                                f"  {n + 1}/{options.changes} by {by}: last "
                                f"{max(latencies.ms):.0f} ms, server CPU "
                                f"{sum(fanout.cpu) * 1000:.0f} ms; p99 so far "
                                f"{many[by].p99:.0f} ms"
                            )
                woken, cpu = await unrelated_change(writer, fanout, [single, rest], server)
            await fanout_alone(fanout, single, one, options.changes - options.changes // 2)
    n = options.subscribers
    met = all(many[by].p99 <= P99_GOAL_MS for by in WRITES)
    lines = [
        "#### Fan-out on one process",
        "",
        "| Live subscribers on one process | written by | p50 | p99 | max "
        "| p99 / p50 (1 subscriber) | Server CPU per change | Clients' CPU per change |",
        "|---|---|---|---|---|---|---|---|",
        *(
            latency_row("1 (baseline, half before and half after)", by, one[by], one[by])
            for by in WRITES
        ),
        *(latency_row(f"{n:,}", by, many[by], one[by]) for by in WRITES),
        "",
        f"{options.changes} price changes per row, one at a time, the two writers in turn, "
        f"each after the server went idle plus {SPACING * 1000:.0f} ms; "
        f"{len(many['sql'].ms):,} (subscriber, change) pairs per writer at {n:,}. Written by "
        "mutation: `services.update_product` (what `updateProduct` runs) in the benchmark's "
        "process; by SQL: `UPDATE products_product SET price = … WHERE id = …` on the "
        "benchmark's own psycopg connection. Either way the server hears of the change "
        "from PostgreSQL (the log's NOTIFY) and reads it from the log. Latency: from the "
        "return of the writer's COMMIT to the receipt of the LIVE batch carrying the new "
        "version. Each subscriber selects 10 product fields and `category { id name }` with "
        f"a filter of {len(products)} ids (its snapshot: those {len(products)} products); "
        f"the {n - 1:,} others are spread over {CLIENT_PROCESSES} client processes, the "
        "baseline's subscriber has one of its own. Server CPU: user + system time of the "
        "uvicorn process from just before the commit to the last receipt; clients' CPU: the "
        "same for all client processes. Two cores, shared by the server, the client "
        f"processes and PostgreSQL. Goal: p99 ≤ {P99_GOAL_MS:.0f} ms at {n:,} — "
        f"{'met' if met else 'missed'}.",
        "",
        f"A price change to a product outside every subscriber's filter: {woken:,} of "
        f"{n:,} subscribers received a LIVE batch for it (its id in `removedIds`); server "
        f"CPU {cpu * 1000:.0f} ms.",
    ]
    return lines


async def fanout_alone(
    fanout: FanOut, single: ClientGroup, into: dict[WriteBy, Latencies], changes: int
) -> None:
    for _ in range(changes):
        for by in WRITES:
            (ms,) = await fanout.change([single], by)
            into[by].add(Latencies(ms, fanout.cpu, [fanout.client_cpu]))


async def unrelated_change(
    writer: Writer, fanout: FanOut, groups: Sequence[ClientGroup], server: Server
) -> tuple[int, float]:
    """Subscribers that got a LIVE batch for a change outside their filter, and
    the server's CPU seconds for it."""
    outsider = await writer.run(outside_product, fanout.products)
    await server.idle()
    await expecting(groups, {"versions": {}})
    await all_reached(groups)
    cpu = server.cpu()
    _, price = await writer.run(version_and_price, outsider)
    await writer.run(change_price, outsider, next_price(price))
    await asyncio.sleep(1.0)
    await server.idle()
    cpu = server.cpu() - cpu
    woken = [n for group in groups for n in await group.stats()]
    return sum(1 for batches in woken if batches), cpu


def outside_product(inside: list[int]) -> int:
    from products.models import Product

    return Product.objects.exclude(pk__in=inside).order_by("id").values_list("id", flat=True)[0]


def latency_row(label: str, by: WriteBy, figures: Latencies, baseline: Latencies) -> str:
    return (
        f"| {label} | {WRITTEN_BY[by]} | {figures.p50:.1f} ms | {figures.p99:.1f} ms | {figures.max:.1f} ms "
        f"| ×{figures.p99 / baseline.p50:.1f} | {figures.cpu_ms:.0f} ms "
        f"| {figures.client_cpu_ms:.0f} ms |"
    )


SCENARIO = Scenario("fanout", measure, flags=("--profile", "--subscribers", "--changes"))


def main(argv: Sequence[str]) -> int:
    return harness.main(argv, [SCENARIO], "python -m bench.live.fanout", __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
