"""Who may run a mutation. Every mutation is CsrfProtected at least."""

from typing import Any

from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from accounts.csrf import CsrfFailed, check_csrf
from accounts.identity import current_user, http_request
from api.errors import Forbidden


class CsrfProtected(BasePermission):
    """Over HTTP, a mutation must pass Django's CSRF check unless a Bearer token
    authenticated it. A websocket needs none: strawberry accepts handshakes
    from the same origin only, which is what the CSRF check makes sure of."""

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        request = http_request(info)
        if request is not None:
            try:
                check_csrf(request)
            except CsrfFailed as failure:
                raise Forbidden(f"CSRF failed: {failure}") from None
        return True


class IsStaff(CsrfProtected):
    """Active staff users (Django's ``is_staff``) only."""

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        await super().has_permission(source, info, **kwargs)
        user = await current_user(info)
        if not (user.is_active and user.is_staff):
            raise Forbidden("Only staff users may do this.")
        return True


# Without schema directives: the schema stays as the contract prints it.
def csrf_protected() -> PermissionExtension:
    return PermissionExtension(permissions=[CsrfProtected()], use_directives=False)


def staff_only() -> PermissionExtension:
    return PermissionExtension(permissions=[IsStaff()], use_directives=False)
