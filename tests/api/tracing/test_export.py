"""Traces leave a real server over OTLP/HTTP when
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set; without it, nothing traces."""

import time

import httpx
import pytest
from opentelemetry.trace import NoOpTracer

from api.asgi import application
from api.http.body_limit import BodySizeLimit
from api.schema import schema
from api.tracing.graphql import GraphQLTracing, operation_tracing
from api.tracing.provider import tracing
from tests.conftest import running_uvicorn
from tests.otlp_collector import Collector

pytestmark = pytest.mark.django_db(transaction=True)


def test_spans_reach_the_collector_when_an_endpoint_is_set(test_database_url):
    with Collector().running() as collector:
        settings = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "50",
            "OTEL_SERVICE_NAME": "conveyor-test",
        }
        with running_uvicorn(test_database_url, settings) as base_url:
            httpx.post(
                f"{base_url}/graphql/",
                json={"query": "query Exported { products(first: 1) { totalCount } }"},
            )
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not any(
                span["name"] == "query Exported" for span in collector.spans
            ):
                time.sleep(0.05)
    names = {span["name"] for span in collector.spans}
    assert {"POST /graphql/", "query Exported", "SELECT"} <= names
    (operation,) = [span for span in collector.spans if span["name"] == "query Exported"]
    assert operation["attributes"]["graphql.operation.name"] == "Exported"


def test_without_an_endpoint_nothing_is_installed():
    assert operation_tracing() == []
    assert GraphQLTracing not in schema.extensions
    assert isinstance(application.application_mapping["http"], BodySizeLimit)
    assert isinstance(tracing.tracer, NoOpTracer)
