"""The same page of many lists at once: ``Category.products`` under a page of
categories, in one query rather than one per category.

Each row is numbered within its group in the keyset order,
``ROW_NUMBER() OVER (PARTITION BY category_id ORDER BY f, id)``, and only the
first ``size + 1`` of each group are read: as ``paginate`` reads one row more
than asked, to know whether more follow. Pages that start at a cursor are
read by ``paginate`` itself (a cursor is one list's position, not many).
``totalCount`` of all the groups is one grouped count, run the first time a
group's is asked for.
"""

import asyncio
from collections import defaultdict
from collections.abc import Collection, Hashable
from typing import Any

from django.db.models import Count, F, QuerySet, Window
from django.db.models.functions import RowNumber
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from api.paging.connection import Connection, PageRequest, connection, paginate
from api.paging.keyset import Keyset

GROUP = "_group"
PLACE = "_place_in_group"


async def paginate_groups(
    queryset: QuerySet[Any],
    keyset: Keyset,
    page: PageRequest,
    group_field: str,
    groups: Collection[Hashable],
) -> dict[Hashable, Connection[Any]]:
    """The page of ``queryset`` whose ``group_field`` is each of ``groups``."""
    if page.after is not None or page.before is not None:
        return {
            group: await paginate(queryset.filter(**{group_field: group}), keyset, page)
            for group in groups
        }
    size, from_end = page.size()
    in_groups = queryset.filter(**{f"{group_field}__in": groups})
    numbered = keyset.loading_fields(in_groups).annotate(
        **{
            GROUP: F(group_field),
            PLACE: Window(
                RowNumber(),
                partition_by=F(group_field),
                order_by=keyset.order_by(reverse=from_end),
            ),
        }
    )
    rows_of: dict[Hashable, list[Any]] = defaultdict(list)
    async for row in numbered.filter(**{f"{PLACE}__lte": size + 1}):
        rows_of[getattr(row, GROUP)].append(row)
    counts = _GroupCounts(in_groups, group_field)

    pages = {}
    for group in groups:
        rows = sorted(rows_of.get(group, []), key=lambda row: getattr(row, PLACE))
        more = len(rows) > size
        rows = rows[:size]
        if from_end:
            rows.reverse()
        pages[group] = connection(
            rows,
            keyset,
            has_next=not from_end and more,
            has_previous=from_end and more,
            counting=counts.counter(group),
        )
    return pages


class _GroupCounts:
    def __init__(self, queryset: QuerySet[Any], group_field: str) -> None:
        self._queryset = queryset
        self._group_field = group_field
        self._counted: asyncio.Future[dict[Hashable, int]] | None = None

    def counter(self, group: Hashable) -> Any:
        async def count() -> int:
            return (await self._counts()).get(group, 0)

        return count

    async def _counts(self) -> dict[Hashable, int]:
        if self._counted is None:
            self._counted = asyncio.ensure_future(self._count())
        return await self._counted

    async def _count(self) -> dict[Hashable, int]:
        counts = self._queryset.order_by().values(self._group_field).annotate(rows=Count("pk"))
        return {row[self._group_field]: row["rows"] async for row in counts}


class PagesByGroup:
    """Per execution (api.graphql.scope): the pages that one selection of a
    nested connection asks for, one per parent, gathered into one read.
    The same field nodes are executed with the same arguments throughout an
    execution, so they name the batch."""

    def __init__(self) -> None:
        self._loaders: dict[tuple[int, ...], DataLoader[Hashable, Connection[Any]]] = {}

    async def page(
        self,
        info: Info,
        group: Hashable,
        queryset: QuerySet[Any],
        keyset: Keyset,
        page: PageRequest,
        group_field: str,
    ) -> Connection[Any]:
        key = tuple(map(id, info._raw_info.field_nodes))
        if key not in self._loaders:

            async def load(groups: list[Hashable]) -> list[Connection[Any]]:
                pages = await paginate_groups(queryset, keyset, page, group_field, groups)
                return [pages[group] for group in groups]

            self._loaders[key] = DataLoader(load)
        return await self._loaders[key].load(group)
