"""Django's own CSRF check, run where the GraphQL view needs it.

The view is ``csrf_exempt`` because anonymous clients POST queries without a
token; mutations made with a cookie session must still pass the check that
``CsrfViewMiddleware`` would have made (as Django REST framework's
``SessionAuthentication`` does). Requests authenticated with a Bearer token are
marked exempt by ``accounts.middleware``: no browser adds that header by itself.
"""

from typing import NoReturn

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware


class CsrfFailed(Exception):
    pass


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request: HttpRequest, reason: str) -> NoReturn:
        raise CsrfFailed(reason)


def _never_called(request: HttpRequest) -> HttpResponse:
    raise AssertionError("the CSRF check only inspects the request")


def check_csrf(request: HttpRequest) -> None:
    """Raises CsrfFailed with Django's reason (e.g. "CSRF cookie not set.")."""
    check = _CsrfCheck(_never_called)
    check.process_request(request)
    check.process_view(request, _never_called, (), {})
