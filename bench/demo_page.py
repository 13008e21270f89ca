"""The live catalog page (/demo/): from a committed price change to the new
price painted in the browser, against a websocket client's receipt of the
same change in the same run.

    DATABASE_URL=postgres://... python -m bench.demo_page [--changes 50]

A fresh uvicorn serves the page on the database (seeded with 1,000 products
when empty); Debian's Chromium opens it headless, and a Python websocket
client subscribes to what the page's stream sends (``productStream`` after
the last product, live). This process then changes one price at a time by
SQL on its own connection, each change to a product on the page's first
page, and notes when its COMMIT returned. In the page, a MutationObserver
notes when the product's card took the new version (the DOM updated) and,
two frames later, when that frame was painted (``requestAnimationFrame``
then a task: the frame's paint has happened by then), with
``performance.timeOrigin + performance.now()``; the browser's clock is
aligned with this process's before every change by the smallest of a few
round trips. Progress goes to stderr; the Markdown table to stdout.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import psycopg
from playwright.async_api import Page, async_playwright

from bench import servers
from bench.databases import ensure_seeded
from bench.live.harness import product_gid
from bench.percentiles import percentile
from bench.scenarios import progress
from bench.stream_client import receive, session

SEEDED_PRODUCTS = 1_000
FIRST_PAGE = 24  # catalog-page.js's PAGE_SIZE
SPACING = 0.3  # seconds between changes: the flash of one is over before the next
ALIGNMENT_ROUND_TRIPS = 5
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run"]

# Per card, when it took each version: the DOM, then the frame painted.
OBSERVE = """() => {
  window.benchSeen = {};
  const now = () => performance.timeOrigin + performance.now();
  new MutationObserver((records) => {
    for (const { target } of records) {
      const key = `${target.dataset.id}@${target.dataset.version}`;
      if (window.benchSeen[key]) continue;
      const seen = (window.benchSeen[key] = { dom: now() });
      requestAnimationFrame(() => setTimeout(() => (seen.painted = now())));
    }
  }).observe(document.getElementById("grid"), {
    subtree: true, attributes: true, attributeFilter: ["data-version"],
  });
}"""

# What the page subscribes to, less the fields a receipt needs not.
STREAM = """subscription Baseline($after: String) {
  productStream(after: $after, live: true, batchSize: 100) {
    products { id version discountedPrice }
  }
}"""
TAIL = "query Tail { products(last: 1) { edges { cursor } } }"


def first_page(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT id FROM products_product ORDER BY created_at, id LIMIT %s", (FIRST_PAGE,)
        ).fetchall()
    return [row[0] for row in rows]


def change_price(conn: psycopg.Connection[Any], pk: int) -> tuple[int, float]:
    """A new price for ``pk`` by SQL; its new version and when COMMIT returned."""
    row = conn.execute(
        "UPDATE products_product SET price = 10 + (price * 100 + 37)::bigint %% 500 / 100.0"
        " WHERE id = %s RETURNING version",
        (pk,),
    ).fetchone()
    conn.commit()
    assert row is not None
    return int(row[0]), time.time() * 1000


async def clock_offset(page: Page) -> float:
    """The browser's epoch milliseconds minus this process's, from the round
    trip that took least time."""
    best: tuple[float, float] | None = None
    for _ in range(ALIGNMENT_ROUND_TRIPS):
        sent = time.time() * 1000
        browser_now: float = await page.evaluate("performance.timeOrigin + performance.now()")
        back = time.time() * 1000
        if best is None or back - sent < best[0]:
            best = (back - sent, browser_now - (sent + back) / 2)
    assert best is not None
    return best[1]


class Receipts:
    """The websocket client's receipts: (id, version) → epoch ms."""

    def __init__(self) -> None:
        self.at: dict[tuple[str, int], float] = {}
        self.arrived = asyncio.Event()

    async def follow(self, ws: Any) -> None:
        while True:
            message = await receive(ws, within=None)
            stamp = time.time() * 1000
            if message.get("type") != "next":
                raise RuntimeError(f"the baseline stream said {message}")
            for product in message["payload"]["data"]["productStream"]["products"]:
                self.at[(product["id"], product["version"])] = stamp
            self.arrived.set()

    async def of(self, key: tuple[str, int], within: float = 10) -> float:
        async with asyncio.timeout(within):
            while key not in self.at:
                self.arrived.clear()
                await self.arrived.wait()
        return self.at[key]


