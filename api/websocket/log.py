"""One access line per websocket operation (``event="subscription"``) and
one per websocket connection (``event="websocket"``).

The protocol handlers (api.websocket.protocols) open a record in the task that
runs an operation, which is where strawberry runs the resolver too: the
resolver counts what it sends into the same record through a context
variable, without knowing of websockets, and the line is written once when
the operation ends, however it ends.
"""

import asyncio
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

from api.logs import log_access


@dataclass
class OperationRecord:
    connection_id: str
    operation_id: object
    operation_name: str | None
    subprotocol: str
    started: float = field(default_factory=time.monotonic)
    batches: int = 0
    rows: int = 0
    phase: str | None = None
    # cancelled (by the client), disconnected, error or closed; else complete.
    outcome: str | None = None
    code: str | int | None = None

    def end(self, outcome: str, code: str | int | None = None) -> None:
        """The first way the operation ended is the one that counts."""
        if self.outcome is None:
            self.outcome, self.code = outcome, code

    def write(self) -> None:
        log_access(
            "subscription",
            connection_id=self.connection_id,
            operation_id=self.operation_id,
            operation_name=self.operation_name,
            subprotocol=self.subprotocol,
            duration_ms=round((time.monotonic() - self.started) * 1000, 1),
            batches=self.batches,
            rows=self.rows,
            phase=self.phase,
            outcome=self.outcome or "complete",
            code=self.code,
        )


current_operation: ContextVar[OperationRecord | None] = ContextVar(
    "current_operation", default=None
)


def name_operation(name: str | None) -> None:
    """The operation's name in its document, when its client sent none."""
    record = current_operation.get()
    if record is not None and record.operation_name is None:
        record.operation_name = name


def count_sent(phase: str, rows: int) -> None:
    """A batch of ``rows`` products of ``phase`` handed to the client."""
    record = current_operation.get()
    if record is not None:
        record.batches += 1
        record.rows += rows
        record.phase = phase


def error_code(payload: object) -> str | None:
    """The ``extensions.code`` of the first error of an ``error`` message's
    payload (a list, or one error on the legacy protocol) or a result's."""
    errors = payload if isinstance(payload, list) else [payload]
    if isinstance(payload, dict) and "errors" in payload:
        errors = payload["errors"] or [{}]
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    code = (first.get("extensions") or {}).get("code")
    return code if isinstance(code, str) else None


class ConnectionLog:
    """The operations of one websocket connection, and the connection's own line."""

    def __init__(self) -> None:
        self.id = uuid4().hex
        self.started = time.monotonic()
        self.subprotocol: str | None = None
        self.operations_run = 0
        # The code of a close the server asked for, if it did.
        self.closed_with: int | None = None
        self._running: dict[object, OperationRecord] = {}

    @contextmanager
    def operation(self, operation_id: object, operation_name: str | None) -> Iterator[None]:
        """Records the operation run inside: call it in the operation's task."""
        record = OperationRecord(self.id, operation_id, operation_name, self.subprotocol or "")
        self._running[operation_id] = record
        self.operations_run += 1
        token = current_operation.set(record)
        try:
            yield
        except asyncio.CancelledError:
            self._end_running(record)
            raise
        except Exception:
            record.end("error", "INTERNAL_SERVER_ERROR")
            raise
        finally:
            if self.closed_with is not None:  # e.g. strawberry's 4400 for a syntax error
                record.end("closed", self.closed_with)
            current_operation.reset(token)
            if self._running.get(operation_id) is record:
                del self._running[operation_id]
            record.write()

    def cancelled(self, operation_id: object) -> None:
        """The client stopped the operation."""
        if record := self._running.get(operation_id):
            record.end("cancelled")

    def sent(self, message: Mapping[str, Any]) -> None:
        """Notes an operation that ended in an error, from the message that says
        so; once the server closes, nothing goes out and the close is the end."""
        record = self._running.get(message.get("id"))
        if record is None or self.closed_with is not None:
            return
        payload = message.get("payload")
        if message["type"] == "error" or (
            isinstance(payload, dict) and payload.get("data") is None and payload.get("errors")
        ):
            record.end("error", error_code(payload))

    def ending(self) -> None:
        """The connection is going: what still runs was cut short by it."""
        for record in self._running.values():
            self._end_running(record)

    def _end_running(self, record: OperationRecord) -> None:
        if self.closed_with is not None:
            record.end("closed", self.closed_with)
        else:
            record.end("disconnected")

    def write(self, close_code: int) -> None:
        log_access(
            "websocket",
            connection_id=self.id,
            subprotocol=self.subprotocol,
            duration_ms=round((time.monotonic() - self.started) * 1000, 1),
            operations=self.operations_run,
            close_code=close_code,
            closed_by="server" if self.closed_with is not None else "client",
        )
