"""``productStream``: the catalog pushed over a websocket in batches.

The SNAPSHOT phase reads exactly what the ``products`` connection reads (the
same filter, order and cursors), in keyset windows (api.paging.windows), and yields
a batch at a time, so a client that reads slowly slows the reading. The LIVE
phase then sends what products.live hands its feed.
"""

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Hashable, Sequence
from dataclasses import replace
from enum import Enum
from functools import partial
from itertools import count
from typing import Any, ClassVar, cast

import strawberry
from asgiref.sync import sync_to_async
from django.conf import settings
from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from api.graphql.compiled import columns_below
from api.graphql.errors import ClientError, ResumeExpired
from api.graphql.execution import PartlyShared, SharedList
from api.graphql.ids import global_id
from api.graphql.selections import optimize_for_subfield
from api.http.event_ids import batch_sent, reconnected_from
from api.metrics.streams import count_batch
from api.paging.keyset import Keyset
from api.paging.readers import readers
from api.paging.windows import read_batches, tuple_position
from api.rate_limits.spending import spend_for_batch
from api.websocket.consumer import TRY_AGAIN_LATER, connection_closer
from api.websocket.log import count_sent
from api.websocket.turns import turns
from products import changes, models, resume
from products.graphql.inputs import ProductFilter, ProductOrder, criteria_of, keyset_of
from products.graphql.types import Product
from products.live import FELL_BEHIND, Feed, LiveUpdatesLost, live_products
from products.resume import StreamPosition
from products.selectors import ProductCriteria, filter_products


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
    # What the client has been told once it has this batch, and the tokens
    # of its stream: a token is signed only for clients that select it.
    told: strawberry.Private[StreamPosition]
    tokens: strawberry.Private[resume.Tokens]

    @strawberry.field(description="Pass as `resume` to go on from just after this batch.")
    def resume_token(self) -> str:
        return self.tokens.encode(self.told)

    # A LIVE batch's products are shared by every subscriber sent them
    # (products.live): so is all of the batch but its place in each stream.
    own_fields: ClassVar[frozenset[str]] = frozenset({"sequence", "resumeToken"})

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
        "subscription started. `resume`: a batch's `resumeToken`, to go on from just "
        "after that batch (with the same `filter` and `orderBy`, and neither `after` "
        "nor `live`)."
    )
    async def product_stream(
        self,
        info: Info,
        filter: ProductFilter | None = None,
        order_by: ProductOrder | None = None,
        after: str | None = None,
        batch_size: int = 100,
        live: bool = False,
        resume: str | None = None,
    ) -> AsyncGenerator[ProductBatch, None]:
        limit = settings.STREAM_MAX_BATCH_SIZE
        if not 1 <= batch_size <= limit:
            raise ClientError(f"`batchSize` must be between 1 and {limit} (got {batch_size}).")
        criteria = criteria_of(filter)
        keyset = keyset_of(order_by)
        # A client reconnecting to an event stream resumes from the last event's
        # id, the document being the one it first sent, `after` and `live` too.
        token = reconnected_from()
        if token is None and resume is not None:
            refuse_position_with_resume(info)
            token = resume
        if token is None:
            start = StreamPosition(after, snapshot_complete=False, live=live, frontier=None)
        else:
            start = await resumed(token, keyset, criteria)
        stream = Stream(info, criteria, keyset, batch_size)
        if not start.live:
            # A finished snapshot resumed has nothing left but its last batch.
            snapshot = stream.snapshot(start) if not start.snapshot_complete else stream.done(start)
            async for batch in released(snapshot):
                yield batch
            return
        # A subscriber that falls too far behind has its connection closed with
        # "try again later": it is stuck sending, so its stream cannot end itself.
        on_overrun = connection_closer(info.context, TRY_AGAIN_LATER, FELL_BEHIND)
        try:
            # Listening starts before the snapshot's first read: a change committed
            # while the snapshot is read is sent after it.
            async with live_products.feed(criteria, start.frontier, on_overrun) as feed:
                start = replace(start, frontier=feed.frontier)
                phases = [stream.live(feed)]
                if not start.snapshot_complete:
                    phases.insert(0, stream.snapshot(start))
                async for batch in released(*phases):
                    yield batch
        except LiveUpdatesLost:
            return  # its connection is being closed (on_overrun): 1013, or an HTTP stream cut


