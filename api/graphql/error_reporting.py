"""What every GraphQL error tells the client, and what the logs keep of it.

One place decides, for every error of every operation (HTTP and websocket,
queries and subscription streams alike), its ``extensions.code``:

- ``GRAPHQL_PARSE_FAILED``: the document is not GraphQL (or too long, see
  ``api.graphql.limits``);
- ``GRAPHQL_VALIDATION_FAILED``: it does not fit the schema or the limits, or
  its variables do not fit their types;
- the code a ``ClientError`` carries (``BAD_USER_INPUT``, ``INVALID_ID``…);
- ``SERVICE_UNAVAILABLE``: the database could not be reached;
- ``INTERNAL_SERVER_ERROR``: anything else is a bug. Its message and traceback
  stay in the log, under the request id the client is given instead.

Client errors are logged at DEBUG only: they are the client's business, and a
flood of them must not bury real failures.
"""

from collections.abc import Iterator

import psycopg
from django.conf import settings
from django.db import InterfaceError, OperationalError
from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from api.error_log import (
    BAD_REQUEST,
    BAD_USER_INPUT,
    INTERNAL_SERVER_ERROR,
    MASKED_MESSAGE,
    PARSE_FAILED,
    SERVICE_UNAVAILABLE,
    UNAVAILABLE_MESSAGE,
    VALIDATION_FAILED,
    log_client_error,
    log_unexpected,
    logger,
)
from api.http.request_id import current_request_id, new_request_id

# Django wraps what psycopg raises, but not everywhere (its pool's PoolTimeout
# is a psycopg OperationalError); the causes of an error are searched too.
DATABASE_UNAVAILABLE = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)
OPERATION_NOT_ALLOWED = (InvalidOperationTypeError, CannotGetOperationTypeError)


def report_errors(errors: list[GraphQLError]) -> None:
    """Gives each error its code, masks and logs unexpected ones; in place, so
    that every transport sends what was decided here."""
    for error in errors:
        if (error.extensions or {}).get("code"):
            log_client_error(error.message)
        elif isinstance(error, GraphQLSyntaxError):
            _settle(error, PARSE_FAILED)
        elif isinstance(error.original_error, OPERATION_NOT_ALLOWED):
            # strawberry's refusal of an operation the transport does not run
            # (a mutation on the legacy websocket protocol): as over HTTP.
            _settle(error, BAD_REQUEST)
        elif error.original_error is None or isinstance(error.original_error, GraphQLError):
            # Validation, variable coercion, unknown operation names, or a
            # GraphQLError a resolver raised on purpose.
            _settle(error, VALIDATION_FAILED if error.path is None else BAD_USER_INPUT)
        elif _raised_by_a_resolver(error) and _database_unavailable(error.original_error):
            logger.warning("database unavailable: %s", error.original_error)
            error.message = UNAVAILABLE_MESSAGE
            error.extensions = {"code": SERVICE_UNAVAILABLE}
            error.original_error = None
        elif _raised_by_a_resolver(error):
            _mask(error)
        else:
            # A scalar's parser refused a literal of the document (validation).
            _settle(error, VALIDATION_FAILED)


def _settle(error: GraphQLError, code: str) -> None:
    log_client_error(error.message)
    error.extensions = {**(error.extensions or {}), "code": code}


def _raised_by_a_resolver(error: GraphQLError) -> bool:
    # graphql-core locates every error it finds in the document (validation,
    # coercion) at its nodes; an exception of ours has a field's path instead,
    # or, raised in a subscription's stream, neither.
    return error.path is not None or not error.nodes


def _database_unavailable(exception: BaseException) -> bool:
    return any(isinstance(cause, DATABASE_UNAVAILABLE) for cause in _causes(exception))


def _causes(exception: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cause: BaseException | None = exception
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        yield cause
        cause = cause.__cause__ or cause.__context__


def _mask(error: GraphQLError) -> None:
    request_id = current_request_id() or new_request_id()
    original = error.original_error
    log_unexpected(original, request_id, ".".join(map(str, error.path or [])) or "-")
    if not settings.DEBUG:
        error.message = MASKED_MESSAGE
        error.original_error = None
    error.extensions = {"code": INTERNAL_SERVER_ERROR, "requestId": request_id}
