"""Who is asking: one answer for HTTP requests and websocket connections.

Over HTTP the middleware has settled it (a Bearer token, else the session).
A websocket settles it once, at ``connection_init``: the token in its payload,
else the session cookie of the handshake. A browser sends that cookie with a
websocket opened by any page, but strawberry refuses handshakes from other
origins (cross-site websocket hijacking), so the cookie is the user's own doing.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from strawberry.types import Info

from accounts.services import authenticate_token
from accounts.tokens import bearer_token

if TYPE_CHECKING:  # the configured user model, as django-stubs resolves it
    from django.contrib.auth.models import _AnyUser

# Where a websocket's identity is kept in strawberry's context (a dict there).
CONNECTION_USER = "user"


def http_request(info: Info) -> HttpRequest | None:
    """The Django request of an HTTP execution; None on a websocket."""
    request = getattr(info.context, "request", None)
    return request if isinstance(request, HttpRequest) else None


async def current_user(info: Info) -> "_AnyUser":
    request = http_request(info)
    if request is not None:
        return await request.auser()
    user: _AnyUser = info.context.get(CONNECTION_USER) or AnonymousUser()
    return user


async def connection_user(scope: Mapping[str, Any], params: object) -> "_AnyUser":
    """The user of a websocket: ``{"Authorization": "Bearer <token>"}`` in the
    ``connection_init`` payload, else the session. Raises InvalidToken."""
    authorization = authorization_of(params)
    if authorization is not None:
        return await authenticate_token(bearer_token(authorization))
    user: _AnyUser = scope.get("user") or AnonymousUser()
    return user


def authorization_of(params: object) -> str | None:
    """The Authorization of a ``connection_init`` payload, whatever its case."""
    if isinstance(params, dict):
        for key, value in params.items():
            if str(key).lower() == "authorization":
                return str(value)
    return None
