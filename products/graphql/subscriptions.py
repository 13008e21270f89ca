"""``productStream``: the catalog pushed over a websocket in batches.

The SNAPSHOT phase reads exactly what the ``products`` connection reads (the
same filter, order and cursors), in keyset windows (api.windows), and yields
a batch at a time, so a client that reads slowly slows the reading. The LIVE
phase then sends what products.live hands its feed.
"""

from collections.abc import AsyncGenerator
from enum import Enum
from itertools import count
from typing import cast

import strawberry
from django.conf import settings
from strawberry.types import Info

from api.errors import ClientError, LiveUnavailable
from api.ids import global_id
from api.keyset import Keyset
from api.selections import optimize_for_subfield
from api.windows import Batch, read_batches
from products import models
from products.graphql.inputs import ProductFilter, ProductOrder
from products.graphql.types import Product
from products.live import LiveUpdatesLost, live_products
from products.selectors import ProductCriteria, filter_products


@strawberry.enum
class StreamPhase(Enum):
    SNAPSHOT = "SNAPSHOT"
    LIVE = "LIVE"


@strawberry.type(description="The next products of a productStream.")
class ProductBatch:
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
        criteria = filter.to_criteria() if filter else ProductCriteria()
        keyset = (order_by or ProductOrder()).to_keyset()
        position = keyset.decode(after) if after is not None else None
        products = optimize_for_subfield(filter_products(criteria), info, "products")
        snapshot = read_batches(products, keyset, after=position, batch_size=batch_size)
        sequence = count(1)

        if not live:
            async for batch in snapshot:
                yield snapshot_batch(next(sequence), batch, keyset)
            return
        # Listening starts before the snapshot's first read: a change committed
        # while the snapshot is read is sent after it.
        async with live_products.feed(criteria) as feed:
            async for batch in snapshot:
                yield snapshot_batch(next(sequence), batch, keyset)
            try:
                async for changes in feed.changes(batch_size):
                    yield ProductBatch(
                        phase=StreamPhase.LIVE,
                        sequence=next(sequence),
                        products=cast(list[Product], changes.products),
                        removed_ids=[
                            strawberry.ID(global_id(models.Product, id))
                            for id in changes.removed_ids
                        ],
                        cursor=None,
                        snapshot_complete=True,
                    )
            except LiveUpdatesLost as error:
                raise LiveUnavailable(str(error)) from None


def snapshot_batch(sequence: int, batch: Batch, keyset: Keyset) -> ProductBatch:
    return ProductBatch(
        phase=StreamPhase.SNAPSHOT,
        sequence=sequence,
        products=batch.rows,
        removed_ids=[],
        cursor=keyset.cursor_for(batch.rows[-1]) if batch.rows else None,
        snapshot_complete=batch.last,
    )
