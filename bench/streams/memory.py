"""Peak memory: how much the server's resident memory grows while it streams
a whole catalog of 10,000 and of 1,000,000 products, against a naive reader
that loads the table as model instances at once, the goal being a small and
flat growth.

    DATABASE_URL=postgres://.../conveyor_bench python -m bench.streams.memory [--quick] [--deflate]

The naive reader runs in a child process of its own (this module, with
``--naive-child``). The run and its databases are ``bench.streams.harness``'s;
``python -m bench.streams`` runs this with the other scenarios.
"""

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.scenarios import progress
from bench.servers import ROOT
from bench.stream_client import StreamError, session, stream, warm_up
from bench.streams import harness
from bench.streams.harness import (
    BIG_PRODUCTS,
    COLUMNS,
    SMALL_PRODUCTS,
    Bench,
    Options,
    Scenario,
    serving,
)

MEMORY_GOAL_MB = 50.0
NAIVE_CHILD_FLAG = "--naive-child"


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM (peak RSS) and the other kB figures of /proc/<pid>/status."""
    figures: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if value.strip().endswith(" kB"):
            figures[name] = int(value.split()[0])
    return figures


def reset_peak(pid: int) -> bool:
    """Resets VmHWM to the current RSS (Linux ≥ 4.0); False when not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Growth:
    label: str
    products: int
    baseline_kb: int  # VmRSS after startup and warm-up
    peak_kb: int  # VmHWM after the load
    peak_reset: bool
    seconds: float

    @property
    def growth_mb(self) -> float:
        return (self.peak_kb - self.baseline_kb) / 1024


async def measure(bench: Bench, options: Options) -> list[str]:
    progress("measuring peak memory…")
    streams: list[Growth] = []
    naives: list[Growth] = []
    for url, products in ((bench.small_url, SMALL_PRODUCTS), (bench.big_url, BIG_PRODUCTS)):
        growth = await server_growth(url, products, options)
        progress(f"  server streaming {products:,}: +{growth.growth_mb:.1f} MB")
        streams.append(growth)
        naive = await asyncio.to_thread(naive_growth, url)
        progress(f"  naive list of {products:,}: +{naive.growth_mb:.1f} MB")
        naives.append(naive)
    lines = [
        "### Peak memory",
        "",
        "| Process | Products | RSS after warm-up | Peak RSS (VmHWM) | Growth |",
        "|---|---|---|---|---|",
    ]
    for growth in [*streams, *naives]:
        lines.append(
            f"| {growth.label} | {growth.products:,} | {growth.baseline_kb / 1024:.1f} MB "
            f"| {growth.peak_kb / 1024:.1f} MB | +{growth.growth_mb:.1f} MB |"
        )
    small, big = streams
    difference = big.growth_mb - small.growth_mb
    naive_difference = naives[1].growth_mb - naives[0].growth_mb
    met = all(growth.growth_mb < MEMORY_GOAL_MB for growth in streams)
    reset = all(growth.peak_reset for growth in [*streams, *naives])
    lines += [
        "",
        f"Growth from 10,000 to 1,000,000 products: `productStream` {difference:+.1f} MB, "
        f"naive {naive_difference:+.1f} MB. Each stream on a fresh uvicorn process, read by "
        "one websocket client; RSS read after startup and a 10-product warm-up stream, then "
        + (
            "VmHWM reset (clear_refs 5) and read after the stream. "
            if reset
            else "VmHWM read after the stream (it could not be reset: it may include startup). "
        )
        + f"Goal: growth < {MEMORY_GOAL_MB:.0f} MB at both sizes, flat — "
        f"{'met' if met else 'missed'} (+{small.growth_mb:.1f} / +{big.growth_mb:.1f} MB).",
    ]
    return lines


async def server_growth(url: str, products: int, options: Options) -> Growth:
    async with serving(url) as server:
        await warm_up(server.ws_url, deflate=options.deflate)
        await asyncio.sleep(0.5)
        baseline = memory_kb(server.pid)["VmRSS"]
        reset = reset_peak(server.pid)
        async with session(server.ws_url, deflate=options.deflate) as ws:
            streamed = await stream(ws, 500)
        if streamed.products != products or not streamed.completed:
            raise StreamError(f"streamed {streamed.products:,} of {products:,} products")
        peak = memory_kb(server.pid)["VmHWM"]
    return Growth(
        "`productStream`, batchSize 500", products, baseline, peak, reset, streamed.seconds
    )


def naive_growth(url: str) -> Growth:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "api.settings"}
    command = [sys.executable, "-m", "bench.streams.memory", NAIVE_CHILD_FLAG]
    done = subprocess.run(
        command, cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=900
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return Growth(
        f"naive `list(Product.objects.only({', '.join(COLUMNS)}))`",
        int(figures["products"]),
        int(figures["baseline_kb"]),
        int(figures["peak_kb"]),
        bool(figures["reset"]),
        float(figures["seconds"]),
    )


def naive_child() -> None:
    """Runs in a subprocess: the whole table as model instances, at once."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings")
    import django

    django.setup()
    from products.models import Product

    list(Product.objects.only(*COLUMNS)[:10])  # warm-up: imports, the pool
    pid = os.getpid()
    baseline = memory_kb(pid)["VmRSS"]
    reset = reset_peak(pid)
    start = time.perf_counter()
    rows = list(Product.objects.only(*COLUMNS))
    seconds = time.perf_counter() - start
    peak = memory_kb(pid)["VmHWM"]
    print(
        json.dumps(
            {
                "products": len(rows),
                "baseline_kb": baseline,
                "peak_kb": peak,
                "reset": reset,
                "seconds": seconds,
            }
        )
    )


SCENARIO = Scenario("memory", measure)


def main(argv: Sequence[str]) -> int:
    if list(argv) == [NAIVE_CHILD_FLAG]:
        naive_child()
        return 0
    return harness.main(argv, [SCENARIO], "python -m bench.streams.memory", __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
