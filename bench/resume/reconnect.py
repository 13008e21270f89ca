"""Reconnect: a client holding the whole catalog (a million products, from
``productStream(live: true)``) is disconnected for 10 s while 1,000 of them
change by SQL; then the rows sent to bring it up to date, and the time from
reconnecting until its map equals the database, resuming by its last token
against subscribing afresh (the whole snapshot again), in the same run.

    DATABASE_URL=postgres://.../conveyor_bench_resume python -m bench.resume.reconnect

The run and its databases are ``bench.resume.harness``'s; ``python -m
bench.resume`` runs this with the other scenarios.
"""

import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench.resume import harness
from bench.resume.harness import Bench, Catalog, Options, Restartable, Scenario
from bench.resume.views import Expected, View, all_reached
from bench.scenarios import progress

AWAY = 10.0  # seconds the client is disconnected
CHANGES = 1000
WRITES = 10  # transactions the changes are made in, one a second
BATCH_SIZE = 1000
ROUNDS = ("resume", "afresh", "resume")
ROWS_GOAL = 1.1  # rows sent per row changed
SECONDS_GOAL = 1.0
WITHIN = 900.0  # seconds a client may take to be up to date


@dataclass(frozen=True)
class Round:
    how: str
    rows: int
    seconds: float


async def measure(bench: Bench, options: Options) -> list[str]:
    catalog = await bench.catalog()
    server = Restartable(bench.url)
    await server.start()
    try:
        view = View(None, BATCH_SIZE)
        view.expect(Expected({}, len(catalog.ids)))
        progress(f"streaming {len(catalog.ids):,} products to one live client…")
        started = time.perf_counter()
        following = asyncio.create_task(view.follow(server.ws_url, resume=False))
        snapshot = await all_reached([view], [following], WITHIN) - started
        progress(f"  held after {snapshot:.1f} s")
        rounds = []
        for how in ROUNDS:
            following.cancel()  # the client goes away
            await asyncio.gather(following, return_exceptions=True)
            view.expect(await changes_while_away(catalog))
            reconnected = time.perf_counter()
            following = asyncio.create_task(view.follow(server.ws_url, resume=how == "resume"))
            seconds = await all_reached([view], [following], WITHIN) - reconnected
            rounds.append(Round(how, view.reached_rows, seconds))
            progress(f"  {how}: {view.reached_rows:,} rows, up to date after {seconds:.3f} s")
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)
    finally:
        await server.stop()
    return report(rounds, snapshot, len(catalog.ids))


async def changes_while_away(catalog: Catalog) -> Expected:
    """CHANGES price changes in WRITES transactions over AWAY seconds; what
    an up-to-date client holds then."""
    away = time.perf_counter()
    ids = harness.sample(catalog.ids, CHANGES)
    per_write = CHANGES // WRITES
    versions: dict[str, int] = {}
    for n in range(WRITES):
        versions |= await harness.change_prices(
            catalog.url, ids[n * per_write : (n + 1) * per_write]
        )
        await asyncio.sleep(max(0.0, away + (n + 1) * AWAY / WRITES - time.perf_counter()))
    return Expected(versions, len(catalog.ids))


def report(rounds: Sequence[Round], snapshot: float, products: int) -> list[str]:
    afresh = next(r for r in rounds if r.how == "afresh")
    resumed = [r for r in rounds if r.how == "resume"]
    rows_met = all(r.rows <= ROWS_GOAL * CHANGES for r in resumed)
    time_met = all(r.seconds <= SECONDS_GOAL for r in resumed)
    lines = [
        "#### Reconnecting after 10 s away",
        "",
        "| Reconnect | rows sent | rows sent / rows changed | up to date after"
        " | rows / afresh | time / afresh |",
        "|---|---|---|---|---|---|",
    ]
    for n, r in enumerate(rounds, start=1):
        label = "by `resume` token" if r.how == "resume" else "afresh (baseline)"
        lines.append(
            f"| {n}. {label} | {r.rows:,} | {r.rows / CHANGES:.2f} | {r.seconds * 1000:,.0f} ms"
            f" | {r.rows / afresh.rows:.5f} | {r.seconds / afresh.seconds:.4f} |"
        )
    return [
        *lines,
        "",
        f"One live client (`productStream(live: true, batchSize: {BATCH_SIZE})`, selecting "
        "`id version discountedPrice`) held all "
        f"{products:,} products (its first snapshot took {snapshot:.1f} s). Each round it "
        f"disconnects for {AWAY:.0f} s while {CHANGES:,} random products change price by SQL "
        f"({WRITES} UPDATEs of {CHANGES // WRITES}, one a second), then reconnects. "
        "Up to date: from opening the websocket until its map of id → version holds every "
        "changed product at its new version and the database's count of products. "
        "Rows sent: products and removed ids received until then. Rounds in this order, "
        "on one server. "
        f"Goals (resume): rows sent ≤ {ROWS_GOAL} × rows changed — "
        f"{'met' if rows_met else 'missed'}; up to date ≤ {SECONDS_GOAL:.0f} s — "
        f"{'met' if time_met else 'missed'}.",
    ]


SCENARIO = Scenario("reconnect", measure)

if __name__ == "__main__":
    sys.exit(harness.main(sys.argv[1:], [SCENARIO], "python -m bench.resume.reconnect", __doc__))
