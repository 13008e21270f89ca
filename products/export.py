"""The catalog as a download, in CSV or NDJSON, for the export endpoints and
the ``export_products`` command.

Both formats carry the same columns, valued as the ``products`` connection
shows them (global IDs, money with two decimals, ISO 8601 times). Rows are
read in keyset windows (api.paging.windows): the first bytes leave after one small
window, and memory holds one window at a time however large the catalog is.

A row costs little to read only as a ``values()`` dict, with its timestamps
as text: model instances, and Django's timestamptz loader for psycopg (pure
Python, where psycopg's own is C), would each cost more than everything
else a row needs.
"""

import csv
import io
import json
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from django.conf import settings
from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast
from strawberry.relay import to_base64

from api.graphql.errors import InvalidGlobalID
from api.graphql.ids import pks_of_type
from api.graphql.scalars import serialize_decimal
from api.paging.keyset import Keyset
from api.paging.windows import read_windows
from products.models import Category, Product
from products.selectors import ProductCriteria, ProductOrderField, filter_products, product_keyset

# Column names are the connection's field names; the values() keys behind them.
COLUMNS = {
    "id": "id",
    "sku": "sku",
    "name": "name",
    "category": "category__name",
    "price": "price",
    "discountPercent": "effective_discount_percent",
    "discountedPrice": "discounted_price",
    "stock": "stock",
    "updatedAt": "updated_at_text",
}
# Timestamp fields and the names they are read as text under.
AS_TEXT = {"updated_at": "updated_at_text", "created_at": "created_at_text"}

# Small, so that the first bytes leave at once; later windows grow.
FIRST_WINDOW_ROWS = 100

PARAMETERS = ("search", "category", "on_sale", "in_stock", "order")
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


class BadExportRequest(ValueError):
    """A parameter the export cannot use; the message says which and why."""


def _timestamp(text: str) -> datetime:
    # PostgreSQL writes "2026-11-25 20:35:20.55305+00" (the session is in UTC);
    # SQLite keeps UTC without an offset.
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _values(row: Mapping[str, Any]) -> list[Any]:
    return [
        to_base64("Product", row["id"]),
        row["sku"],
        row["name"],
        row["category__name"],
        serialize_decimal(row["price"]),
        serialize_decimal(row["effective_discount_percent"]),
        serialize_decimal(row["discounted_price"]),
        row["stock"],
        _timestamp(row["updated_at_text"]).isoformat(),
    ]


def _csv(rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    # RFC 4180: CRLF, and quotes wherever a comma, a quote or a line break is.
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


# One encoder for all rows: json.dumps with options builds a new one per call.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _ndjson(rows: Iterable[Sequence[Any]]) -> bytes:
    names = list(COLUMNS)
    lines = [_JSON.encode(dict(zip(names, row, strict=True))) for row in rows]
    return ("\n".join(lines) + "\n").encode() if lines else b""


class ExportFormat(Enum):
    CSV = "csv"
    NDJSON = "ndjson"

    @property
    def content_type(self) -> str:
        if self is ExportFormat.CSV:
            return "text/csv; charset=utf-8; header=present"
        return "application/x-ndjson; charset=utf-8"

    @property
    def filename(self) -> str:
        return f"products.{self.value}"

    def header(self) -> bytes:
        return _csv([list(COLUMNS)]) if self is ExportFormat.CSV else b""

    def encode(self, rows: Iterable[Mapping[str, Any]]) -> bytes:
        values = (_values(row) for row in rows)
        return _csv(values) if self is ExportFormat.CSV else _ndjson(values)


@dataclass(frozen=True)
class ExportRequest:
    criteria: ProductCriteria
    keyset: Keyset

    @classmethod
    def from_params(cls, params: Mapping[str, Sequence[str]]) -> "ExportRequest":
        """From query parameters (each with its list of values): ``search``,
        ``category`` (global IDs, repeatable), ``on_sale``, ``in_stock``
        (true/false) and ``order`` (a ``ProductOrderField`` value, ``-`` for
        descending: ``-discounted_price``)."""
        unknown = sorted(set(params) - set(PARAMETERS))
        if unknown:
            raise BadExportRequest(
                f"Unknown parameter {', '.join(unknown)}; known: {', '.join(PARAMETERS)}."
            )
        single = {
            name: _single(name, values) for name, values in params.items() if name != "category"
        }
        if "\x00" in single.get("search", ""):
            # As in the GraphQL filter: PostgreSQL refuses NUL in text.
            raise BadExportRequest("search must not contain NUL characters.")
        try:
            category_ids = (
                pks_of_type(params["category"], "Category", Category)
                if "category" in params
                else None
            )
        except InvalidGlobalID as error:
            raise BadExportRequest(f"category: {error.message}") from None
        criteria = ProductCriteria(
            search=single.get("search") or None,
            category_ids=category_ids,
            on_sale=_boolean("on_sale", single.get("on_sale")),
            in_stock=_boolean("in_stock", single.get("in_stock")),
        )
        return cls(criteria=criteria, keyset=_keyset(single.get("order", "created_at")))


def _single(name: str, values: Sequence[str]) -> str:
    if len(values) != 1:
        raise BadExportRequest(f"{name} takes one value, not {len(values)}.")
    return values[0]


def _boolean(name: str, value: str | None) -> bool | None:
    if value is None:
        return None
    try:
        return BOOLEANS[value.lower()]
    except KeyError:
        raise BadExportRequest(f"{name} must be true or false, not {value!r}.") from None


def _keyset(order: str) -> Keyset:
    descending = order.startswith("-")
    try:
        field = ProductOrderField(order.removeprefix("-"))
    except ValueError:
        known = ", ".join(field.value for field in ProductOrderField)
        raise BadExportRequest(
            f"order must be one of {known}, with - for descending; not {order!r}."
        ) from None
    return product_keyset(field, descending=descending)


def _rows(criteria: ProductCriteria, keyset: Keyset) -> QuerySet[Product, dict[str, Any]]:
    """The export's rows as dicts: its columns, and the keyset's fields."""
    read = [AS_TEXT.get(field, field) for field in [*COLUMNS.values(), *keyset.fields]]
    as_text = {name: Cast(field, TextField()) for field, name in AS_TEXT.items() if name in read}
    rows: QuerySet[Product, dict[str, Any]] = (
        filter_products(criteria).annotate(**as_text).values(*dict.fromkeys(read))
    )
    return rows


@dataclass(frozen=True)
class Chunk:
    rows: int
    data: bytes


async def export_chunks(request: ExportRequest, format: ExportFormat) -> AsyncIterator[Chunk]:
    """The whole export, a window of rows at a time (the header first)."""
    header = format.header()
    if header:
        yield Chunk(0, header)
    keyset = request.keyset
    windows = read_windows(
        _rows(request.criteria, keyset),
        keyset,
        first_size=FIRST_WINDOW_ROWS,
        max_size=settings.STREAM_WINDOW_SIZE,
        position_of=lambda row: [
            _timestamp(row[AS_TEXT[field]]) if field in AS_TEXT else row[field]
            for field in keyset.fields
        ],
    )
    async for window in windows:
        if window.rows:
            yield Chunk(len(window.rows), format.encode(window.rows))
