"""Connections and subscriptions by transport (``http``, ``websocket``,
``sse``, ``multipart``…).

A transport opens each connection it serves with ``open_connection``: the
connection is counted while it is open, and the operations run within it
(in its task, or tasks it starts) are counted under its transport by the
operation metrics (api.metrics.operations). Operations outside any are
``http``."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from prometheus_client import Counter, Gauge

from api.metrics.labels import children
from api.metrics.registry import ENABLED

HTTP = "http"

current_transport: ContextVar[str] = ContextVar("current_transport", default=HTTP)

CONNECTIONS_OPEN = Gauge(
    "conveyor_connections_active",
    "Connections open now (websockets, SSE streams…), by transport.",
    ["transport"],
    multiprocess_mode="livesum",
)
CONNECTIONS = Counter("conveyor_connections", "Connections opened, by transport.", ["transport"])
SUBSCRIPTIONS_OPEN = Gauge(
    "conveyor_subscriptions_active",
    "Subscriptions running now, by transport.",
    ["transport"],
    multiprocess_mode="livesum",
)
OPERATIONS = Counter(
    "conveyor_graphql_operations",
    "GraphQL operations, by transport, operation type and operation name.",
    ["transport", "operation_type", "operation_name"],
)

operations_of = children(OPERATIONS)


@contextmanager
def open_connection(transport: str) -> Iterator[None]:
    """Counts a connection of ``transport`` while inside, and the operations
    run inside as ``transport``'s."""
    if not ENABLED:
        yield
        return
    token = current_transport.set(transport)
    CONNECTIONS.labels(transport).inc()
    gauge = CONNECTIONS_OPEN.labels(transport)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()
        current_transport.reset(token)


def count_operation(operation_type: str, operation_name: str) -> str:
    """Counts an operation of the current transport; returns the transport."""
    transport = current_transport.get()
    operations_of(transport, operation_type, operation_name).inc()
    return transport


def subscription_started(transport: str) -> Callable[[], None]:
    """Counts a subscription of ``transport`` as running; returns what
    counts it as ended."""
    gauge = SUBSCRIPTIONS_OPEN.labels(transport)
    gauge.inc()
    return gauge.dec
