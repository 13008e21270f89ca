"""A live ``productStream`` client, as a storefront keeps one: per id, the
product with the highest ``version``; removed ids dropped."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from tests.graphql_ws import graphql_websocket

LIVE_STREAM = """
subscription Live($filter: ProductFilter, $batchSize: Int) {
  productStream(filter: $filter, batchSize: $batchSize, live: true) {
    phase sequence cursor snapshotComplete removedIds
    products { id sku price discountPercent discountedPrice stock version category { id } }
  }
}
"""


class LiveView:
    def __init__(self) -> None:
        self.products: dict[str, dict[str, Any]] = {}
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
async def live_view(base_url: str, protocol: str, **variables: Any) -> AsyncIterator[LiveView]:
    """A live subscription, kept up to date in the background; yields once its
    snapshot is complete."""
    async with graphql_websocket(base_url, protocol) as socket:
        operation_id = await socket.subscribe(LIVE_STREAM, variables)
        view = LiveView()

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
            await view.until(lambda v: bool(v.batches) and v.batches[-1]["snapshotComplete"])
            yield view
        finally:
            receiving.cancel()
