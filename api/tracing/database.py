"""A client span per database query, through Django's execute wrappers,
installed on every connection as it is made (reader threads' included); the
span is the child of whatever span is current where the query runs, since
sync_to_async carries the context into the thread. Only the statement is
recorded, never its parameters."""

from collections.abc import Callable
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from opentelemetry.trace import SpanKind, Status, StatusCode

from api.tracing.provider import tracing

SYSTEM_NAMES = {"postgresql": "postgresql", "sqlite": "sqlite"}


class QueryTracer:
    """The execute wrapper of one connection, whose system and database name
    are its own for good: only what the statement says is worked out per query."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.attributes: dict[str, str | int] = {
            "db.system.name": SYSTEM_NAMES.get(connection.vendor, connection.vendor),
            "db.namespace": str(connection.settings_dict.get("NAME") or ""),
        }

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        operation = (sql.split(None, 1) or ["QUERY"])[0].upper()
        attributes = {**self.attributes, "db.operation.name": operation, "db.query.text": sql}
        if many:
            attributes["db.operation.batch.size"] = len(params)
        # Not made the current span: nothing is traced within a query, and
        # attaching a context to detach it again is a good part of a span's cost.
        span = tracing.tracer.start_span(operation, kind=SpanKind.CLIENT, attributes=attributes)
        try:
            return execute(sql, params, many, context)
        except BaseException as error:  # as start_as_current_span records them
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            raise
        finally:
            span.end()


def trace_connection(sender: object, connection: BaseDatabaseWrapper, **kwargs: object) -> None:
    if not any(isinstance(wrapper, QueryTracer) for wrapper in connection.execute_wrappers):
        connection.execute_wrappers.append(QueryTracer(connection))


def trace_queries() -> None:
    connection_created.connect(trace_connection, dispatch_uid="api.tracing.database")
