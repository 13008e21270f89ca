"""A stand-in OpenTelemetry collector on loopback: it accepts OTLP/HTTP
trace exports (``POST /v1/traces``, protobuf), keeps the spans' names and
attributes if asked to, and answers as a collector does."""

import threading
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.loopback_service import LoopbackService

ANSWER = ExportTraceServiceResponse().SerializeToString()


class Collector(LoopbackService):
    def __init__(self, *, keep: bool = True) -> None:
        self.keep = keep
        self.spans: list[dict[str, Any]] = []
        self.exports = 0
        self._lock = threading.Lock()
        super().__init__()
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def _received(self, body: bytes) -> None:
        with self._lock:
            self.exports += 1
        if not self.keep:
            return
        request = ExportTraceServiceRequest.FromString(body)
        spans = [
            {
                "name": span.name,
                "attributes": {a.key: a.value.string_value for a in span.attributes},
            }
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]
        with self._lock:
            self.spans.extend(spans)

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        self._received(body)
        return 200, "application/x-protobuf", ANSWER
