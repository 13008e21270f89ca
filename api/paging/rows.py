"""Rows read as tuples of the columns a compiled selection needs
(api.graphql.compiled): no model instance per row, and on PostgreSQL
psycopg's C loader for ``timestamptz``.

Django registers a loader of its own for ``timestamptz`` (a Python subclass
of psycopg's, to set the connection's time zone), which psycopg cannot swap
for its C implementation: ≈ 3 µs a row. The connection's session time zone
is already the one Django wants (UTC with ``USE_TZ``), so for these reads
the cursor gets psycopg's own loader back, which psycopg runs in C.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, models
from django.db.models import QuerySet


class TupleRows(list[tuple[Any, ...]]):
    """Rows of ``model`` as tuples of ``columns`` (``values_list`` names)."""

    def __init__(
        self, model: type[models.Model], columns: tuple[str, ...], rows: list[tuple[Any, ...]]
    ) -> None:
        super().__init__(rows)
        self.model = model
        self.columns = columns

    def objects(self) -> list[models.Model]:
        """The rows as model instances holding the same columns, with the
        related objects among them loaded, for graphql-core to complete."""
        build = _builder(self.model, self.columns, "")
        return [build(row) for row in self]


def _builder(
    model: type[models.Model], columns: tuple[str, ...], prefix: str
) -> Callable[[tuple[Any, ...]], Any]:
    index = {column: position for position, column in enumerate(columns)}
    local = [
        (field.attname, index[prefix + name])
        for field in model._meta.concrete_fields
        for name in (field.attname, field.name, "pk" if field.primary_key else "")
        if prefix + name in index
    ]
    local = list(dict(local).items())
    names = [attname for attname, _ in local]
    related = []
    for field in model._meta.concrete_fields:
        if field.is_relation and f"{prefix}{field.name}__pk" in index:
            assert isinstance(field, models.ForeignKey)
            assert not isinstance(field.related_model, str)
            presence = index[f"{prefix}{field.name}__pk"]
            inner = _builder(field.related_model, columns, f"{prefix}{field.name}__")
            related.append((field, presence, inner))

    def build(row: tuple[Any, ...]) -> Any:
        instance = model.from_db(connection.alias, names, [row[i] for _, i in local])
        for field, presence, inner in related:
            field.set_cached_value(instance, inner(row) if row[presence] is not None else None)
        return instance

    return build


def _c_timestamptz(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    from psycopg.types.datetime import TimestamptzLoader

    context["cursor"].cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
    return execute(sql, params, many, context)


@contextmanager
def _fast_loaders() -> Iterator[None]:
    if connection.vendor != "postgresql":
        yield
        return
    with connection.execute_wrapper(_c_timestamptz):
        yield


def read_tuples(queryset: QuerySet[Any], columns: tuple[str, ...]) -> TupleRows:
    """The rows of ``queryset`` as ``columns``; synchronous, for a reader thread."""
    with _fast_loaders():
        rows = list(queryset.values_list(*columns))
    return TupleRows(queryset.model, columns, rows)
