from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from asgiref.sync import markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase, JsonResponse

from accounts.services import authenticate_token
from accounts.tokens import InvalidToken, bearer_token
from api.http.error_responses import error_response

if TYPE_CHECKING:  # the configured user model, as django-stubs resolves it
    from django.contrib.auth.models import _User


class BearerTokenMiddleware:
    """``Authorization: Bearer <token>`` authenticates the token's user for the
    request, in place of the session. A request with any other Authorization
    is refused, whatever it asks for: a client that sent credentials must not
    be served as anonymous because they were wrong.

    Goes after AuthenticationMiddleware, whose ``request.user`` it replaces.
    """

    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]]) -> None:
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponseBase:
        authorization = request.headers.get("Authorization")
        if authorization is None:
            return await self.get_response(request)
        try:
            user = await authenticate_token(bearer_token(authorization))
        except InvalidToken as error:
            return unauthenticated(str(error))

        async def auser() -> "_User":
            return user

        request.user = user
        request.auser = auser
        # Django's own flag (the test client and REST framework set it too): a
        # browser never adds this header by itself, so there is no forgery to stop.
        request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
        return await self.get_response(request)


def unauthenticated(message: str) -> JsonResponse:
    """A 401 shaped like a GraphQL response, which every client here can read."""
    response = error_response(message, "UNAUTHENTICATED", 401)
    response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response
