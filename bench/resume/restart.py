"""Restart: 100 live subscribers, each holding one category of 10,000
products, through a server restart (the uvicorn terminated, 2,000 changes
made by SQL over all categories, the server started again): all resume by
their tokens, against all subscribing afresh, in separate rounds of the
same run. Measured: the rows the server read from products_product, and
the time from the server answering again until all 100 are up to date.

    DATABASE_URL=postgres://.../conveyor_bench_resume python -m bench.resume.restart

The run and its databases are ``bench.resume.harness``'s; ``python -m
bench.resume`` runs this with the other scenarios.
"""

import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from bench.resume import harness
from bench.resume.harness import Bench, Catalog, Options, Restartable, Scenario
from bench.resume.views import Expected, View, all_reached, global_id
from bench.scenarios import progress

CHANGES = 2000
BATCH_SIZE = 1000
ROUNDS = ("resume", "afresh", "resume")
ROWS_GOAL = 0.02  # rows read by resuming, of those read by subscribing afresh
SECONDS_GOAL = 5.0
WITHIN = 900.0
# Seconds for the backends of a stopped server (and the writer's) to report what they read.
REPORTED = 1.0


@dataclass(frozen=True)
class Round:
    how: str
    rows_read: int
    rows_sent: int
    seconds: float


async def measure(bench: Bench, options: Options) -> list[str]:
    catalog = await bench.catalog()
    categories = sorted(catalog.by_category)
    views = [View({"categories": [global_id("Category", c)]}, BATCH_SIZE) for c in categories]
    server = Restartable(bench.url)
    progress(f"{len(views)} live subscribers, one category each…")
    await server.start()
    try:
        for view, category in zip(views, categories, strict=True):
            view.expect(Expected({}, len(catalog.by_category[category])))
        following = [asyncio.create_task(v.follow(server.ws_url, resume=False)) for v in views]
        await all_reached(views, following, WITHIN)
        progress("  all hold their category")
        rounds = []
        for how in ROUNDS:
            # Stopped at the end of every round: its backends' reads are then reported.
            await server.stop()
            await asyncio.gather(*following)  # each ends as its connection closes
            expected = await changes_while_down(catalog, categories)
            for view, category in zip(views, categories, strict=True):
                view.expect(expected[category])
            await asyncio.sleep(REPORTED)
            before = await harness.rows_read(catalog.url)
            answering = await server.start()
            resume = how == "resume"
            following = [asyncio.create_task(v.follow(server.ws_url, resume=resume)) for v in views]
            seconds = await all_reached(views, following, WITHIN) - answering
            await server.stop()
            await asyncio.gather(*following)
            await asyncio.sleep(REPORTED)
            read = await harness.rows_read(catalog.url) - before
            sent = sum(view.reached_rows for view in views)
            rounds.append(Round(how, read, sent, seconds))
            progress(
                f"  {how}: {read:,} rows read, {sent:,} sent, all up to date in {seconds:.2f} s"
            )
    finally:
        await server.stop()
    return report(rounds, len(views), len(catalog.ids))


async def changes_while_down(catalog: Catalog, categories: Sequence[int]) -> dict[int, Expected]:
    """CHANGES price changes, the same number in each category, one UPDATE
    (and transaction) per category; what each category's subscriber holds
    once up to date."""
    per_category = CHANGES // len(categories)
    expected = {}
    for category in categories:
        ids = catalog.by_category[category]
        versions = await harness.change_prices(catalog.url, harness.sample(ids, per_category))
        expected[category] = Expected(versions, len(ids))
    return expected


def report(rounds: Sequence[Round], subscribers: int, products: int) -> list[str]:
    afresh = next(r for r in rounds if r.how == "afresh")
    resumed = [r for r in rounds if r.how == "resume"]
    rows_met = all(r.rows_read <= ROWS_GOAL * afresh.rows_read for r in resumed)
    time_met = all(r.seconds <= SECONDS_GOAL for r in resumed)
    lines = [
        "#### 100 subscribers through a server restart",
        "",
        "| Round | rows read from products_product | rows read / afresh | rows sent"
        " | all up to date after | time / afresh |",
        "|---|---|---|---|---|---|",
    ]
    for n, r in enumerate(rounds, start=1):
        label = "all by `resume` token" if r.how == "resume" else "all afresh (baseline)"
        lines.append(
            f"| {n}. {label} | {r.rows_read:,} | {r.rows_read / afresh.rows_read:.4f}"
            f" | {r.rows_sent:,} | {r.seconds:.2f} s | {r.seconds / afresh.seconds:.3f} |"
        )
    return [
        *lines,
        "",
        f"{subscribers} live subscribers (`productStream(filter: {{categories: [one]}}, "
        f"live: true, batchSize: {BATCH_SIZE})`, selecting `id version discountedPrice`), "
        f"one per category of the {products:,} products (≈ 10,000 each), in one client "
        f"process. Each round: the uvicorn terminated (SIGTERM), {CHANGES:,} price changes "
        f"by SQL ({CHANGES // subscribers} random products of each category, one UPDATE per "
        "category), the server started again on the same port; its subscribers reconnect "
        "once it answers `/readyz`. Up to date: every subscriber's map of id → version holds "
        "its category's changed products at their new versions and its category's count. "
        "Rows read: the delta of `seq_tup_read + idx_tup_fetch` of products_product in "
        "`pg_stat_user_tables` (after `pg_stat_clear_snapshot()`) from just before the start "
        "to just after the server stopped again (its backends report at exit). Rounds in this "
        f"order. Goals (resume): rows read ≤ {ROWS_GOAL:.0%} of afresh — "
        f"{'met' if rows_met else 'missed'}; all up to date ≤ {SECONDS_GOAL:.0f} s — "
        f"{'met' if time_met else 'missed'}.",
    ]


SCENARIO = Scenario("restart", measure)

if __name__ == "__main__":
    sys.exit(harness.main(sys.argv[1:], [SCENARIO], "python -m bench.resume.restart", __doc__))
