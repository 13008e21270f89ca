"""Whether an operation may run: its cost against ``GRAPHQL_MAX_COST``, then
its client's bucket (``RATE_LIMITING``), both before the executor starts, so
a refused document touches no database. A schema extension on the validated
document, so every transport that runs the schema (HTTP, websockets, and any
other served through it) is held to the same rules.

Every response carries ``extensions.cost {requested, limit}`` (with
``GRAPHQL_COST_ANALYSIS``); a document that does not parse or validate ran
nothing and is reported as costing 0. A refusal's error carries the same
figures in its own extensions, for the transports whose error messages have
no top-level extensions (graphql-transport-ws's ``error``).
"""

from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Any

from django.conf import settings
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from api.graphql.cost import CostCache, CostUnknown, operation_cost
from api.graphql.errors import ClientError
from api.rate_limits.clients import operation_client
from api.rate_limits.spending import RateLimited, admit


class QueryTooComplex(ClientError):
    code = "QUERY_TOO_COMPLEX"

    def __init__(self, cost: int, limit: int) -> None:
        super().__init__(
            f"This document costs {cost}, above the limit of {limit}: ask for smaller "
            "pages (`first`/`last`, `batchSize`) or fewer nested connections."
        )
        self.extensions = {
            **(self.extensions or {}),
            "cost": {"requested": cost, "limit": limit},
        }


class Admission(SchemaExtension):
    def __init__(self, *, execution_context: ExecutionContext | None = None) -> None:
        self.requested = 0

    async def on_execute(self) -> AsyncIterator[None]:
        analysed = settings.GRAPHQL_COST_ANALYSIS
        limiting = settings.RATE_LIMITING
        if analysed or limiting:
            context = self.execution_context
            with suppress(CostUnknown):  # the executor reports why
                self.requested = _cost_of(context)
            limit = settings.GRAPHQL_MAX_COST
            if analysed and self.requested > limit:
                raise QueryTooComplex(self.requested, limit)
            if limiting:
                try:
                    await admit(operation_client(context.context), max(self.requested, 1))
                except RateLimited as error:
                    _answer_too_many_requests(context.context, error.retry_after)
                    raise
        yield

    def get_results(self) -> dict[str, Any]:
        if not settings.GRAPHQL_COST_ANALYSIS:
            return {}
        return {"cost": {"requested": self.requested, "limit": settings.GRAPHQL_MAX_COST}}


_costs = CostCache(maxsize=512)


def _cost_of(context: ExecutionContext) -> int:
    schema, document = context.schema._schema, context.graphql_document
    assert document is not None  # validated
    if context.query is None:  # a document given parsed: nothing to know it again by
        return operation_cost(schema, document, context.operation_name, context.variables)
    return _costs.cost(schema, context.query, document, context.operation_name, context.variables)


def _answer_too_many_requests(context: object, retry_after: int) -> None:
    """HTTP 429 with Retry-After, where the transport has a response to set."""
    response = getattr(context, "response", None)
    if response is not None:
        response.status_code = 429
        response["Retry-After"] = str(retry_after)
