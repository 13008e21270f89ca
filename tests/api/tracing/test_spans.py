"""Spans of a real uvicorn captured with the OpenTelemetry SDK's in-memory
exporter: an HTTP server span, its GraphQL operation's span named and
described per the semantic conventions for GraphQL, and the database
queries as client spans below it; for subscriptions over websockets, SSE
and multipart HTTP alike."""

from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from channels.routing import ProtocolTypeRouter
from django.db.backends.signals import connection_created
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from api.asgi import application, django_application
from api.http.body_limit import BodySizeLimit
from api.schema import schema
from api.tracing.graphql import GraphQLTracing
from api.tracing.http import traced
from api.tracing.provider import tracing
from tests.api.tracing.in_process import serving_in_thread
from tests.graphql_ws import graphql_websocket

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "query ProductPage { products(first: 2) { edges { node { name category { name } } } } }"


@pytest.fixture
def spans(monkeypatch) -> Iterator[tuple[str, InMemorySpanExporter]]:
    """A server traced as OTEL_EXPORTER_OTLP_ENDPOINT would have it, into memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(schema, "extensions", (GraphQLTracing, *schema.extensions))
    routes = {
        "http": traced(BodySizeLimit(django_application), provider),
        "websocket": application.application_mapping["websocket"],
    }
    try:
        with serving_in_thread(ProtocolTypeRouter(routes)) as base_url:
            yield base_url, exporter
    finally:
        tracing.use(trace.NoOpTracerProvider())
        connection_created.disconnect(dispatch_uid="api.tracing.database")


def post(base_url: str, query: str) -> None:
    httpx.post(
        f"{base_url}/graphql/",
        json={"query": query},
        headers={"Accept": "application/json"},
        timeout=10,
    )


def by_kind(spans: tuple[ReadableSpan, ...], kind: SpanKind) -> list[ReadableSpan]:
    return [span for span in spans if span.kind is kind]


def graphql_span(spans: tuple[ReadableSpan, ...]) -> ReadableSpan:
    (span,) = by_kind(spans, SpanKind.INTERNAL)
    return span


def attributes(span: ReadableSpan) -> Mapping[str, Any]:
    return span.attributes or {}


def parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent else None


def test_http_graphql_and_database_spans_nest(spans, product_factory):
    base_url, exporter = spans
    product_factory.create_batch(3)
    exporter.clear()  # the test's own writes
    post(base_url, PAGE)
    finished = exporter.get_finished_spans()

    (server,) = by_kind(finished, SpanKind.SERVER)
    assert server.name == "POST /graphql/"
    assert attributes(server)["http.request.method"] == "POST"
    assert attributes(server)["http.response.status_code"] == 200
    operation = graphql_span(finished)
    assert operation.name == "query ProductPage"
    assert attributes(operation)["graphql.operation.type"] == "query"
    assert attributes(operation)["graphql.operation.name"] == "ProductPage"
    assert "graphql.document" not in attributes(operation)
    assert parent_id(operation) == server.context.span_id
    assert operation.context.trace_id == server.context.trace_id

    queries = by_kind(finished, SpanKind.CLIENT)
    assert queries, "the page's queries are spans"
    for query in queries:
        assert parent_id(query) == operation.context.span_id
        assert query.name == "SELECT"
        assert attributes(query)["db.system.name"] in {"sqlite", "postgresql"}
        assert attributes(query)["db.operation.name"] == "SELECT"
        assert "products_" in attributes(query)["db.query.text"]
    # No receive/send span per ASGI message.
    assert len(finished) == 2 + len(queries)


def test_an_anonymous_operation_is_named_by_its_type(spans):
    base_url, exporter = spans
    post(base_url, "{ products(first: 1) { totalCount } }")
    operation = graphql_span(exporter.get_finished_spans())
    assert operation.name == "query"
    assert "graphql.operation.name" not in attributes(operation)
    assert operation.status.status_code is StatusCode.UNSET


def test_a_document_that_does_not_parse_is_an_error_span(spans):
    base_url, exporter = spans
    post(base_url, "query {")
    operation = graphql_span(exporter.get_finished_spans())
    assert operation.name == "GraphQL Operation"
    assert operation.status.status_code is StatusCode.ERROR
    assert attributes(operation)["error.type"] == "GRAPHQL_PARSE_FAILED"
    assert not by_kind(exporter.get_finished_spans(), SpanKind.CLIENT)


def test_the_document_is_recorded_only_when_asked(spans, settings):
    base_url, exporter = spans
    settings.TRACING_INCLUDE_DOCUMENT = True
    post(base_url, PAGE)
    assert attributes(graphql_span(exporter.get_finished_spans()))["graphql.document"] == PAGE


async def test_a_subscription_is_a_span_with_its_reads_below(spans, product_factory):
    base_url, exporter = spans
    await sync_to_async(product_factory.create_batch)(3)
    exporter.clear()
    feed = "subscription ProductFeed { productStream(batchSize: 2) { products { id } } }"
    async with graphql_websocket(base_url, "graphql-transport-ws") as client:
        await client.collect(feed)
    finished = exporter.get_finished_spans()
    operation = graphql_span(finished)
    assert operation.name == "subscription ProductFeed"
    assert attributes(operation)["graphql.operation.type"] == "subscription"
    reads = [
        span
        for span in by_kind(finished, SpanKind.CLIENT)
        if span.parent and span.parent.span_id == operation.context.span_id
    ]
    assert reads


@pytest.mark.parametrize(
    "accept", ["text/event-stream", "multipart/mixed;subscriptionSpec=1.0, application/json"]
)
def test_a_subscription_over_http_is_a_span_below_its_request(spans, product_factory, accept):
    base_url, exporter = spans
    product_factory.create_batch(3)
    exporter.clear()
    feed = "subscription ProductFeed { productStream(batchSize: 2) { products { id } } }"
    with httpx.stream(
        "POST", f"{base_url}/graphql/", json={"query": feed}, headers={"Accept": accept}
    ) as response:
        assert response.status_code == 200
        body = response.read()
    assert body.count(b'"productStream"') == 2
    finished = exporter.get_finished_spans()

    (server,) = by_kind(finished, SpanKind.SERVER)
    operation = graphql_span(finished)
    assert operation.name == "subscription ProductFeed"
    assert parent_id(operation) == server.context.span_id
    reads = by_kind(finished, SpanKind.CLIENT)
    assert reads
    assert all(parent_id(read) == operation.context.span_id for read in reads)
