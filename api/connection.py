"""Relay connections read by keyset: the page-size rules, the cursors, exact
``pageInfo`` in both directions and a ``totalCount`` computed only on demand.

Every connection of the schema is built by ``paginate``; an app supplies the
filtered queryset and the ``Keyset`` of the requested ordering.
"""

from dataclasses import dataclass
from typing import Any, cast

import strawberry
from django.conf import settings
from django.db.models import Model, QuerySet
from strawberry import relay
from strawberry.relay import NodeType

from api.errors import ClientError
from api.keyset import Keyset


@dataclass(frozen=True)
class PageRequest:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    def size(self) -> tuple[int, bool]:
        """The number of rows asked for, and whether they are the last ones."""
        if self.first is not None and self.last is not None:
            raise ClientError("Pass `first` or `last`, not both.")
        limit = settings.CONNECTION_MAX_PAGE_SIZE
        for name, value in (("first", self.first), ("last", self.last)):
            if value is not None and value < 0:
                raise ClientError(f"`{name}` must not be negative (got {value}).")
            if value is not None and value > limit:
                raise ClientError(f"`{name}` must be at most {limit} (got {value}).")
        if self.last is not None:
            return self.last, True
        if self.first is not None:
            return self.first, False
        return settings.CONNECTION_DEFAULT_PAGE_SIZE, False


@strawberry.type(name="Connection", description="A page of a list, in the Relay style.")
class Connection(relay.Connection[NodeType]):
    matching: strawberry.Private[QuerySet[Any]]

    @strawberry.field(description="How many rows match the filter, across all pages.")
    async def total_count(self) -> int:
        return await self.matching.acount()


async def paginate(queryset: QuerySet[Any], keyset: Keyset, page: PageRequest) -> Connection[Any]:
    """One page of ``queryset`` in ``keyset`` order.

    Costs one query for the rows, plus one ``EXISTS`` per cursor given, so that
    ``hasPreviousPage``/``hasNextPage`` are exact in both directions.
    """
    size, from_end = page.size()
    after = keyset.decode(page.after) if page.after is not None else None
    before = keyset.decode(page.before) if page.before is not None else None

    window = keyset.loading_fields(queryset)
    if after is not None:
        window = window.filter(keyset.beyond(after))
    if before is not None:
        window = window.filter(keyset.beyond(before, reverse=True))
    window = window.order_by(*keyset.order_by(reverse=from_end))[: size + 1]
    rows: list[Model] = [row async for row in window.aiterator(chunk_size=size + 1)]
    more = len(rows) > size
    rows = rows[:size]
    if from_end:
        rows.reverse()

    # Rows outside the window exist on the cursor's side when any row sits at or
    # beyond the cursor itself. Ordered away from the cursor, the probe is one
    # step of an index scan; a bare EXISTS may be planned as a sequential scan
    # that wades through every row on the other side first.
    async def exists_beyond(position: tuple[Any, ...] | None, *, reverse: bool) -> bool:
        if position is None:
            return False
        probe = queryset.filter(keyset.beyond(position, reverse=reverse, inclusive=True))
        return (
            await probe.order_by(*keyset.order_by(reverse=reverse)).values("pk").afirst()
            is not None
        )

    if from_end:
        has_previous = more or await exists_beyond(after, reverse=True)
        has_next = await exists_beyond(before, reverse=False)
    else:
        has_previous = await exists_beyond(after, reverse=True)
        has_next = more or await exists_beyond(before, reverse=False)

    edges = [relay.Edge(cursor=keyset.cursor_for(row), node=cast(Any, row)) for row in rows]
    return Connection(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        matching=queryset,
    )
