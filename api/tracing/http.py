"""The HTTP server span of each request (OpenTelemetry's ASGI middleware),
parent of the GraphQL and database spans made while it is answered."""

import os
from typing import Any

from django.conf import settings
from opentelemetry.trace import TracerProvider

from api.tracing.database import trace_queries
from api.tracing.provider import exporting_provider, tracing

ASGIApp = Any


def traced(application: ASGIApp, provider: TracerProvider | None = None) -> ASGIApp:
    """``application`` with every request traced into ``provider`` (default:
    the OTLP exporter) where traces are on (or a provider is given); else
    ``application`` itself."""
    if provider is None:
        if not settings.TRACING_ENABLED:
            return application
        provider = exporting_provider()
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from opentelemetry.metrics import NoOpMeterProvider

    tracing.use(provider)
    trace_queries()
    # The stable HTTP conventions (http.request.method, url.path…), as the
    # GraphQL spans follow the current ones, unless the deployment says otherwise.
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")
    return OpenTelemetryMiddleware(
        application,
        tracer_provider=provider,
        # Its metrics are Prometheus' business here (api.metrics).
        meter_provider=NoOpMeterProvider(),
        # A span per ASGI message of a request is noise.
        exclude_spans=["receive", "send"],
    )
