"""Cookie sessions for browsers: ``login`` and ``logout`` (Django's own)."""

import math

import strawberry
from django.contrib.auth import aauthenticate, alogin, alogout
from django.http import HttpRequest
from strawberry.types import Info

from accounts.identity import http_request
from accounts.login_limits import locked_out_for, record_failure, record_success
from accounts.permissions import csrf_protected, login_csrf_protected
from api.graphql.errors import ClientError
from api.graphql.payloads import UserError
from api.rate_limits.clients import request_address


@strawberry.type
class AuthPayload:
    username: str | None = strawberry.field(description="Who is logged in; null if nobody.")
    is_staff: bool
    errors: list[UserError]


def _session_request(info: Info) -> HttpRequest:
    request = http_request(info)
    if request is None:
        raise ClientError("Sessions are made over HTTP: a websocket cannot set their cookie.")
    return request


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Starts a Django session (its cookie) for these credentials.",
        extensions=[login_csrf_protected()],
    )
    async def login(self, info: Info, username: str, password: str) -> AuthPayload:
        request = _session_request(info)
        address = request_address(request)
        wait = await locked_out_for(username, address)
        if wait:
            error = UserError(
                field=None,
                message=f"Too many failed attempts: try again in {math.ceil(wait)} s.",
                code="RATE_LIMITED",
            )
            return AuthPayload(username=None, is_staff=False, errors=[error])
        user = await aauthenticate(request, username=username, password=password)
        if user is None:
            await record_failure(username, address)
            error = UserError(
                field=None, message="Wrong username or password.", code="INVALID_CREDENTIALS"
            )
            return AuthPayload(username=None, is_staff=False, errors=[error])
        await record_success(username, address)
        await alogin(request, user)
        return AuthPayload(username=user.get_username(), is_staff=user.is_staff, errors=[])

    @strawberry.mutation(
        description="Ends the session; true even if there was none.",
        extensions=[csrf_protected()],
    )
    async def logout(self, info: Info) -> bool:
        await alogout(_session_request(info))
        return True
