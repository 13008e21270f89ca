"""Keyset (seek) pagination over a total order that ends with the primary key.

Rows after a position are selected with one row-value comparison,
``(price, id) > (19.90, 42)``, which PostgreSQL and SQLite both answer with a
range scan of the composite index on ``(price, id)``, in either direction;
the ``a > x OR (a = x AND id > y)`` form is not served by that index.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, OrderBy, QuerySet, Value
from django.db.models.expressions import Func
from django.db.models.sql.compiler import SQLCompiler

from api.graphql.errors import InvalidCursor
from api.paging.cursors import CursorValue, decode_cursor, encode_cursor


class RowComparison(Func):
    """``(col1, col2, …) <op> (val1, val2, …)`` as a boolean filter expression."""

    output_field = models.BooleanField()

    def __init__(self, columns: Sequence[Any], operator: str, values: Sequence[Any]) -> None:
        if operator not in {"<", "<=", ">", ">="}:
            raise ValueError(f"unsupported row comparison {operator!r}")
        self.operator = operator
        self.width = len(columns)
        super().__init__(*columns, *values)

    def as_sql(  # type: ignore[override]
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        **extra_context: Any,
    ) -> tuple[str, list[Any]]:
        parts: list[str] = []
        params: list[Any] = []
        for expression in self.get_source_expressions():
            sql, expression_params = compiler.compile(expression)
            parts.append(sql)
            params.extend(expression_params)
        lhs = ", ".join(parts[: self.width])
        rhs = ", ".join(parts[self.width :])
        return f"({lhs}) {self.operator} ({rhs})", params


def _value_field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    value_field = field.output_field if isinstance(field, models.GeneratedField) else field
    assert isinstance(value_field, models.Field)
    return value_field


def _to_cursor_value(value: Any) -> CursorValue:
    if isinstance(value, int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot put {type(value).__name__} in a cursor")


@dataclass(frozen=True)
class Keyset:
    """A total order: ``fields`` (the last one unique), all ascending or all
    descending. ``name`` identifies it inside cursors."""

    model: type[models.Model]
    name: str
    fields: tuple[str, ...]
    descending: bool = False

    def order_by(self, *, reverse: bool = False) -> list[OrderBy]:
        descending = self.descending != reverse
        return [F(field).desc() if descending else F(field).asc() for field in self.fields]

    def beyond(
        self, position: Sequence[Any], *, reverse: bool = False, inclusive: bool = False
    ) -> RowComparison:
        """Rows strictly after ``position`` in this order (before it, if ``reverse``)."""
        backwards = self.descending != reverse
        operator = ("<" if backwards else ">") + ("=" if inclusive else "")
        values = [
            Value(value, output_field=_value_field(self.model, field))
            for field, value in zip(self.fields, position, strict=True)
        ]
        return RowComparison([F(field) for field in self.fields], operator, values)

    def loading_fields(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """``queryset`` with the ordering fields loaded, even where ``only()`` or
        ``defer()`` left them out: cursors are made from them."""
        names, deferring = queryset.query.deferred_loading
        if deferring and names & set(self.fields):
            return queryset.defer(None).defer(*(names - set(self.fields)))
        if not deferring and names and not set(self.fields) <= names:
            return queryset.only(*names, *self.fields)
        return queryset

    def position_of(self, row: models.Model) -> tuple[Any, ...]:
        return tuple(getattr(row, field) for field in self.fields)

    def cursor_for(self, row: models.Model) -> str:
        return self.cursor_at(self.position_of(row))

    def cursor_at(self, position: Sequence[Any]) -> str:
        return encode_cursor(self.name, [_to_cursor_value(v) for v in position])

    def decode(self, cursor: str) -> tuple[Any, ...]:
        values = decode_cursor(cursor, self.name, len(self.fields))
        try:
            return tuple(
                _value_field(self.model, field).to_python(value)
                for field, value in zip(self.fields, values, strict=True)
            )
        except (ValidationError, TypeError, ValueError):
            raise InvalidCursor("Invalid cursor: its values do not fit this ordering.") from None
