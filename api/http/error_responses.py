"""Every error answered over HTTP is JSON shaped like a GraphQL response:
``{"errors": [{"message": "…", "extensions": {"code": "…"}}]}``.

Django answers some errors itself, with HTML pages made for browsers: a
``Host`` it refuses (400), a permission denied (403), an unknown path (404), a
failed CSRF check (403) and any exception nobody caught (500). The handlers
here (``api.urls``, ``CSRF_FAILURE_VIEW``) answer them in the API's shape
instead, as public GraphQL APIs do: a client reads one kind of error body,
whatever went wrong and wherever.

Each handler logs what happened once, as ``api.graphql.error_reporting`` does for
GraphQL errors (a client's mistake at DEBUG, a bug at ERROR with its traceback
and request id), and marks the response as logged: Django would log it again
on ``django.request`` or ``django.security.*``, a client's mistake at WARNING
or ERROR.
"""

import sys

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, JsonResponse

from api.error_log import (
    BAD_REQUEST,
    INTERNAL_SERVER_ERROR,
    MASKED_MESSAGE,
    log_client_error,
    log_unexpected,
)
from api.http.access_log import graphql_operation
from api.http.request_id import current_request_id, new_request_id

FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"


def error_body(message: str, code: str, **extensions: object) -> dict[str, object]:
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}


def error_response(message: str, code: str, status: int, **extensions: object) -> JsonResponse:
    """The error as a response; its code goes into the access line of a
    GraphQL request."""
    operation = graphql_operation()
    if operation is not None:
        operation.error_codes = [code]
    return JsonResponse(error_body(message, code, **extensions), status=status)


def _logged(response: JsonResponse) -> JsonResponse:
    # Django's own flag: django.utils.log.log_response skips a response that has it.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def bad_request(request: HttpRequest, exception: Exception) -> JsonResponse:
    """handler400: a SuspiciousOperation (a Host not in ALLOWED_HOSTS…) or a
    BadRequest. Its message is for the server's operators, not the client."""
    log_client_error(str(exception))
    if isinstance(exception, DisallowedHost):
        message = "The Host header names a host this server does not serve."
    else:
        message = "Bad request."
    return _logged(error_response(message, BAD_REQUEST, 400))


def permission_denied(request: HttpRequest, exception: Exception) -> JsonResponse:
    log_client_error(f"permission denied: {request.path}")
    return _logged(error_response("Permission denied.", FORBIDDEN, 403))


def page_not_found(request: HttpRequest, exception: Exception) -> JsonResponse:
    log_client_error(f"not found: {request.path}")
    return _logged(error_response("Not found.", NOT_FOUND, 404))


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """CSRF_FAILURE_VIEW: a form or write Django's CsrfViewMiddleware refused
    (the GraphQL view checks mutations itself: accounts.permissions)."""
    log_client_error(f"CSRF failed: {reason}")
    return _logged(error_response(f"CSRF failed: {reason}", FORBIDDEN, 403))


def server_error(request: HttpRequest) -> JsonResponse:
    """handler500, called while the exception is being handled (Django's ASGI
    handler re-raises it in the thread that runs this)."""
    request_id = current_request_id() or new_request_id()
    log_unexpected(sys.exc_info()[1], request_id, f"{request.method} {request.path}")
    response = error_response(MASKED_MESSAGE, INTERNAL_SERVER_ERROR, 500, requestId=request_id)
    return _logged(response)
