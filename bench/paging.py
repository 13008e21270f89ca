"""First page against a page 900,000 rows deep, executed in-process, for the
project's ``products`` connection and for the two stock connections of
bench.stock_schema. Needs ``django.setup()`` before import."""

import logging
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import strawberry
from asgiref.sync import sync_to_async
from strawberry import relay
from strawberry_django.relay.cursor_connection import (
    DjangoCursorEdge,
    OrderedCollectionCursor,
    annotate_ordering_fields,
)

from api.schema import schema as project_schema
from bench.stock_schema import ordered_products
from bench.stock_schema import schema as stock_schema
from products.graphql.inputs import OrderDirection, ProductOrder
from products.models import Product
from products.selectors import ProductOrderField, product_keyset

# A connection that fails gets its error message in the table; strawberry's
# traceback of it on stderr adds nothing.
logging.getLogger("strawberry.execution").setLevel(logging.CRITICAL)

# The deep page starts right after the 900,000th row (0-based index 899,999).
DEEP_INDEX = 899_999
PAGE_SIZE = 20
WARMUP = 3
REPEAT = 30
# Offset and OR-expanded pages may take seconds each at this depth; past this
# budget a measurement stops early, with at least MIN_REPEAT samples.
BUDGET_SECONDS = 30.0
MIN_REPEAT = 5

PAGE_SELECTION = """
  edges { cursor node { id sku name price discountPercent discountedPrice category { name } } }
  pageInfo { hasNextPage hasPreviousPage endCursor }
"""


def page_query(field: str) -> str:
    return (
        "query Page($orderBy: ProductOrder, $after: String) {"
        f" {field}(first: {PAGE_SIZE}, orderBy: $orderBy, after: $after) {{{PAGE_SELECTION}}} }}"
    )


class BenchError(Exception):
    pass


@dataclass(frozen=True)
class Ordering:
    field: ProductOrderField
    descending: bool

    @property
    def label(self) -> str:
        return f"{self.field.name} {'DESC' if self.descending else 'ASC'}"

    def variable(self) -> dict[str, str]:
        return {"field": self.field.name, "direction": "DESC" if self.descending else "ASC"}

    def product_order(self) -> ProductOrder:
        direction = OrderDirection.DESC if self.descending else OrderDirection.ASC
        return ProductOrder(field=self.field, direction=direction)


ORDERINGS = [
    Ordering(field, descending) for field in ProductOrderField for descending in (False, True)
]


Variables = dict[str, Any]


@dataclass(frozen=True)
class Contender:
    """One connection under test, and how it spells the cursor of a given row."""

    label: str
    schema: strawberry.Schema
    field: str
    cursor_for: Callable[[Product, Ordering], str]


def keyset_cursor(row: Product, ordering: Ordering) -> str:
    return product_keyset(ordering.field, descending=ordering.descending).cursor_for(row)


def offset_cursor(row: Product, ordering: Ordering) -> str:
    # Offset cursors hold the row's index, whatever the row.
    return relay.to_base64("arrayconnection", DEEP_INDEX)


def ordered_cursor(row: Product, ordering: Ordering) -> str:
    # Built as DjangoCursorConnection builds its edges' cursors.
    _, descriptors, _ = annotate_ordering_fields(ordered_products(ordering.product_order()))
    values = OrderedCollectionCursor.from_model(row, descriptors)
    return relay.to_base64(DjangoCursorEdge.CURSOR_PREFIX, str(values))


CONTENDERS = [
    Contender("Conveyor `products` (keyset)", project_schema, "products", keyset_cursor),
    Contender("stock `DjangoListConnection` (offset)", stock_schema, "stockList", offset_cursor),
    Contender(
        "stock `DjangoCursorConnection` (OR-expanded)", stock_schema, "stockCursor", ordered_cursor
    ),
]


@dataclass(frozen=True)
class Depth:
    first_ms: float
    deep_ms: float
    samples: int

    @property
    def ratio(self) -> float:
        return self.deep_ms / self.first_ms


@dataclass(frozen=True)
class Reference:
    """The deep cursor's row, and the primary keys every contender must return
    on the first and on the deep page, read through the ORM."""

    row: Product
    first_keys: list[str]
    deep_keys: list[str]


@sync_to_async
def reference(ordering: Ordering) -> Reference:
    keyset = product_keyset(ordering.field, descending=ordering.descending)
    ordered = Product.objects.order_by(*keyset.order_by())
    keys = ordered.values_list("pk", flat=True)
    return Reference(
        row=ordered.only(*keyset.fields)[DEEP_INDEX],
        first_keys=[str(pk) for pk in keys[:PAGE_SIZE]],
        deep_keys=[str(pk) for pk in keys[DEEP_INDEX + 1 : DEEP_INDEX + 1 + PAGE_SIZE]],
    )


async def run_page(contender: Contender, variables: Variables) -> list[str]:
    """The primary keys of one page; a GraphQL error becomes a ``BenchError``."""
    result = await contender.schema.execute(page_query(contender.field), variable_values=variables)
    if result.errors or result.data is None:
        raise BenchError("; ".join(error.message for error in result.errors or []))
    # Global IDs differ by type name across the schemas; the keys must not.
    edges = result.data[contender.field]["edges"]
    return [relay.from_base64(edge["node"]["id"])[1] for edge in edges]


async def elapsed_ms(call: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    await call()
    return (time.perf_counter() - start) * 1000


async def time_pages(contender: Contender, first: Variables, deep: Variables) -> Depth:
    for _ in range(WARMUP):
        await run_page(contender, first)
        await run_page(contender, deep)
    # Interleaved, so that a burst of load on the machine hits both sides alike.
    firsts: list[float] = []
    deeps: list[float] = []
    started = time.perf_counter()
    while len(firsts) < REPEAT and (
        len(firsts) < MIN_REPEAT or time.perf_counter() - started < BUDGET_SECONDS
    ):
        firsts.append(await elapsed_ms(lambda: run_page(contender, first)))
        deeps.append(await elapsed_ms(lambda: run_page(contender, deep)))
    return Depth(statistics.median(firsts), statistics.median(deeps), len(firsts))


async def measure(contender: Contender, ordering: Ordering, expected: Reference) -> Depth:
    first: Variables = {"orderBy": ordering.variable()}
    # The first page before the cursor is made: a connection that cannot serve
    # this ordering at all says so in its own words.
    if await run_page(contender, first) != expected.first_keys:
        raise BenchError("the first page holds other rows than the ORM's")
    deep = {**first, "after": await sync_to_async(contender.cursor_for)(expected.row, ordering)}
    if await run_page(contender, deep) != expected.deep_keys:
        raise BenchError("the deep page holds other rows than the ORM's")
    return await time_pages(contender, first, deep)


async def measure_ordering(
    ordering: Ordering, report: Callable[[str], None]
) -> dict[str, Depth | str]:
    """Depth figures by contender; one that fails, or returns other rows than
    the ordering's (which would void the comparison), gets why instead."""
    expected = await reference(ordering)
    results: dict[str, Depth | str] = {}
    for contender in CONTENDERS:
        try:
            depth = await measure(contender, ordering, expected)
        except BenchError as error:
            results[contender.label] = str(error)
            report(f"{ordering.label:<20} {contender.label}: FAILED {error}")
            continue
        results[contender.label] = depth
        report(
            f"{ordering.label:<20} {contender.label}: first {depth.first_ms:.1f} ms, "
            f"deep {depth.deep_ms:.1f} ms, x{depth.ratio:.2f} ({depth.samples} samples)"
        )
    return results
