"""Live changes of products, for the LIVE phase of ``productStream``.

Each server process listens once to the change events (products.events) and
keeps a ``Feed`` per live subscriber. For every group of events that arrived
together it reads the changed rows once, in one query per
``CHANGES_PER_MESSAGE`` ids, whatever the number of subscribers; each feed
then takes the rows that match its filter, and the ids of the others as
removed. A feed coalesces by id, so a burst of changes waits as at most one
entry per product, and a subscriber that is still sending its snapshot misses
nothing: its feed was listening before the snapshot's first read.

A subscriber that falls behind is let go of rather than buffered for without
end: its feed is *overrun* when more than ``LIVE_MAX_PENDING`` changes wait
in it, or when changes wait and the subscriber has not come back for more
for ``LIVE_STALL_TIMEOUT`` seconds since it took its last batch (its client
stopped reading, so it is stuck sending). The feed then drops what waits,
takes no more, tells its subscriber's connection (``on_overrun``) and ends
the subscriber's stream with ``LiveUpdatesLost`` when it comes back.
"""

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from itertools import islice

from django.conf import settings

from api.broadcast import Inbox, broadcast
from api.graphql.execution import SharedList
from api.paging.readers import readers
from products import events, selectors
from products.models import Product
from products.selectors import ProductCriteria

logger = logging.getLogger(__name__)

# Events read together at most; more wait for the next group.
MESSAGES_PER_GROUP = 50
# Rows in the shared lists kept for feeds still to send them: enough for the
# slowest of many subscribers to reach a 10,000-product burst's last batch
# without its completion having been dropped (which costs only time).
SHARED_ROWS_KEPT = 20_000


class LiveUpdatesLost(Exception):
    """Changes may have been missed (the broadcast or the database failed):
    the subscriber has to start over from a snapshot."""


@dataclass(frozen=True)
class Changes:
    """What a subscriber has to be told: products to show, ids to drop."""

    products: list[Product]
    removed_ids: list[int]


FELL_BEHIND = "Fell too far behind live updates; subscribe again."


def no_one_to_tell() -> None:
    pass


class Feed:
    """The changes waiting for one live subscriber."""

    def __init__(
        self,
        criteria: ProductCriteria,
        share: Callable[[list[Product]], SharedList],
        on_overrun: Callable[[], None] = no_one_to_tell,
    ) -> None:
        self.criteria = criteria
        self._share = share
        self._on_overrun = on_overrun
        self._max_pending = settings.LIVE_MAX_PENDING
        self._stall_timeout = settings.LIVE_STALL_TIMEOUT
        # id → the product as last read, or None when it is gone from the view.
        self._pending: dict[int, Product | None] = {}
        self._arrived = asyncio.Event()
        self._lost: LiveUpdatesLost | None = None
        # When the subscriber took its last batch, while it is away sending it;
        # None while it waits here, and before it first came (its snapshot).
        self._away_since: float | None = None

    @property
    def waiting(self) -> int:
        """How many changes wait to be sent."""
        return len(self._pending)

    def offer(self, ids: list[int], rows: Mapping[int, Product]) -> None:
        if self._lost:
            return
        criteria = self.criteria
        for id in ids:
            product = rows.get(id)
            if product is not None and criteria.matches(product):
                self._pending[id] = product
            elif criteria.could_have_held(id, deleted=product is None):
                self._pending[id] = None
        if not self._pending:
            return
        if len(self._pending) > self._max_pending or self._stalled():
            self._overrun()
        else:
            self._arrived.set()

    def _stalled(self) -> bool:
        away_since = self._away_since
        return away_since is not None and time.monotonic() - away_since > self._stall_timeout

    def _overrun(self) -> None:
        self._pending.clear()
        self.lose(LiveUpdatesLost(FELL_BEHIND))
        self._on_overrun()

    def lose(self, error: LiveUpdatesLost) -> None:
        self._lost = error
        self._arrived.set()

    async def changes(self, limit: int) -> AsyncIterator[Changes]:
        """Waits for changes and hands them out, at most ``limit`` at a time."""
        while True:
            while not self._pending:
                if self._lost:
                    raise self._lost
                self._arrived.clear()
                await self._arrived.wait()
            ids = list(islice(self._pending, limit))
            taken = [(id, self._pending.pop(id)) for id in ids]
            self._away_since = time.monotonic()
            yield Changes(
                products=self._share([product for _, product in taken if product is not None]),
                removed_ids=[id for id, product in taken if product is None],
            )
            self._away_since = None


