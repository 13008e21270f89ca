"""A live ``productStream`` client, as a storefront keeps one: per id, the
product with the highest ``version``; removed ids dropped."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from tests.graphql_ws import graphql_websocket

BATCH = """
    phase sequence cursor snapshotComplete removedIds resumeToken
    products { id sku price discountPercent discountedPrice stock version category { id } }
"""
LIVE_STREAM = f"""
subscription Live($filter: ProductFilter, $batchSize: Int) {{
  productStream(filter: $filter, batchSize: $batchSize, live: true) {{ {BATCH} }}
}}
"""
RESUMED_STREAM = f"""
subscription Resumed($filter: ProductFilter, $batchSize: Int, $resume: String!) {{
  productStream(filter: $filter, batchSize: $batchSize, resume: $resume) {{ {BATCH} }}
}}
"""


class LiveView:
    def __init__(self, products: dict[str, dict[str, Any]] | None = None) -> None:
        self.products: dict[str, dict[str, Any]] = dict(products or {})
        self.batches: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self._failure: BaseException | None = None

    def apply(self, batch: dict[str, Any]) -> None:
        self.batches.append(batch)
        for product in batch["products"]:
            held = self.products.get(product["id"])
            if held is None or held["version"] <= product["version"]:
                self.products[product["id"]] = product
        for removed in batch["removedIds"]:
            self.products.pop(removed, None)
        self._changed.set()

    def fail(self, error: BaseException) -> None:
        self._failure = error
        self._changed.set()

    @property
    def live_batches(self) -> list[dict[str, Any]]:
        return [batch for batch in self.batches if batch["phase"] == "LIVE"]

    async def until(self, condition: Callable[["LiveView"], bool], within: float = 10) -> None:
        """Waits until ``condition`` holds after some batch; fails after ``within`` seconds."""
        async with asyncio.timeout(within):
            while True:
                if self._failure:
                    raise self._failure
                if condition(self):
                    return
                self._changed.clear()
                await self._changed.wait()


@asynccontextmanager
async def live_view(
    base_url: str, protocol: str, *, resume: LiveView | None = None, **variables: Any
) -> AsyncIterator[LiveView]:
    """A live subscription, kept up to date in the background; yields once its
    snapshot is complete. With ``resume``, it goes on from that view's last
    batch (its ``resumeToken``), holding that view's products to begin with,
    and yields at once: a live stream resumed has nothing to send until
    something changed."""
    async with graphql_websocket(base_url, protocol) as socket:
        if resume is None:
            operation_id = await socket.subscribe(LIVE_STREAM, variables)
            view = LiveView()
        else:
            token = resume.batches[-1]["resumeToken"]
            operation_id = await socket.subscribe(RESUMED_STREAM, {**variables, "resume": token})
            view = LiveView(resume.products)

        async def receive() -> None:
            try:
                async for payload in socket.results(operation_id):
                    assert "errors" not in payload, payload["errors"]
                    view.apply(payload["data"]["productStream"])
                raise AssertionError("a live stream completed")
            except Exception as error:
                view.fail(error)

        receiving = asyncio.create_task(receive())
        try:
            if resume is None:
                await view.until(lambda v: bool(v.batches) and v.batches[-1]["snapshotComplete"])
            yield view
        finally:
            receiving.cancel()
