"""``productStream``: the catalog pushed over a websocket in batches.

The SNAPSHOT phase reads exactly what the ``products`` connection reads (the
same filter, order and cursors), in keyset windows (api.windows), and yields
a batch at a time, so a client that reads slowly slows the reading.
"""

from collections.abc import AsyncGenerator
from enum import Enum

import strawberry
from django.conf import settings
from strawberry.types import Info

from api.errors import ClientError
from api.selections import optimize_for_subfield
from api.windows import read_batches
from products.graphql.inputs import ProductFilter, ProductOrder, matching_products
from products.graphql.types import Product


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
        "in batches of `batchSize`."
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
        if live:
            raise ClientError("`live: true` is not available yet.")
        products, keyset = matching_products(filter, order_by)
        position = keyset.decode(after) if after is not None else None
        products = optimize_for_subfield(products, info, "products")

        sequence = 0
        async for batch in read_batches(products, keyset, after=position, batch_size=batch_size):
            sequence += 1
            yield ProductBatch(
                phase=StreamPhase.SNAPSHOT,
                sequence=sequence,
                products=batch.rows,
                removed_ids=[],
                cursor=keyset.cursor_for(batch.rows[-1]) if batch.rows else None,
                snapshot_complete=batch.last,
            )
