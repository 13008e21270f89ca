"""A document with several operations must say which to run.

GraphQL's rule (GetOperation): without ``operationName`` a document must hold
exactly one operation. Strawberry runs the first instead, so a client that
forgot the name would silently get another operation's answer.
"""

from collections.abc import Iterator

from graphql import ExecutionResult, GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

MESSAGE = "Must provide operation name if query contains multiple operations."


class OperationNameRequired(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        # Before parsing, the context's name is the one the client sent.
        self.sent_name = self.execution_context.operation_name
        yield

    def on_execute(self) -> Iterator[None]:
        document = self.execution_context.graphql_document
        operations = [
            definition
            for definition in (document.definitions if document else ())
            if isinstance(definition, OperationDefinitionNode)
        ]
        if self.sent_name is None and len(operations) > 1:
            if self.execution_context.operation_type is OperationType.SUBSCRIPTION:
                # Strawberry subscribes whatever result is set before; an
                # error raised here is the subscription's answer instead.
                raise GraphQLError(MESSAGE)
            # A result set before execution is strawberry's way to skip it.
            self.execution_context.result = ExecutionResult(None, [GraphQLError(MESSAGE)])
        yield
