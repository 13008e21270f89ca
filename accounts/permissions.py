"""Who may run a mutation. Every mutation is CsrfProtected at least."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from accounts.csrf import CsrfFailed, check_csrf
from accounts.identity import current_user, http_request
from api.graphql.errors import Forbidden

ANONYMOUS = (
    "Mutations are for staff users: send an API token (Authorization: Bearer <token>), "
    "or log in with the login mutation and send its session cookie."
)
NOT_STAFF = "Only staff users may do this."


class CsrfProtected(BasePermission):
    """Over HTTP, a mutation made with the session cookie must pass Django's
    CSRF check, unless a Bearer token authenticated it. A request without
    that cookie is no forgery: a forged request is one a browser sends with
    its user's cookie, and without one it acts for nobody's session. A
    websocket needs no check: strawberry accepts handshakes from the allowed
    origins only, which is what the CSRF check makes sure of."""

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        request = http_request(info)
        if request is not None and self.checks(request):
            try:
                check_csrf(request)
            except CsrfFailed as failure:
                raise Forbidden(f"CSRF failed: {failure}") from None
        return True

    def checks(self, request: HttpRequest) -> bool:
        return settings.SESSION_COOKIE_NAME in request.COOKIES


class LoginCsrfProtected(CsrfProtected):
    """``login`` is checked with or without a session cookie: a forged login
    would sign the victim's browser in to the attacker's account ("login
    CSRF"), which is why Django's own LoginView is CSRF-protected too."""

    def checks(self, request: HttpRequest) -> bool:
        return True


class IsStaff(CsrfProtected):
    """Active staff users (Django's ``is_staff``) only."""

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        await super().has_permission(source, info, **kwargs)
        user = await current_user(info)
        if not user.is_authenticated:
            raise Forbidden(ANONYMOUS)
        if not (user.is_active and user.is_staff):
            raise Forbidden(NOT_STAFF)
        return True


# Without schema directives: the schema stays as the contract prints it.
def csrf_protected() -> PermissionExtension:
    return PermissionExtension(permissions=[CsrfProtected()], use_directives=False)


def login_csrf_protected() -> PermissionExtension:
    return PermissionExtension(permissions=[LoginCsrfProtected()], use_directives=False)


def staff_only() -> PermissionExtension:
    return PermissionExtension(permissions=[IsStaff()], use_directives=False)
