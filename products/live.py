"""Live changes of products, for the LIVE phase of ``productStream``.

Each server process tails the change log (products.changes) once, and keeps
a ``Feed`` per live subscriber. For every group of changes read together it
reads the changed rows once, in one query per ``ROWS_PER_QUERY`` ids,
whatever the number of subscribers; each feed then takes the rows that match
its filter, and the ids of the others as removed. A feed coalesces by id, so
a burst of changes waits as at most one entry per product.

Every feed stands at a frontier of its own in the log: a new one where the
process stands, one resumed where its token says. One read serves them all
(it asks for what is news to any of them, and each takes what is news to
it), so a thousand subscribers resumed after a restart share the reads of
what changed while they were away, and the ones behind catch up with the
others. Reads happen one after another, so each feed sees every product's
states in order.

The log is read when PostgreSQL notifies that changes committed
(api.postgresql.notifications), when a write of this process commits (the
only wake-up on SQLite), and every ``CHANGE_LOG_POLL_INTERVAL`` seconds
whatever happens: a lost wake-up delays a change, it never loses one. A read
that fails (the database restarting, its connection cut) is tried again,
and the feeds wait meanwhile: nothing is lost, since the log keeps it.

A subscriber that falls behind is let go of rather than buffered for without
end: its feed is *overrun* when more than ``LIVE_MAX_PENDING`` changes wait
in it, or when changes wait and the subscriber has not come back for more
for ``LIVE_STALL_TIMEOUT`` seconds since it took its last batch (its client
stopped reading, so it is stuck sending). The feed then drops what waits,
takes no more, tells its subscriber's connection (``on_overrun``) and ends
the subscriber's stream with ``LiveUpdatesLost`` when it comes back.
"""

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Collection, Hashable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from itertools import islice

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

from api.graphql.execution import SharedList
from api.metrics.sampling import sampled
from api.metrics.streams import live_batch_sent, record_backlog
from api.paging.readers import readers
from api.postgresql.notifications import listen
from api.retrying import retrying
from products import changes, selectors
from products.changes import Frontier, LogRead, wakeups
from products.models import CHANGES_CHANNEL, Product
from products.selectors import ProductCriteria

# Ids in one query of changed rows.
ROWS_PER_QUERY = 1000
# Rows in the shared lists kept for feeds still to send them: enough for the
# slowest of many subscribers to reach a 10,000-product burst's last batch
# without its completion having been dropped (which costs only time).
SHARED_ROWS_KEPT = 20_000


class LiveUpdatesLost(Exception):
    """The subscriber fell too far behind: its connection is being closed,
    and the client resumes from the last batch it received."""


@dataclass(frozen=True)
class Changes:
    """What a subscriber has to be told: products to show, ids to drop, and
    where in the log it stands once told."""

    products: list[Product]
    removed_ids: list[int]
    frontier: Frontier
    # When the oldest of these changes was written (api.metrics.streams).
    written_at: float


FELL_BEHIND = "Fell too far behind live updates; resume from the last resumeToken."


def no_one_to_tell() -> None:
    pass


class Feed:
    """The changes waiting for one live subscriber."""

    def __init__(
        self,
        criteria: ProductCriteria,
        frontier: Frontier,
        share: Callable[[list[Product]], SharedList],
        on_overrun: Callable[[], None] = no_one_to_tell,
    ) -> None:
        self.criteria = criteria
        self._criteria_key = criteria.key()
        # Where in the log the feed stands: all before it has been offered.
        self.frontier = frontier
        self._share = share
        self._on_overrun = on_overrun
        self._max_pending = settings.LIVE_MAX_PENDING
        self._stall_timeout = settings.LIVE_STALL_TIMEOUT
        # id → the product as last read (None: gone from the view), the
        # frontier the feed stood at before the change (the subscriber has
        # been told all before it) and when that change was written. Oldest first.
        self._pending: dict[int, tuple[Product | None, Frontier, float]] = {}
        self._arrived = asyncio.Event()
        self._lost: LiveUpdatesLost | None = None
        # When the subscriber took its last batch, while it is away sending it;
        # None while it waits here, and before it first came (its snapshot).
        self._away_since: float | None = None

    @property
    def waiting(self) -> int:
        """How many changes wait to be sent."""
        return len(self._pending)

    def offer(self, offer: "Offer") -> None:
        """Takes from ``offer`` what is news to this feed."""
        before, self.frontier = self.frontier, offer.read.advance(self.frontier)
        if self._lost:
            return
        pending = self._pending
        for id, shown in offer.shown(before, self.criteria, self._criteria_key):
            waiting = pending.get(id)
            # A product waiting keeps its place, and the frontier of its
            # first change: nothing before that has been told.
            if waiting:
                pending[id] = (shown, waiting[1], waiting[2])
            else:
                pending[id] = (shown, before, offer.read.written_at(id))
        if not pending:
            return
        if len(pending) > self._max_pending or self._stalled():
            self._overrun()
        else:
            self._arrived.set()

    def _stalled(self) -> bool:
        away_since = self._away_since
        return away_since is not None and time.monotonic() - away_since > self._stall_timeout

    def _overrun(self) -> None:
        self._pending.clear()
        self._lost = LiveUpdatesLost(FELL_BEHIND)
        self._arrived.set()
        self._on_overrun()

    async def changes(self, limit: int) -> AsyncIterator[Changes]:
        """Waits for changes and hands them out, at most ``limit`` at a time."""
        while True:
            while not self._pending:
                if self._lost:
                    raise self._lost
                self._arrived.clear()
                await self._arrived.wait()
            taken = [(id, *self._pending.pop(id)) for id in list(islice(self._pending, limit))]
            # What is left was all news after the first of it.
            told = next(iter(self._pending.values()))[1] if self._pending else self.frontier
            self._away_since = time.monotonic()
            written_at = min(written for *_, written in taken)
            yield Changes(
                products=self._share([product for _, product, *_ in taken if product is not None]),
                removed_ids=[id for id, product, *_ in taken if product is None],
                frontier=told,
                written_at=written_at,
            )
            # Back for more: the batch has been sent.
            live_batch_sent(written_at)
            self._away_since = None


