"""The tracer every span of the project comes from, and where its spans go:
OTLP over HTTP, configured by OpenTelemetry's own environment variables
(``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_SERVICE_NAME``, …), in batches sent
from a thread of the exporter's, off the event loop."""

from opentelemetry import trace

INSTRUMENTATION = "conveyor"


class Tracing:
    provider: trace.TracerProvider = trace.NoOpTracerProvider()
    tracer: trace.Tracer = trace.NoOpTracer()

    def use(self, provider: trace.TracerProvider) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer(INSTRUMENTATION)


tracing = Tracing()


def exporting_provider() -> trace.TracerProvider:
    # Imported only where traces are on: a server without them loads no SDK.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # OTEL_SERVICE_NAME, when set, takes precedence over this default.
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: INSTRUMENTATION}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider
