"""Reading a whole keyset order in bounded windows, for streams and exports.

Each window is one ``aiterator()`` query, ``(f, id) > (last f, last id)
ORDER BY f, id LIMIT n``, read on a borrowed reader thread. Between windows
nothing is held: no connection, no server-side cursor, no transaction. So a
reader behind a transaction-pooling proxy works, a slow consumer holds
nothing but the rows it was given, and the first window arrives after one
index range scan rather than after PostgreSQL has materialized a ``WITH HOLD``
cursor over the whole result.

The first window is an urgent read (api.paging.readers): a client waits for it.
Later windows are read a chunk of rows at a time, and between chunks wait
for any client message still to be answered (api.websocket.unanswered): making rows
into models holds the GIL, which a new subscriber's first batch needs too.
Rows read as tuples (``columns``, api.paging.rows) cost little enough to be
read in one go.
"""

import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db.models import QuerySet

from api.paging.keyset import Keyset
from api.paging.readers import readers
from api.paging.rows import TupleRows, read_tuples
from api.websocket.unanswered import unanswered

logger = logging.getLogger(__name__)

# Rows made into models at a time in a later window.
LATER_CHUNK_ROWS = 250


@dataclass(frozen=True)
class Batch:
    rows: list[Any]
    last: bool  # no row follows this batch


def tuple_position(keyset: Keyset, columns: Sequence[str]) -> Callable[[Any], Sequence[Any]]:
    """Where a tuple row of ``columns`` stands in ``keyset``."""
    indexes = [list(columns).index(field) for field in keyset.fields]
    return lambda row: tuple(row[index] for index in indexes)


async def read_window(
    queryset: QuerySet[Any],
    *,
    urgent: bool,
    size: int,
    columns: tuple[str, ...] | None = None,
) -> list[Any]:
    """The rows of one window's query, on a borrowed reader thread: models,
    or tuples of ``columns``."""
    async with readers.borrow(urgent=urgent):
        if columns is not None:
            return await sync_to_async(read_tuples)(queryset, columns)
        if urgent:
            # One chunk more than the rows, so aiterator needs a single fetch.
            return [row async for row in queryset.aiterator(chunk_size=size + 2)]
        rows = []
        async for row in queryset.aiterator(chunk_size=LATER_CHUNK_ROWS):
            rows.append(row)
            if len(rows) % LATER_CHUNK_ROWS == 0:
                await unanswered.quiet()
        return rows


async def read_windows(
    queryset: QuerySet[Any],
    keyset: Keyset,
    *,
    after: Sequence[Any] | None = None,
    first_size: int,
    max_size: int,
    position_of: Callable[[Any], Sequence[Any]] | None = None,
    columns: tuple[str, ...] | None = None,
) -> AsyncIterator[Batch]:
    """Every row of ``queryset`` beyond ``after`` in ``keyset`` order.

    The first window holds ``first_size`` rows, so the first of them leave
    early; later windows double up to ``max_size``. Each reads one row more
    than it yields, to know whether it is the last; an empty result is one
    empty window. ``position_of`` reads a row's values in the keyset, for
    rows that do not hold them under the fields' names. With ``columns``,
    rows are tuples of them (api.paging.rows), the keyset's fields among them.
    """
    if columns is not None:
        position_of = position_of or tuple_position(keyset, columns)
    position_of = position_of or keyset.position_of
    queryset = keyset.loading_fields(queryset).order_by(*keyset.order_by())
    size = first_size
    position = after
    first = True
    while True:
        window = queryset if position is None else queryset.filter(keyset.beyond(position))
        rows = await read_window(window[: size + 1], urgent=first, size=size, columns=columns)
        first = False
        more = len(rows) > size
        logger.debug("read a window of %d rows of %s", len(rows), queryset.model.__name__)
        del rows[size:]
        if more:
            position = position_of(rows[-1])
        # Whoever takes the window may empty it as it goes.
        yield Batch(rows, last=not more)
        if not more:
            return
        if size * 2 <= max_size:
            size *= 2


async def read_batches(
    queryset: QuerySet[Any],
    keyset: Keyset,
    *,
    after: Sequence[Any] | None = None,
    batch_size: int,
    columns: tuple[str, ...] | None = None,
) -> AsyncIterator[Batch]:
    """The rows of ``read_windows`` in batches of ``batch_size``: only the
    last may be shorter, and only an empty result gives an empty batch."""
    max_window = max(batch_size, settings.STREAM_WINDOW_SIZE)
    windows = read_windows(
        queryset,
        keyset,
        after=after,
        first_size=batch_size,
        max_size=max_window,
        columns=columns,
    )
    async for window in windows:
        if not window.rows:
            yield window
        # Windows are whole multiples of the batch size: batches never straddle
        # them. Each batch leaves the window as it goes, so a stream waiting
        # for its turn holds only the rows it has still to send.
        rows, last = deque(window.rows), window.last
        window.rows.clear()
        while rows:
            batch = [rows.popleft() for _ in range(min(batch_size, len(rows)))]
            if isinstance(window.rows, TupleRows):
                batch = TupleRows(window.rows.model, window.rows.columns, batch)
            yield Batch(batch, last=last and not rows)