class LiveProducts:
    """This process's listener, shared by all its feeds."""

    def __init__(self) -> None:
        self._feeds: set[Feed] = set()
        self._shared: OrderedDict[tuple[int, ...], SharedList] = OrderedDict()
        self._shared_rows = 0
        self._users = 0  # feeds, and callers waiting for one
        self._listening: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None

    @asynccontextmanager
    async def feed(
        self, criteria: ProductCriteria, on_overrun: Callable[[], None] = no_one_to_tell
    ) -> AsyncIterator[Feed]:
        """A feed that receives every change committed from now on;
        ``on_overrun`` is called if its subscriber falls too far behind."""
        self._users += 1
        try:
            await self._listen()
            feed = Feed(criteria, self._share, on_overrun)
            self._feeds.add(feed)
            try:
                yield feed
            finally:
                self._feeds.discard(feed)
        finally:
            self._users -= 1
            if not self._users and self._listening:
                # Nobody left to tell: stop listening (and reading) until someone is.
                self._listening.cancel()
                self._listening = None

    def _share(self, products: list[Product]) -> SharedList:
        """The one SharedList of these very rows: subscribers sent the same
        rows get the same list, whose completion is then done once for all
        that select alike (api.graphql.execution). The most recent are kept, up to
        SHARED_ROWS_KEPT rows; each holds its rows, so the ids in its key
        stay theirs."""
        key = tuple(map(id, products))
        shared = self._shared.get(key)
        if shared is None:
            shared = self._shared[key] = SharedList(products)
            self._shared_rows += len(shared)
            while self._shared_rows > SHARED_ROWS_KEPT:
                self._shared_rows -= len(self._shared.popitem(last=False)[1])
        else:
            self._shared.move_to_end(key)
        return shared

    async def _listen(self) -> None:
        if self._listening is None or self._listening.done():
            self._ready = asyncio.get_running_loop().create_future()
            self._listening = asyncio.create_task(self._dispatch(self._ready))
        assert self._ready is not None
        await asyncio.shield(self._ready)

    async def _dispatch(self, ready: asyncio.Future[None]) -> None:
        try:
            async with broadcast().listen(events.channel()) as inbox:
                ready.set_result(None)
                while True:
                    await self._dispatch_group(inbox)
        except Exception as error:
            logger.error("live updates lost: %r", error)
            lost = LiveUpdatesLost(f"Live updates were interrupted ({error}); subscribe again.")
            if not ready.done():
                ready.set_exception(lost)
            for feed in self._feeds:
                feed.lose(lost)

    async def _dispatch_group(self, inbox: Inbox) -> None:
        messages = [await inbox.get(), *inbox.drain(MESSAGES_PER_GROUP - 1)]
        # dict: each id once, in the order of its first change.
        ids = list(dict.fromkeys(c.id for m in messages for c in events.decode(m)))
        if not self._feeds:
            return
        rows = await read_products(ids)
        for feed in list(self._feeds):
            feed.offer(ids, rows)


async def read_products(ids: list[int]) -> dict[int, Product]:
    """The rows of ``ids`` that still exist, as they are now."""
    rows: dict[int, Product] = {}
    for start in range(0, len(ids), events.CHANGES_PER_MESSAGE):
        chunk = ids[start : start + events.CHANGES_PER_MESSAGE]
        async with readers.borrow(urgent=True):  # subscribers wait for these rows
            async for product in selectors.products_by_id(chunk):
                rows[product.pk] = product
    return rows


live_products = LiveProducts()