class Offer:
    """A read of the log and the rows it names, as feeds take it: what a
    filter makes of the changes news to a frontier is decided once, for all
    the feeds that stand there with equal filters (a thousand subscribers of
    one storefront's view)."""

    def __init__(self, read: LogRead, rows: Mapping[int, Product]) -> None:
        self.read = read
        self._rows = rows
        self._shown: dict[tuple[Frontier, Hashable], list[tuple[int, Product | None]]] = {}

    def shown(
        self, frontier: Frontier, criteria: ProductCriteria, key: Hashable
    ) -> list[tuple[int, Product | None]]:
        """The products news at ``frontier`` that a view of ``criteria``
        (whose key is ``key``) shows, or drops (None)."""
        shown = self._shown.get((frontier, key))
        if shown is None:
            shown = self._shown[frontier, key] = []
            for id in self.read.news_to(frontier):
                product = self._rows.get(id)
                if product is not None and criteria.matches(product):
                    shown.append((id, product))
                elif criteria.could_have_held(id, deleted=product is None):
                    shown.append((id, None))
        return shown


class LiveProducts:
    """This process's tailer of the log, shared by all its feeds."""

    def __init__(self) -> None:
        self._feeds: set[Feed] = set()
        self._shared: OrderedDict[tuple[int, ...], SharedList] = OrderedDict()
        self._shared_rows = 0
        self._users = 0  # feeds, and callers waiting for one
        self._tailing: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        # Where the process stands in the log, once it has looked.
        self._frontier = Frontier(0)

    @asynccontextmanager
    async def feed(
        self,
        criteria: ProductCriteria,
        since: Frontier | None = None,
        on_overrun: Callable[[], None] = no_one_to_tell,
    ) -> AsyncIterator[Feed]:
        """A feed of every change committed after ``since`` (default: from
        now on); ``on_overrun`` is called if its subscriber falls too far
        behind."""
        self._users += 1
        try:
            await self._start()
            feed = Feed(criteria, since or self._frontier, self._share, on_overrun)
            self._feeds.add(feed)
            if since is not None:
                wakeups.wake()  # it may have news to catch up on
            try:
                yield feed
            finally:
                self._feeds.discard(feed)
        finally:
            self._users -= 1
            if not self._users and self._tailing:
                # Nobody left to tell: stop reading until someone is.
                self._tailing.cancel()
                self._tailing = None

    async def _start(self) -> None:
        if self._tailing is None or self._tailing.done():
            self._ready = asyncio.get_running_loop().create_future()
            self._tailing = asyncio.create_task(self._tail(self._ready))
        assert self._ready is not None
        await asyncio.shield(self._ready)

    async def sample_backlog(self) -> None:
        """Sets the backlog series (api.metrics.streams): changes waiting in
        the feeds, and changes committed that the tailer has yet to read."""
        feeds = list(self._feeds)
        unread = 0
        if feeds and self._tailing is not None:
            head = await current_frontier()
            unread = max(0, head.position - self._frontier.position)
        record_backlog(waiting=sum(feed.waiting for feed in feeds), unread=unread)

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

    async def _tail(self, ready: asyncio.Future[None]) -> None:
        async with wakeups.watch() as woken:
            listening = (
                asyncio.create_task(listen(CHANGES_CHANNEL, wakeups.wake))
                if connection.vendor == "postgresql"
                else None
            )
            try:
                self._frontier = await retrying(current_frontier, "reading the change log")
                ready.set_result(None)
                while True:
                    woken.clear()
                    await retrying(self._read, "reading the change log")
                    with suppress(TimeoutError):
                        await asyncio.wait_for(woken.wait(), settings.CHANGE_LOG_POLL_INTERVAL)
            finally:
                if listening:
                    listening.cancel()

    async def _read(self) -> None:
        """Offers every feed what is news to it."""
        while True:
            # Only the feeds whose frontiers the read covers are offered it: one
            # added while it is read (a resumed one behind) waits for the next.
            feeds = list(self._feeds)
            frontiers = {self._frontier, *(feed.frontier for feed in feeds)}
            async with readers.borrow(urgent=True):  # subscribers wait for these
                read = await sync_to_async(changes.read_changes)(frontiers)
            news = {id for feed in feeds for id in read.news_to(feed.frontier)}
            rows = await read_products(news) if news else {}
            offer = Offer(read, rows)
            for feed in feeds:
                feed.offer(offer)
            self._frontier = read.advance(self._frontier)
            if not read.full:
                return


async def current_frontier() -> Frontier:
    async with readers.borrow(urgent=True):
        return await sync_to_async(changes.current_frontier)()


async def read_products(ids: Collection[int]) -> dict[int, Product]:
    """The rows of ``ids`` that still exist, as they are now."""
    ids = list(ids)
    rows: dict[int, Product] = {}
    for start in range(0, len(ids), ROWS_PER_QUERY):
        chunk = ids[start : start + ROWS_PER_QUERY]
        async with readers.borrow(urgent=True):  # subscribers wait for these rows
            async for product in selectors.products_by_id(chunk):
                rows[product.pk] = product
    return rows


live_products = LiveProducts()
sampled(live_products.sample_backlog)
