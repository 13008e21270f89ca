"""A connection page whose edges are streamed (``edges @stream``): its
``pageInfo`` exact before its rows are read, its rows read in keyset windows
as the response goes out.

The page's two ends are found first, by a few one-row (or two-row) index
probes: the row nearest the cursor, and the row ``size`` rows away from it
(with the one after it, to know whether more follow). ``pageInfo`` is made
from them; the edges are then every row between the two ends inclusive, read
by ``api.paging.windows`` with ``aiterator()``: the first window holds the
edges sent at once (``initialCount``), later ones double up to
``STREAM_WINDOW_SIZE``. Memory holds one window, whatever the page size.

Between the probes and the last window, rows may be written: the edges are
the rows between the ends as they are read, so a row inserted between them
is an edge more and a deleted one an edge less, and paging on from
``endCursor`` (or back from ``startCursor``) neither skips nor repeats one.
"""

from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from strawberry import relay

from api.paging.keyset import Keyset
from api.paging.windows import read_windows

Position = tuple[Any, ...]


async def streamed_page(
    queryset: QuerySet[Any],
    keyset: Keyset,
    *,
    after: Position | None,
    before: Position | None,
    size: int,
    from_end: bool,
    initial: int,
) -> tuple[AsyncIterator[relay.Edge[Any]], relay.PageInfo]:
    """The edges of a page of ``size`` rows (the last ones if ``from_end``)
    between the cursors, to be read as they are iterated, and its pageInfo."""
    bounded = queryset
    if after is not None:
        bounded = bounded.filter(keyset.beyond(after))
    if before is not None:
        bounded = bounded.filter(keyset.beyond(before, reverse=True))

    async def positions(*, reverse: bool, start: int, stop: int) -> list[Position]:
        ordered = bounded.order_by(*keyset.order_by(reverse=reverse))
        rows = ordered.values_list(*keyset.fields)[start:stop]
        return [tuple(row) async for row in rows]

    async def beyond(position: Position | None, *, reverse: bool) -> bool:
        """Whether a row lies at ``position`` or past it (before, if ``reverse``)."""
        if position is None:
            return False
        probe = queryset.filter(keyset.beyond(position, reverse=reverse, inclusive=True))
        ordered = probe.order_by(*keyset.order_by(reverse=reverse)).values("pk")
        return await ordered.afirst() is not None

    near = await positions(reverse=from_end, start=0, stop=1)
    far = await positions(reverse=from_end, start=size - 1, stop=size + 1) if near else []
    more = len(far) == 2
    if near and not far:  # fewer rows than the page holds: the far end is the last
        far = await positions(reverse=not from_end, start=0, stop=1)
    has_previous = (from_end and more) or await beyond(after, reverse=True)
    has_next = (not from_end and more) or await beyond(before, reverse=False)
    if not near:
        return _no_edges(), relay.PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=None,
            end_cursor=None,
        )
    first, last = (far[0], near[0]) if from_end else (near[0], far[0])
    rows = bounded.filter(
        keyset.beyond(first, inclusive=True), keyset.beyond(last, reverse=True, inclusive=True)
    )
    page_info = relay.PageInfo(
        has_next_page=has_next,
        has_previous_page=has_previous,
        start_cursor=keyset.cursor_at(first),
        end_cursor=keyset.cursor_at(last),
    )
    return _edges(rows, keyset, first_window=max(initial, 1)), page_info


async def _edges(
    rows: QuerySet[Any], keyset: Keyset, *, first_window: int
) -> AsyncIterator[relay.Edge[Any]]:
    windows = read_windows(
        rows, keyset, first_size=first_window, max_size=settings.STREAM_WINDOW_SIZE
    )
    async for window in windows:
        # Each edge leaves the window as it goes: the rows held are the ones
        # still to send.
        pending: deque[Any] = deque(window.rows)
        window.rows.clear()
        while pending:
            row = pending.popleft()
            yield relay.Edge(cursor=keyset.cursor_for(row), node=row)


async def _no_edges() -> AsyncIterator[relay.Edge[Any]]:
    return
    yield  # an async generator, that ends at once
