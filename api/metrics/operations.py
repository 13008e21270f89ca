"""GraphQL operations: how many, how long, and the codes of their errors.

A schema extension, the outermost of the schema's (api.schema), so that its
time covers parsing, validation, the limits and execution. An operation
name is the client's to choose: the first ``METRICS_MAX_OPERATION_NAMES``
names of valid documents that a process sees are its label values, any
other is ``other`` (see api.metrics.labels)."""

import time
from collections.abc import Callable, Iterator

from django.conf import settings
from prometheus_client import Counter, Histogram
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from api.metrics.labels import BoundedValues, children
from api.metrics.registry import ENABLED
from api.metrics.transports import count_operation, subscription_started

# A first page takes milliseconds; a slow mutation or a page of an overloaded
# server, seconds.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
UNKNOWN = "unknown"
ANONYMOUS = "anonymous"

DURATION = Histogram(
    "conveyor_graphql_operation_duration_seconds",
    "Time from receiving a query or mutation to its result, by operation type and name "
    "(subscriptions, which last as long as their client wants, are not in it).",
    ["operation_type", "operation_name"],
    buckets=DURATION_BUCKETS,
)
ERRORS = Counter(
    "conveyor_graphql_errors",
    "GraphQL errors answered, by extensions.code.",
    ["code"],
)

duration_of = children(DURATION)
errors_of = children(ERRORS)
operation_names = BoundedValues(settings.METRICS_MAX_OPERATION_NAMES)
error_codes = BoundedValues(settings.METRICS_MAX_OPERATION_NAMES)


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        # A subscription's operation lasts as long as it streams.
        started = time.perf_counter()
        self._subscription_ended: Callable[[], None] | None = None
        try:
            yield
        finally:
            # Its client gone, a subscription is cancelled right here.
            if self._subscription_ended is not None:
                self._subscription_ended()
        if self._subscription_ended is None:  # a subscription counts as it starts
            operation_type, name = self._labels()
            count_operation(operation_type, name)
            if operation_type != OperationType.SUBSCRIPTION.value:
                duration_of(operation_type, name).observe(time.perf_counter() - started)
        self._count_errors()

    def on_execute(self) -> Iterator[None]:
        # The subscription's document is valid: it starts streaming.
        if self.execution_context.operation_type is OperationType.SUBSCRIPTION:
            operation_type, name = self._labels()
            transport = count_operation(operation_type, name)
            self._subscription_ended = subscription_started(transport)
        yield

    def _labels(self) -> tuple[str, str]:
        context = self.execution_context
        try:
            operation_type = context.operation_type.value
        except RuntimeError:  # no document, or no such operation in it
            return UNKNOWN, operation_names.label(context.operation_name or "", admit=False)
        valid = not context.pre_execution_errors
        name = operation_names.label(context.operation_name or ANONYMOUS, admit=valid)
        return operation_type, name

    def _count_errors(self) -> None:
        result = self.execution_context.result
        for error in (result.errors if result else None) or ():
            code = (error.extensions or {}).get("code")
            errors_of(error_codes.label(str(code or UNKNOWN))).inc()


def operation_metrics() -> list[type[SchemaExtension]]:
    """The schema extension, where metrics are on."""
    return [OperationMetrics] if ENABLED else []
