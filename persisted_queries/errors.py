"""The errors of persisted queries, by the codes Apollo's link and clients
know. The link retries with the document when it reads either the code or
the message ``PersistedQueryNotFound``, so that is the message."""

from graphql import ASTValidationRule, DocumentNode, GraphQLError

from api.graphql.errors import ClientError

NOT_ALLOWED_MESSAGE = (
    "Only registered documents run on this server: send a registered document, or its id."
)


class PersistedQueryNotFound(ClientError):
    code = "PERSISTED_QUERY_NOT_FOUND"

    def __init__(self) -> None:
        super().__init__("PersistedQueryNotFound")


class PersistedQueryNotAllowed(ClientError):
    code = "PERSISTED_QUERY_NOT_ALLOWED"

    def __init__(self) -> None:
        super().__init__(NOT_ALLOWED_MESSAGE)


class InvalidPersistedQuery(ClientError):
    code = "BAD_REQUEST"


class NotRegistered(ASTValidationRule):
    """Refuses the document as a validation error: transports that stream
    (websockets) report those like any other, before anything runs."""

    def enter_document(self, node: DocumentNode, *_args: object) -> None:
        self.report_error(
            GraphQLError(NOT_ALLOWED_MESSAGE, extensions={"code": PersistedQueryNotAllowed.code})
        )
