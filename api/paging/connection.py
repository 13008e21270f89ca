"""Relay connections read by keyset: the page-size rules, the cursors, exact
``pageInfo`` in both directions and a ``totalCount`` computed only on demand.

Every connection of the schema is built by ``paginate``; an app supplies the
filtered queryset and the ``Keyset`` of the requested ordering.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import strawberry
from django.conf import settings
from django.db.models import Model, QuerySet, Subquery
from strawberry import relay
from strawberry.relay import NodeType

from api.graphql.errors import ClientError
from api.paging.keyset import Keyset
from api.paging.streamed_pages import streamed_page


@dataclass(frozen=True)
class PageRequest:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None
    # The initialCount of the edges when the response streams them.
    streamed: int | None = None

    def size(self) -> tuple[int, bool]:
        """The number of rows asked for, and whether they are the last ones."""
        if self.first is not None and self.last is not None:
            raise ClientError("Pass `first` or `last`, not both.")
        streamed_limit = settings.CONNECTION_MAX_STREAMED_PAGE_SIZE
        limit = settings.CONNECTION_MAX_PAGE_SIZE if self.streamed is None else streamed_limit
        for name, value in (("first", self.first), ("last", self.last)):
            if value is not None and value < 0:
                raise ClientError(f"`{name}` must not be negative (got {value}).")
            if value is not None and value > limit:
                raise ClientError(
                    f"`{name}` must be at most {limit} (got {value})"
                    + (
                        f"; up to {streamed_limit} when the edges are streamed "
                        "(`edges @stream` with `Accept: multipart/mixed`)."
                        if self.streamed is None and streamed_limit > limit
                        else "."
                    )
                )
        if self.last is not None:
            return self.last, True
        if self.first is not None:
            return self.first, False
        return settings.CONNECTION_DEFAULT_PAGE_SIZE, False


@strawberry.type(name="Connection", description="A page of a list, in the Relay style.")
class Connection(relay.Connection[NodeType]):
    # Counts the rows matching the filter; run only if totalCount is selected.
    counting: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many rows match the filter, across all pages.")
    async def total_count(self) -> int:
        return await self.counting()


async def paginate(queryset: QuerySet[Any], keyset: Keyset, page: PageRequest) -> Connection[Any]:
    """One page of ``queryset`` in ``keyset`` order, in one query.

    The page reads one row more than asked, to know whether more follow; and for
    each cursor given, the row at or beyond that cursor rides along as an
    uncorrelated subquery (computed once), so ``hasPreviousPage`` and
    ``hasNextPage`` are exact in both directions without another round trip.
    """
    size, from_end = page.size()
    after = keyset.decode(page.after) if page.after is not None else None
    before = keyset.decode(page.before) if page.before is not None else None
    if page.streamed is not None and size > 0:
        streamed_edges, page_info = await streamed_page(
            keyset.loading_fields(queryset),
            keyset,
            after=after,
            before=before,
            size=size,
            from_end=from_end,
            initial=page.streamed,
        )
        # graphql-core streams the edges from the async iterator as it reads them.
        return Connection(
            edges=cast(Any, streamed_edges), page_info=page_info, counting=queryset.acount
        )

    # The first row on the far side of a cursor, ordered away from it: one step
    # of an index scan. A bare EXISTS may be planned as a sequential scan that
    # wades through every row on the near side first.
    def first_beyond(position: tuple[Any, ...], *, reverse: bool) -> QuerySet[Any]:
        probe = queryset.filter(keyset.beyond(position, reverse=reverse, inclusive=True))
        return probe.order_by(*keyset.order_by(reverse=reverse)).values("pk")[:1]

    window = keyset.loading_fields(queryset)
    probes: dict[str, tuple[tuple[Any, ...], bool]] = {}
    if after is not None:
        window = window.filter(keyset.beyond(after))
        probes["_row_before_after"] = (after, True)
    if before is not None:
        window = window.filter(keyset.beyond(before, reverse=True))
        probes["_row_from_before"] = (before, False)
    window = window.annotate(
        **{name: Subquery(first_beyond(at, reverse=rev)) for name, (at, rev) in probes.items()}
    )
    window = window.order_by(*keyset.order_by(reverse=from_end))[: size + 1]
    rows: list[Model] = [row async for row in window.aiterator(chunk_size=size + 1)]
    more = len(rows) > size
    rows = rows[:size]
    if from_end:
        rows.reverse()

    async def beyond(name: str) -> bool:
        if name not in probes:
            return False
        if rows:
            return getattr(rows[0], name) is not None
        position, reverse = probes[name]  # an empty page carried no probe
        return await first_beyond(position, reverse=reverse).afirst() is not None

    has_previous = (from_end and more) or await beyond("_row_before_after")
    has_next = (not from_end and more) or await beyond("_row_from_before")

    return connection(
        rows, keyset, has_next=has_next, has_previous=has_previous, counting=queryset.acount
    )


def connection(
    rows: list[Model],
    keyset: Keyset,
    *,
    has_next: bool,
    has_previous: bool,
    counting: Callable[[], Awaitable[int]],
) -> Connection[Any]:
    """The connection of a page of ``rows``, in order."""
    edges = [relay.Edge(cursor=keyset.cursor_for(row), node=cast(Any, row)) for row in rows]
    return Connection(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        counting=counting,
    )
