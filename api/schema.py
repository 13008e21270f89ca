"""The schema root: every app's queries, mutations and subscriptions merged."""

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension, ValidationCache
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext as OperationContext
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from accounts.graphql.mutations import Mutation as AccountMutation
from api.graphql.admission import Admission
from api.graphql.error_reporting import report_errors
from api.graphql.execution import ExecutionContext
from api.graphql.incremental import IncrementalResults
from api.graphql.limits import limit_extensions
from api.graphql.nodes import NodeQuery
from api.graphql.operation_name import OperationNameRequired
from api.graphql.parser_cache import ParserCache
from api.graphql.runner import ExtensionsRunner
from api.graphql.scalars import DECIMAL
from api.http.operation_recorder import OperationRecorder
from api.metrics.operations import operation_metrics
from api.tracing.graphql import operation_tracing
from persisted_queries.graphql.extension import PersistedQueries
from products.graphql.mutations import Mutation as ProductMutation
from products.graphql.queries import Query as ProductQuery
from products.graphql.subscriptions import Subscription as ProductSubscription

Query = merge_types("Query", (NodeQuery, ProductQuery))
Mutation = merge_types("Mutation", (AccountMutation, ProductMutation))
Subscription = merge_types("Subscription", (ProductSubscription,))


class Schema(IncrementalResults, strawberry.Schema):
    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        # One result per operation (HTTP): a subscription sent here would run
        # as a query and fail on its stream, so it is refused (400) instead;
        # subscriptions go over websockets (stream/subscribe).
        allowed = set(allowed_operation_types or OperationType) - {OperationType.SUBSCRIPTION}
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed,
            operation_extensions,
        )

    def create_extensions_runner(
        self, execution_context: OperationContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        return ExtensionsRunner(execution_context=execution_context, extensions=extensions)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: OperationContext | None = None
    ) -> None:
        # Called for every error before the response is made, in place of
        # strawberry's, which logs each at ERROR, the client's mistakes too.
        report_errors(errors)


schema = Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    # @defer and @stream: delivered in parts over multipart HTTP (api.graphql.incremental).
    config=StrawberryConfig(
        scalar_map={Decimal: DECIMAL}, enable_experimental_incremental_execution=True
    ),
    execution_context_class=ExecutionContext,
    # Storefronts send the same few documents over and over: each is parsed
    # and validated once, and a thousand live subscriptions of one document
    # share its syntax tree instead of holding a thousand.
    extensions=[
        # Outermost, where switched on: their spans and times cover the rest.
        *operation_tracing(),
        *operation_metrics(),
        # Before anything reads the document: it may come from the store.
        PersistedQueries,
        *limit_extensions(),
        Admission,
        OperationNameRequired,
        OperationRecorder,
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ],
)
