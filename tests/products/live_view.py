"""A live ``productStream`` client, as a storefront keeps one: per id, the
product with the highest ``version``; removed ids dropped. It may disconnect
and go on with the ``resumeToken`` of the last batch it applied."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from tests.graphql_ws import graphql_websocket

BATCH = """
fragment Batch on ProductBatch {
  phase sequence cursor snapshotComplete removedIds resumeToken
  products { id sku price discountPercent discountedPrice stock version category { id } }
}
"""
LIVE_STREAM = (
    """
subscription Live($filter: ProductFilter, $orderBy: ProductOrder, $batchSize: Int) {
  productStream(filter: $filter, orderBy: $orderBy, batchSize: $batchSize, live: true) {
    ...Batch
  }
}
"""
    + BATCH
)
# `live` and `after` come from the token.
RESUMED_STREAM = (
    """
subscription Resumed(
  $filter: ProductFilter, $orderBy: ProductOrder, $batchSize: Int, $resume: String!
) {
  productStream(filter: $filter, orderBy: $orderBy, batchSize: $batchSize, resume: $resume) {
    ...Batch
  }
}
"""
    + BATCH
)


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

    def reconnected(self) -> None:
        """The failure of its last connection is behind it."""
        self._failure = None

    @property
    def live_batches(self) -> list[dict[str, Any]]:
        return [batch for batch in self.batches if batch["phase"] == "LIVE"]

    @property
    def resume_token(self) -> str:
        """The token of the last batch applied."""
        token: str = self.batches[-1]["resumeToken"]
        return token

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
async def following(
    base_url: str, protocol: str, view: LiveView, query: str, variables: dict[str, Any]
) -> AsyncIterator[LiveView]:
    """Applies the batches of one live subscription to ``view`` in the
    background, until the client disconnects on leaving."""
    view.reconnected()
    async with graphql_websocket(base_url, protocol) as socket:
        operation_id = await socket.subscribe(query, variables)

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
            yield view
        finally:
            receiving.cancel()


@asynccontextmanager
async def live_view(base_url: str, protocol: str, **variables: Any) -> AsyncIterator[LiveView]:
    """A live subscription, kept up to date in the background; yields once its
    snapshot is complete."""
    async with following(base_url, protocol, LiveView(), LIVE_STREAM, variables) as view:
        await view.until(lambda v: bool(v.batches) and v.batches[-1]["snapshotComplete"])
        yield view


def resumed_view(
    base_url: str, protocol: str, view: LiveView, **variables: Any
) -> AbstractAsyncContextManager[LiveView]:
    """``view`` kept up to date again, from the token of its last batch;
    ``variables`` (its filter, any batchSize) besides."""
    resumed = {**variables, "resume": view.resume_token}
    return following(base_url, protocol, view, RESUMED_STREAM, resumed)
