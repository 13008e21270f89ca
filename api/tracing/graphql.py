"""A span per GraphQL operation, as OpenTelemetry's semantic conventions
for GraphQL have it: named ``{type} {name}`` (``query ProductPage``), or
``{type}`` for an anonymous operation, or ``GraphQL Operation`` for a
document that does not parse; ``graphql.operation.type`` and
``graphql.operation.name``; the document itself (``graphql.document``) only
with ``OTEL_GRAPHQL_INCLUDE_DOCUMENT``, since its literals may be private.
A subscription's span lasts as long as it streams."""

from collections.abc import Iterator

from django.conf import settings
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from strawberry.extensions import SchemaExtension

from api.tracing.provider import tracing

OPERATION_TYPE = "graphql.operation.type"
OPERATION_NAME = "graphql.operation.name"
DOCUMENT = "graphql.document"
ERROR_TYPE = "error.type"
UNNAMED = "GraphQL Operation"


class GraphQLTracing(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        # Errors are GraphQL's, in the result; the exception that ends a
        # subscription is its client leaving (a cancellation), no error.
        with tracing.tracer.start_as_current_span(
            UNNAMED, kind=SpanKind.INTERNAL, record_exception=False, set_status_on_exception=False
        ) as span:
            self._span = span
            self._described = False
            yield
            if not self._described:  # it never ran: no document, or not valid
                self._describe(span)
            self._record_errors(span)

    def on_execute(self) -> Iterator[None]:
        # The document is parsed and valid: the span is named now, while a
        # subscription runs, rather than when it ends.
        self._describe(self._span)
        yield

    def _describe(self, span: Span) -> None:
        self._described = True
        context = self.execution_context
        try:
            operation_type = context.operation_type.value
        except RuntimeError:
            return
        name = context.operation_name
        span.update_name(f"{operation_type} {name}" if name else operation_type)
        span.set_attribute(OPERATION_TYPE, operation_type)
        if name:
            span.set_attribute(OPERATION_NAME, name)
        if settings.TRACING_INCLUDE_DOCUMENT and context.query:
            span.set_attribute(DOCUMENT, context.query)

    def _record_errors(self, span: Span) -> None:
        result = self.execution_context.result
        errors = (result.errors if result else None) or []
        if errors:
            code = str((errors[0].extensions or {}).get("code", "GRAPHQL_ERROR"))
            span.set_attribute(ERROR_TYPE, code)
            span.set_status(Status(StatusCode.ERROR, code))


def operation_tracing() -> list[type[SchemaExtension]]:
    """The schema extension, where traces are on."""
    return [GraphQLTracing] if settings.TRACING_ENABLED else []