def refuse_position_with_resume(info: Info) -> None:
    field = info.selected_fields[0]  # the subscription's root field
    assert isinstance(field, SelectedField)
    if field.arguments.keys() & {"after", "live"}:  # those the document names
        raise ClientError("`after` and `live` come from the `resume` token: give neither with it.")


async def resumed(token: str, keyset: Keyset, criteria: ProductCriteria) -> StreamPosition:
    """Where the stream of ``token`` stands, if it may go on."""
    start = resume.Tokens(keyset, criteria).decode(token)
    if start.frontier is not None:
        async with readers.borrow(urgent=True):
            horizon = await sync_to_async(changes.pruned_through)()
        if start.frontier.position < horizon:
            raise ResumeExpired(
                "The changes since this resume token are no longer kept "
                f"(CHANGE_LOG_RETENTION: {settings.CHANGE_LOG_RETENTION} s); "
                "subscribe afresh, without `resume`."
            )
    return start


async def released(*phases: AsyncIterator[ProductBatch]) -> AsyncIterator[ProductBatch]:
    """Each batch in the stream's turn (api.websocket.turns), its products let go of once
    it has been sent (when the next is asked for). graphql-core holds a
    subscription's last event until the next one comes: a live stream that
    stays quiet for hours would otherwise hold its last batch of rows all
    that time."""
    turn = turns.turn()
    paid = True  # the first batch, when the subscription was admitted
    for phase in phases:
        while True:
            # Taken before the next batch is asked for: a window is read in
            # its stream's turn too.
            await turn.take()
            try:
                batch = await anext(phase)
            except StopAsyncIteration:
                break
            if not paid:
                await spend_for_batch()
            paid = False
            count_sent(batch.phase.value, len(batch.products))
            batch_sent(partial(batch.tokens.encode, batch.told))
            count_batch(batch.phase.value, len(batch.products))
            yield batch
            batch.products = []


class Stream:
    """The batches of one subscription, each with its resume token."""

    def __init__(
        self, info: Info, criteria: ProductCriteria, keyset: Keyset, batch_size: int
    ) -> None:
        self._info = info
        self._criteria = criteria
        self._keyset = keyset
        self._batch_size = batch_size
        self._sequence = count(1)
        self._tokens = resume.Tokens(keyset, criteria)

    async def snapshot(self, start: StreamPosition) -> AsyncIterator[ProductBatch]:
        keyset = self._keyset
        # Rows as tuples where the compiled path completes every selection of them.
        columns = columns_below(self._info, "products")
        if columns is None:
            products = optimize_for_subfield(
                filter_products(self._criteria), self._info, "products"
            )
            position_of: Callable[[Any], Sequence[Any]] = keyset.position_of
        else:
            columns = list(dict.fromkeys([*columns, *keyset.fields]))
            products = filter_products(self._criteria)
            position_of = tuple_position(keyset, columns)
        after = keyset.decode(start.after) if start.after is not None else None
        windows = read_batches(
            products,
            keyset,
            after=after,
            batch_size=self._batch_size,
            columns=tuple(columns) if columns is not None else None,
        )
        cursor = start.after
        async for window in windows:
            if window.rows:
                cursor = keyset.cursor_at(position_of(window.rows[-1]))
            yield ProductBatch(
                phase=StreamPhase.SNAPSHOT,
                sequence=next(self._sequence),
                products=window.rows,
                removed_ids=[],
                cursor=cursor if window.rows else None,
                snapshot_complete=window.last,
                # Built outright: dataclasses.replace() is several µs, for every batch.
                told=StreamPosition(cursor, window.last, live=start.live, frontier=start.frontier),
                tokens=self._tokens,
            )

    async def done(self, start: StreamPosition) -> AsyncIterator[ProductBatch]:
        yield ProductBatch(
            phase=StreamPhase.SNAPSHOT,
            sequence=next(self._sequence),
            products=[],
            removed_ids=[],
            cursor=None,
            snapshot_complete=True,
            told=start,
            tokens=self._tokens,
        )

    async def live(self, feed: Feed) -> AsyncIterator[ProductBatch]:
        async for news in feed.changes(self._batch_size):
            told = StreamPosition(None, snapshot_complete=True, live=True, frontier=news.frontier)
            yield ProductBatch(
                phase=StreamPhase.LIVE,
                sequence=next(self._sequence),
                products=cast(list[Product], news.products),
                removed_ids=[
                    strawberry.ID(global_id(models.Product, id)) for id in news.removed_ids
                ],
                cursor=None,
                snapshot_complete=True,
                told=told,
                tokens=self._tokens,
            )
