"""strawberry's ParserCache, with documents that do not parse reported as
GraphQL errors on subscriptions too.

The cache parses in its ``on_parse`` hook, outside the error handling around
strawberry's own parse: over HTTP a syntax error still comes back as a GraphQL
error, but on a websocket it escaped as an internal error, and the client got
a bare ``complete`` (graphql-transport-ws) or nothing at all (graphql-ws).
"""

from collections.abc import Iterator
from contextlib import suppress

from graphql import GraphQLError
from strawberry.extensions import ParserCache as StrawberryParserCache


class ParserCache(StrawberryParserCache):
    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        # A document that does not parse is left to strawberry, which parses
        # it again and reports the error.
        with suppress(GraphQLError):
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        yield
