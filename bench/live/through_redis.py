"""Two processes through Redis: the fan-out of one price change to live
subscribers split over two server processes, whose listeners each read the
change once from one Redis PUBLISH, against all of them on one process.

    DATABASE_URL=postgres://.../conveyor_bench_live python -m bench.live.through_redis [--quick]
        [--subscribers N] [--changes N]

The run and its database are ``bench.live.harness``'s; ``python -m
bench.live`` runs this with the other scenarios.
"""

import sys
from collections.abc import Sequence

from bench.live import harness
from bench.live.clients import subscribed
from bench.live.harness import Bench, Options, Scenario, product_gid, serving
from bench.live.price_changes import FanOut, Latencies
from bench.scenarios import progress


async def measure(bench: Bench, options: Options) -> list[str]:
    writer, products = bench.writer, bench.products
    progress("measuring two processes through Redis…")
    variables = {"filter": {"ids": [product_gid(pk) for pk in products]}, "b": 100}
    half = options.subscribers // 2
    one, two_a, two_b = Latencies(), Latencies(), Latencies()
    async with serving() as a, serving() as b:
        fanout = FanOut(writer, products, [a, b])
        async with subscribed([a.ws_url], half, variables, processes=2) as first:

            async def alone(changes: int) -> None:
                async with subscribed([a.ws_url], half, variables, processes=2) as second:
                    await fanout.change([first, second])  # warm-up
                    for _ in range(changes):
                        ms_first, ms_second = await fanout.change([first, second])
                        one.add(Latencies(ms_first + ms_second, fanout.cpu[:1]))
                progress(f"  one process, {2 * half}: p99 so far {one.p99:.0f} ms")

            await alone(options.changes // 2)
            async with subscribed([b.ws_url], half, variables, processes=2) as other:
                await fanout.change([first, other])  # warm-up
                for _ in range(options.changes):
                    ms_a, ms_b = await fanout.change([first, other])
                    two_a.add(Latencies(ms_a, fanout.cpu[:1]))
                    two_b.add(Latencies(ms_b, fanout.cpu[1:]))
                progress(f"  two processes: p99 {two_a.p99:.0f} / {two_b.p99:.0f} ms")
            await alone(options.changes - options.changes // 2)
    both = Latencies(
        two_a.ms + two_b.ms, [a + b for a, b in zip(two_a.cpu, two_b.cpu, strict=True)]
    )
    lines = [
        "#### Two processes through Redis",
        "",
        "| Subscribers | p50 | p99 | max | p99 / p99 (one process) | Server CPU per change |",
        "|---|---|---|---|---|---|",
        redis_row(f"{2 * half:,} on one process (A)", one, one),
        redis_row(f"{half:,} on A, of {2 * half:,} over A and B", two_a, one),
        redis_row(f"{half:,} on B, of {2 * half:,} over A and B", two_b, one),
        redis_row(f"all {2 * half:,} over A and B", both, one),
        "",
        f"Two uvicorn processes with the same `REDIS_URL` and prefix; the writer (this "
        f"benchmark's process) commits a price change, its event goes out by one Redis "
        f"PUBLISH and each process's listener reads the row once. {options.changes} changes "
        f"over A and B, {options.changes} on A alone (half before, half after), the same "
        "filter and selection as above, 4 client processes. Server CPU: the process(es) "
        "holding the subscribers, summed. Two cores, shared by both servers, the clients, "
        "PostgreSQL and Redis.",
    ]
    return lines


def redis_row(label: str, figures: Latencies, baseline: Latencies) -> str:
    return (
        f"| {label} | {figures.p50:.1f} ms | {figures.p99:.1f} ms | {figures.max:.1f} ms "
        f"| ×{figures.p99 / baseline.p99:.2f} | {figures.cpu_ms:.0f} ms |"
    )


SCENARIO = Scenario("redis", measure, flags=("--subscribers", "--changes"))


def main(argv: Sequence[str]) -> int:
    return harness.main(argv, [SCENARIO], "python -m bench.live.through_redis", __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
