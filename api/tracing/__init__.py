"""OpenTelemetry traces, when an exporter is configured
(``OTEL_EXPORTER_OTLP_ENDPOINT``): an HTTP server span per request (http.py),
a span per GraphQL operation named and described as OpenTelemetry's semantic
conventions for GraphQL say (graphql.py), and a client span per database
query (database.py), each the child of the one before. Otherwise nothing of
this is installed, and nothing traces."""
