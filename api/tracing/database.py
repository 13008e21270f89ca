"""A client span per database query, through Django's execute wrappers,
installed on every connection as it is made (reader threads' included); the
span is the child of whatever span is current where the query runs, since
sync_to_async carries the context into the thread. Only the statement is
recorded, never its parameters."""

from collections.abc import Callable
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from opentelemetry.trace import SpanKind

from api.tracing.provider import tracing

SYSTEM_NAMES = {"postgresql": "postgresql", "sqlite": "sqlite"}


def traced_query(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    connection: BaseDatabaseWrapper = context["connection"]
    operation = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "QUERY"
    attributes: dict[str, str | int] = {
        "db.system.name": SYSTEM_NAMES.get(connection.vendor, connection.vendor),
        "db.namespace": str(connection.settings_dict.get("NAME") or ""),
        "db.operation.name": operation,
        "db.query.text": sql,
    }
    if many:
        attributes["db.operation.batch.size"] = len(params)
    with tracing.tracer.start_as_current_span(
        operation, kind=SpanKind.CLIENT, attributes=attributes
    ):
        return execute(sql, params, many, context)


def trace_connection(sender: object, connection: BaseDatabaseWrapper, **kwargs: object) -> None:
    if traced_query not in connection.execute_wrappers:
        connection.execute_wrappers.append(traced_query)


def trace_queries() -> None:
    connection_created.connect(trace_connection, dispatch_uid="api.tracing.database")
