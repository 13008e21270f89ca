"""Reading the change log (products.models.ProductChange) in commit order.

The triggers give each change a position from a sequence, taken at insert:
on PostgreSQL a transaction holding position 10 may commit after one holding
11, so a reader that only asked for ``position > last`` would, having seen
11, skip 10 for ever. A ``Frontier`` is therefore the last position read
*and* the transactions that had not finished when it was read, as the
read's snapshot names them: those it lists as in flight, and every one from
its ``xmax`` on (which it does not list: a transaction that took its id
after the last one to finish). The next read takes the rows above the
position and every row those transactions wrote, wherever they sit.

SQLite has one writer at a time, which takes its positions and commits
before the next one begins: there, the position alone is exact.

The reading functions query the database synchronously: callers run them
on a reader thread (api.paging.readers). ``wakeups`` tell this process's
readers to look now, from any thread: SQLite's triggers cannot notify, so
the writes of this process wake them when they commit (``wake_on_commit``).
"""

import asyncio
import threading
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from django.db import connection, transaction

from products.models import ChangeLogHorizon, ProductChange

# Log rows read at most by one query; more are read by the next. A burst (a
# category's discount over 10,000 products) is read, offered and sent a
# thousand changes at a time: the first go out before the rest are read.
ROWS_PER_READ = 1000
# Above every transaction id: no transaction is unfinished from there on.
NO_TRANSACTION = 2**63 - 1

LOG = ProductChange._meta.db_table
HORIZON = ChangeLogHorizon._meta.db_table


@dataclass(frozen=True)
class Frontier:
    """Where a reader of the log stands: everything up to ``position`` has
    been read, except what the transactions ``in_flight`` write, and those
    from ``unfinished_from`` on (None: none, as on SQLite)."""

    position: int
    in_flight: tuple[int, ...] = ()
    unfinished_from: int | None = None

    def follows(self, change: "Change") -> bool:
        """Whether ``change`` is news to a reader standing here."""
        return (
            change.position > self.position
            or change.transaction in self.in_flight
            or (self.unfinished_from is not None and change.transaction >= self.unfinished_from)
        )


@dataclass(frozen=True)
class Change:
    position: int
    transaction: int
    product_id: int
    # When the change was written, in its transaction (Unix time, the
    # database's clock): how late live subscribers hear of it (api.metrics).
    written_at: float = field(default=0.0, compare=False)


@dataclass(frozen=True)
class LogRead:
    changes: list[Change]
    # Where a reader stands after this read, if it stood at or behind it.
    reached: Frontier
    # More rows may follow at once (the read reached its limit).
    full: bool = False
    # news_to's answers: most readers stand at the same frontier.
    _news: dict[Frontier, list[int]] = field(default_factory=dict, compare=False, repr=False)
    _written: dict[int, float] = field(default_factory=dict, compare=False, repr=False)

    def news_to(self, frontier: Frontier) -> list[int]:
        """The products changed after ``frontier``, each once, in the order of
        its first change."""
        news = self._news.get(frontier)
        if news is None:
            news = self._news[frontier] = list(
                dict.fromkeys(c.product_id for c in self.changes if frontier.follows(c))
            )
        return news

    def written_at(self, product_id: int) -> float:
        """When the first change of ``product_id`` in this read was written."""
        written = self._written
        if not written:
            for change in reversed(self.changes):
                written[change.product_id] = change.written_at
        return written[product_id]

    def advance(self, frontier: Frontier) -> Frontier:
        """Where a reader that stood at ``frontier`` stands after this read.
        A full read stopped short of a frontier ahead of it: that one stays."""
        if self.full and frontier.position > self.reached.position:
            return frontier
        return self.reached


# The transactions the statement's own snapshot does not see finished.
UNFINISHED_SQL = (
    "(SELECT array_agg(x::text::bigint) FROM pg_snapshot_xip(pg_current_snapshot()) x),"
    " pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
)


def read_changes(frontiers: Iterable[Frontier], limit: int = ROWS_PER_READ) -> LogRead:
    """The changes news to at least one of ``frontiers``, oldest first."""
    frontiers = list(frontiers)
    since = min(frontier.position for frontier in frontiers)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            in_flight = sorted({xid for frontier in frontiers for xid in frontier.in_flight})
            unfinished = [f.unfinished_from for f in frontiers if f.unfinished_from is not None]
            # One statement, even when it finds nothing: the rows and the
            # transactions unfinished must belong to the same snapshot. One
            # that finished between two statements would be taken for read.
            cursor.execute(
                f"SELECT s.*, c.position, c.transaction_id, c.product_id, c.written_at"
                f" FROM (SELECT {UNFINISHED_SQL}) s"
                " LEFT JOIN LATERAL (SELECT position, transaction_id, product_id,"
                f" EXTRACT(EPOCH FROM recorded_at)::float8 AS written_at FROM {LOG}"
                " WHERE position > %s OR transaction_id = ANY(%s) OR transaction_id >= %s"
                " ORDER BY position LIMIT %s) c ON true ORDER BY c.position",
                [since, in_flight, min(unfinished, default=NO_TRANSACTION), limit],
            )
            found = cursor.fetchall()
            still_in_flight, unfinished_from = tuple(sorted(found[0][0] or ())), found[0][1]
            rows = [row[2:] for row in found if row[2] is not None]
        else:
            cursor.execute(
                "SELECT position, transaction_id, product_id,"
                f" (julianday(recorded_at) - 2440587.5) * 86400.0 FROM {LOG}"
                " WHERE position > %s ORDER BY position LIMIT %s",
                [since, limit],
            )
            rows = cursor.fetchall()
            still_in_flight, unfinished_from = (), None
    changes = [Change(*row) for row in rows]
    full = len(changes) == limit
    reached = changes[-1].position if changes else since
    if not full:
        # Everything committed has been read, for every frontier asked.
        reached = max([reached, *(frontier.position for frontier in frontiers)])
    return LogRead(changes, Frontier(reached, still_in_flight, unfinished_from), full)


def current_frontier() -> Frontier:
    """Where a reader starting now stands: past everything committed."""
    postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        # A pruned log may be empty: the horizon is where it stood.
        cursor.execute(
            f"SELECT MAX(position), (SELECT MAX(pruned_through) FROM {HORIZON})"
            f"{', ' + UNFINISHED_SQL if postgresql else ''} FROM {LOG}"
        )
        row = cursor.fetchone()
    position = max(row[0] or 0, row[1] or 0)
    if not postgresql:
        return Frontier(position)
    return Frontier(position, tuple(sorted(row[2] or ())), row[3])


def pruned_through() -> int:
    """The last position pruned: a frontier behind it has lost changes."""
    horizon = ChangeLogHorizon.objects.filter(pk=1).values_list("pruned_through", flat=True)
    return horizon.first() or 0


class Wakeups:
    """Wakes this process's tailer from any thread: after a write of this
    process commits, and when PostgreSQL notifies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def wake(self) -> None:
        with self._lock:
            events = list(self._events)
        for loop, event in events:
            loop.call_soon_threadsafe(event.set)

    @asynccontextmanager
    async def watch(self) -> AsyncIterator[asyncio.Event]:
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._events.add(entry)
        try:
            yield entry[1]
        finally:
            with self._lock:
                self._events.discard(entry)


wakeups = Wakeups()


def wake_on_commit() -> None:
    """Wakes this process's tailer once the current transaction commits.
    On PostgreSQL the log's own notification does, for every process."""
    if connection.vendor != "postgresql":
        transaction.on_commit(wakeups.wake)
