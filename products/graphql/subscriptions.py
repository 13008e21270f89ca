"""``productStream``: the catalog pushed over a websocket in batches.

The SNAPSHOT phase reads exactly what the ``products`` connection reads (the
same filter, order and cursors), in keyset windows (api.paging.windows), and yields
a batch at a time, so a client that reads slowly slows the reading. The LIVE
phase then sends what products.live hands its feed.
"""

from collections.abc import AsyncGenerator, AsyncIterator, Hashable, Iterator
from enum import Enum
from itertools import count
from typing import ClassVar, cast

import strawberry
from django.conf import settings
from strawberry.types import Info

from api.graphql.errors import ClientError, LiveUnavailable
from api.graphql.execution import PartlyShared, SharedList
from api.graphql.ids import global_id
from api.graphql.selections import optimize_for_subfield
from api.paging.keyset import Keyset
from api.paging.windows import Batch, read_batches
from api.websocket.consumer import TRY_AGAIN_LATER, connection_closer
from api.websocket.log import count_sent
from api.websocket.turns import turns
from products import models
from products.graphql.inputs import ProductFilter, ProductOrder, criteria_of, keyset_of
from products.graphql.types import Product
from products.live import FELL_BEHIND, Feed, LiveUpdatesLost, live_products
from products.selectors import filter_products


@strawberry.enum
class StreamPhase(Enum):
    SNAPSHOT = "SNAPSHOT"
    LIVE = "LIVE"


@strawberry.type(description="The next products of a productStream.")
class ProductBatch(PartlyShared):
    phase: StreamPhase
    sequence: int = strawberry.field(description="1, 2, 3 … within one subscription.")
    products: list[Product] = strawberry.field(
        description="SNAPSHOT: the next rows in order; LIVE: created or changed products."
    )
    removed_ids: list[strawberry.ID] = strawberry.field(
        description="LIVE only: deleted, or changed so that they no longer match `filter`."
    )
    cursor: str | None = strawberry.field(
        description="SNAPSHOT: the last product's cursor (pass as `after` to resume); LIVE: null."
    )
    snapshot_complete: bool = strawberry.field(
        description="True on the last SNAPSHOT batch and on every LIVE batch."
    )

    # A LIVE batch's products are shared by every subscriber sent them
    # (products.live): so is all of the batch but its place in each stream.
    own_fields: ClassVar[frozenset[str]] = frozenset({"sequence"})

    def sharing(self) -> tuple[SharedList, Hashable] | None:
        if not isinstance(self.products, SharedList):
            return None
        state = (self.phase, tuple(self.removed_ids), self.cursor, self.snapshot_complete)
        return self.products, state


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Every product matching `filter`, in `orderBy` order, after `after`, "
        "in batches of `batchSize`; with `live`, then every change committed since the "
        "subscription started."
    )
    async def product_stream(
        self,
        info: Info,
        filter: ProductFilter | None = None,
        order_by: ProductOrder | None = None,
        after: str | None = None,
        batch_size: int = 100,
        live: bool = False,
    ) -> AsyncGenerator[ProductBatch, None]:
        limit = settings.STREAM_MAX_BATCH_SIZE
        if not 1 <= batch_size <= limit:
            raise ClientError(f"`batchSize` must be between 1 and {limit} (got {batch_size}).")
        criteria = criteria_of(filter)
        keyset = keyset_of(order_by)
        position = keyset.decode(after) if after is not None else None
        products = optimize_for_subfield(filter_products(criteria), info, "products")
        windows = read_batches(products, keyset, after=position, batch_size=batch_size)
        sequence = count(1)
        snapshot = snapshot_batches(windows, keyset, sequence)

        if not live:
            async for batch in released(snapshot):
                yield batch
            return
        # Listening starts before the snapshot's first read: a change committed
        # while the snapshot is read is sent after it.
        # A subscriber that falls too far behind has its connection closed with
        # "try again later": it is stuck sending, so its stream cannot end itself.
        on_overrun = connection_closer(info.context, TRY_AGAIN_LATER, FELL_BEHIND)
        try:
            async with live_products.feed(criteria, on_overrun) as feed:
                async for batch in released(snapshot, live_batches(feed, batch_size, sequence)):
                    yield batch
        except LiveUpdatesLost as error:  # listening failed to start, or stopped
            raise LiveUnavailable(str(error)) from None


async def released(*phases: AsyncIterator[ProductBatch]) -> AsyncIterator[ProductBatch]:
    """Each batch in the stream's turn (api.websocket.turns), its products let go of once
    it has been sent (when the next is asked for). graphql-core holds a
    subscription's last event until the next one comes: a live stream that
    stays quiet for hours would otherwise hold its last batch of rows all
    that time."""
    turn = turns.turn()
    for phase in phases:
        while True:
            # Taken before the next batch is asked for: a window is read in
            # its stream's turn too.
            await turn.take()
            try:
                batch = await anext(phase)
            except StopAsyncIteration:
                break
            count_sent(batch.phase.value, len(batch.products))
            yield batch
            batch.products = []


async def snapshot_batches(
    windows: AsyncIterator[Batch], keyset: Keyset, sequence: Iterator[int]
) -> AsyncIterator[ProductBatch]:
    async for window in windows:
        yield ProductBatch(
            phase=StreamPhase.SNAPSHOT,
            sequence=next(sequence),
            products=window.rows,
            removed_ids=[],
            cursor=keyset.cursor_for(window.rows[-1]) if window.rows else None,
            snapshot_complete=window.last,
        )


async def live_batches(
    feed: Feed, batch_size: int, sequence: Iterator[int]
) -> AsyncIterator[ProductBatch]:
    async for changes in feed.changes(batch_size):
        yield ProductBatch(
            phase=StreamPhase.LIVE,
            sequence=next(sequence),
            products=cast(list[Product], changes.products),
            removed_ids=[
                strawberry.ID(global_id(models.Product, id)) for id in changes.removed_ids
            ],
            cursor=None,
            snapshot_complete=True,
        )