@asynccontextmanager
async def baseline(server: servers.Server) -> AsyncIterator[Receipts]:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        tail = (await client.post("/graphql/", json={"query": TAIL})).json()
    after = tail["data"]["products"]["edges"][0]["cursor"]
    receipts = Receipts()
    async with session(server.ws_url) as ws:
        payload = {"query": STREAM, "variables": {"after": after}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        following = asyncio.create_task(receipts.follow(ws))
        try:
            yield receipts
        finally:
            following.cancel()


async def painted(page: Page, key: str, within: float = 10) -> dict[str, float]:
    handle = await page.wait_for_function(
        "key => window.benchSeen[key]?.painted && window.benchSeen[key]",
        arg=key,
        timeout=within * 1000,
    )
    seen: dict[str, float] = await handle.json_value()
    return seen


def row(name: str, samples: list[float], base: list[float]) -> str:
    p50, p99 = statistics.median(samples), percentile(samples, 99)
    ratio50, ratio99 = p50 / statistics.median(base), p99 / percentile(base, 99)
    return f"| {name} | {p50:.1f} | {p99:.1f} | ×{ratio50:.2f} | ×{ratio99:.2f} |"


async def measure(url: str, changes: int) -> list[str]:
    ensure_seeded(url, SEEDED_PRODUCTS)
    products = first_page(url)
    receipt: list[float] = []
    dom: list[float] = []
    paint: list[float] = []
    async with (
        servers.serving({"DATABASE_URL": url, "ACCESS_LOG_LEVEL": "WARNING"}) as server,
        async_playwright() as playwright,
    ):
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(f"{server.base_url}/demo/")
        await page.wait_for_selector("#connection[data-state='live']")
        await page.wait_for_selector("#grid[aria-busy='false']")
        await page.evaluate(OBSERVE)
        with psycopg.connect(url) as conn:
            async with baseline(server) as receipts:
                for step in range(changes):
                    await asyncio.sleep(SPACING)
                    offset = await clock_offset(page)
                    gid = product_gid(products[step % len(products)])
                    pk = products[step % len(products)]
                    version, committed = await asyncio.to_thread(change_price, conn, pk)
                    received = await receipts.of((gid, version))
                    seen = await painted(page, f"{gid}@{version}")
                    receipt.append(received - committed)
                    dom.append(seen["dom"] - offset - committed)
                    paint.append(seen["painted"] - offset - committed)
                    progress(
                        f"change {step + 1}/{changes}: received {receipt[-1]:.1f} ms, "
                        f"DOM {dom[-1]:.1f} ms, painted {paint[-1]:.1f} ms"
                    )
        await browser.close()
    return [
        f"Commit of a price change (SQL) to … ({changes} changes, one at a time), ms:",
        "",
        "| to … | p50 ms | p99 ms | p50 × receipt | p99 × receipt |",
        "| --- | --- | --- | --- | --- |",
        row("a websocket client's receipt (baseline)", receipt, receipt),
        row("the page's DOM updated", dom, receipt),
        row("the page's new price painted", paint, receipt),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.demo_page", description=__doc__)
    parser.add_argument("--changes", type=int, default=50, help="price changes (default 50)")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        progress("Set DATABASE_URL to the PostgreSQL database of the benchmark.")
        return 1
    print("\n".join(asyncio.run(measure(url, args.changes))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
