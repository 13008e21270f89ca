"""strawberry's ParserCache, with syntax errors answered like any other error.

Its hook parses before strawberry's own handling of parse errors is entered.
Over HTTP the error still became a response, but in a websocket operation it
escaped, and the client got no answer (``graphql-ws``) or a bare
``complete``. A document that does not parse is left to strawberry, which
parses it again and reports the error; only valid documents are cached anyway.
"""

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import ParserCache


class ReportingParserCache(ParserCache):
    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        try:
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        except GraphQLError:
            context.graphql_document = None
        yield
