"""GraphQL errors a client can act on: each carries ``extensions.code``."""

from graphql import GraphQLError


class ClientError(GraphQLError):
    code = "BAD_USER_INPUT"

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": self.code})


class InvalidCursor(ClientError):
    code = "INVALID_CURSOR"


class InvalidGlobalID(ClientError):
    code = "INVALID_ID"


class CurrencyUnavailable(ClientError):
    code = "CURRENCY_UNAVAILABLE"


class Forbidden(ClientError):
    code = "FORBIDDEN"


class ResumeExpired(ClientError):
    """The changes since the token have been pruned: subscribe afresh."""

    code = "RESUME_EXPIRED"
