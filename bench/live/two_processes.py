"""Two server processes on one PostgreSQL: the fan-out of one price change to
live subscribers split over two server processes, each tailing the change
log on its own, against all of them on one process; written by the
mutations' service and by plain SQL in turn.

    DATABASE_URL=postgres://.../conveyor_bench_live python -m bench.live.two_processes [--quick]
        [--subscribers N] [--changes N]

The run and its database are ``bench.live.harness``'s; ``python -m
bench.live`` runs this with the other scenarios.
"""

import sys
from collections.abc import Sequence

from bench.live import harness
from bench.live.clients import subscribed
from bench.live.fanout import P99_GOAL_MS
from bench.live.harness import Bench, Options, Scenario, product_gid, serving
from bench.live.price_changes import WRITES, WRITTEN_BY, FanOut, Latencies, WriteBy
from bench.scenarios import progress


async def measure(bench: Bench, options: Options) -> list[str]:
    writer, products = bench.writer, bench.products
    progress("measuring two processes on one PostgreSQL…")
    variables = {"filter": {"ids": [product_gid(pk) for pk in products]}, "b": 100}
    half = options.subscribers // 2
    one = {by: Latencies() for by in WRITES}
    two = {by: Latencies() for by in WRITES}
    async with serving() as a, serving() as b:
        fanout = FanOut(writer, bench.sql, products, [a, b])
        async with subscribed([a.ws_url], half, variables, processes=2) as first:

            async def alone(changes: int) -> None:
                async with subscribed([a.ws_url], half, variables, processes=2) as second:
                    await fanout.change([first, second])  # warm-up
                    for _ in range(changes):
                        for by in WRITES:
                            ms_first, ms_second = await fanout.change([first, second], by)
                            one[by].add(Latencies(ms_first + ms_second, fanout.cpu[:1]))
                progress(f"  one process, {2 * half}: p99 so far {p99s(one)}")

            await alone(options.changes // 2)
            async with subscribed([b.ws_url], half, variables, processes=2) as other:
                await fanout.change([first, other])  # warm-up
                for _ in range(options.changes):
                    for by in WRITES:
                        ms_a, ms_b = await fanout.change([first, other], by)
                        two[by].add(Latencies(ms_a + ms_b, [sum(fanout.cpu)]))
                progress(f"  two processes: p99 {p99s(two)}")
            await alone(options.changes - options.changes // 2)
    met = all(two[by].p99 <= P99_GOAL_MS for by in WRITES)
    lines = [
        "#### Two processes on one PostgreSQL",
        "",
        "| Subscribers | written by | p50 | p99 | max | p99 / p99 (one process) "
        "| Server CPU per change |",
        "|---|---|---|---|---|---|---|",
        *(row(f"{2 * half:,} on one process (A)", by, one[by], one[by]) for by in WRITES),
        *(row(f"{half:,} on A + {half:,} on B", by, two[by], one[by]) for by in WRITES),
        "",
        "Two uvicorn processes on the same database, no other broker: the writer (this "
        "benchmark's process) commits a price change, by mutation or by SQL as in the "
        "fan-out above; the log's trigger NOTIFYs, and each process reads the log and the "
        f"changed row once for all its subscribers. {options.changes} changes per writer "
        f"over A and B, {options.changes} per writer on A alone (half before, half after), "
        "the writers in turn, the same filter and selection as above, 4 client processes. "
        "Server CPU: the process(es) holding the subscribers, summed. Two cores, shared by "
        "both servers, the clients and PostgreSQL. "
        f"Goal: p99 ≤ {P99_GOAL_MS:.0f} ms over A and B — {'met' if met else 'missed'}.",
    ]
    return lines


def p99s(figures: dict[WriteBy, Latencies]) -> str:
    return " / ".join(f"{figures[by].p99:.0f} ms by {by}" for by in WRITES)


def row(label: str, by: WriteBy, figures: Latencies, baseline: Latencies) -> str:
    return (
        f"| {label} | {WRITTEN_BY[by]} | {figures.p50:.1f} ms | {figures.p99:.1f} ms "
        f"| {figures.max:.1f} ms | ×{figures.p99 / baseline.p99:.2f} | {figures.cpu_ms:.0f} ms |"
    )


SCENARIO = Scenario("two", measure, flags=("--subscribers", "--changes"))


def main(argv: Sequence[str]) -> int:
    return harness.main(argv, [SCENARIO], "python -m bench.live.two_processes", __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
