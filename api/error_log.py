"""The codes of errors every transport answers with, and the log of errors
(``conveyor.errors``): a client's mistake at DEBUG, a bug once at ERROR with
its traceback and request id. Shared by the GraphQL errors
(api.graphql.error_reporting) and the errors Django answers itself
(api.http.error_responses); it imports nothing of GraphQL, which a management
command never needs."""

import logging

logger = logging.getLogger("conveyor.errors")

PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"
BAD_REQUEST = "BAD_REQUEST"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"

UNAVAILABLE_MESSAGE = "The database is unavailable; try again shortly."
MASKED_MESSAGE = "Unexpected error."


def log_client_error(message: str) -> None:
    logger.debug("client error: %s", message)


def log_unexpected(exception: BaseException | None, request_id: str, where: str) -> None:
    """Logs a bug once, with its traceback, under the id the client was given."""
    logger.error(
        "unexpected error (request %s) at %s: %s",
        request_id,
        where,
        exception,
        exc_info=exception,
        extra={"request_id": request_id},
    )
