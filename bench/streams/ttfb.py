"""Time to first batch: from ``subscribe`` to the first ``next`` on an open
websocket, at batch sizes 100 and 500, on 10,000 and on 1,000,000 products,
the goal being the same time at both sizes.

    DATABASE_URL=postgres://.../conveyor_bench python -m bench.streams.ttfb [--quick] [--deflate]

The run and its databases are ``bench.streams.harness``'s; ``python -m
bench.streams`` runs this with the other scenarios.
"""

import statistics
import sys
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

from bench.scenarios import progress
from bench.stream_client import first_batch_ms, session
from bench.streams import harness
from bench.streams.harness import BIG_PRODUCTS, SMALL_PRODUCTS, Bench, Options, Scenario, serving

TTFB_GOAL_MS = 50.0
TTFB_RATIO_GOAL = 1.5


@dataclass(frozen=True)
class FirstBatch:
    label: str
    products: int
    batch_size: int
    ms: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.ms)


async def measure(bench: Bench, options: Options) -> list[str]:
    progress("measuring time to first batch…")
    databases = [(bench.small_url, SMALL_PRODUCTS), (bench.big_url, BIG_PRODUCTS)]
    batch_sizes = (100, 500)
    async with AsyncExitStack() as stack:
        running = [await stack.enter_async_context(serving(url)) for url, _ in databases]
        sockets = [
            await stack.enter_async_context(session(server.ws_url, deflate=options.deflate))
            for server in running
        ]
        cells = {
            (products, size): FirstBatch(f"{products:,}", products, size)
            for _, products in databases
            for size in batch_sizes
        }
        plan = [
            (ws, cells[products, size])
            for ws, (_, products) in zip(sockets, databases, strict=True)
            for size in batch_sizes
        ]
        for _ in range(options.ttfb_warmups):
            for ws, cell in plan:
                await first_batch_ms(ws, cell.batch_size)
        for run in range(options.ttfb_runs):
            for ws, cell in plan:  # interleaved: noise falls on every cell alike
                cell.ms.append(await first_batch_ms(ws, cell.batch_size))
            if (run + 1) % 5 == 0:
                progress(f"  first batch: {run + 1}/{options.ttfb_runs} runs")
    lines = [
        "### Time to first batch",
        "",
        "| Products | " + " | ".join(f"batchSize {size}" for size in batch_sizes) + " |",
        "|---" * (len(batch_sizes) + 1) + "|",
    ]
    for _, products in databases:
        row = [f"{cells[products, size].median:.1f} ms" for size in batch_sizes]
        lines.append(f"| {products:,} | " + " | ".join(row) + " |")
    ratios = [
        cells[BIG_PRODUCTS, size].median / cells[SMALL_PRODUCTS, size].median
        for size in batch_sizes
    ]
    lines.append("| 1,000,000 / 10,000 | " + " | ".join(f"×{r:.2f}" for r in ratios) + " |")
    big = [cells[BIG_PRODUCTS, size].median for size in batch_sizes]
    ms_met = all(ms <= TTFB_GOAL_MS for ms in big)
    ratio_met = all(ratio <= TTFB_RATIO_GOAL for ratio in ratios)
    lines += [
        "",
        f"From `subscribe` to the first `next` on an open websocket (connection_ack received), "
        f"median of {options.ttfb_runs} interleaved runs after {options.ttfb_warmups} warm-up(s), "
        "one fresh uvicorn per database. "
        f"Goals: ≤ {TTFB_GOAL_MS:.0f} ms at 1,000,000 — {'met' if ms_met else 'missed'}; "
        f"1,000,000 / 10,000 ≤ {TTFB_RATIO_GOAL} — {'met' if ratio_met else 'missed'}.",
    ]
    return lines


SCENARIO = Scenario("ttfb", measure)


def main(argv: Sequence[str]) -> int:
    return harness.main(argv, [SCENARIO], "python -m bench.streams.ttfb", __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
