"""Who spends from a bucket: the client's API token, else its address.

The address is the peer's, unless the peer is one of ``TRUSTED_PROXIES``
(addresses or networks): then it is the last address in ``X-Forwarded-For``
that no trusted proxy added. Anyone can send that header, so it is read only
behind proxies that are known to set it.
"""

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.http import HttpRequest

from accounts.identity import CONNECTION_USER, authorization_of
from accounts.tokens import InvalidToken, bearer_token, token_hash

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Client:
    key: str  # the bucket's name
    staff: bool = False


@cache
def _trusted(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _is_trusted(address: str) -> bool:
    networks = _trusted(tuple(settings.TRUSTED_PROXIES))
    if not networks:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(peer: str | None, forwarded_for: Iterable[str]) -> str:
    """The client's address, from the peer's and its X-Forwarded-For headers."""
    address = peer or "unknown"
    if not _is_trusted(address):
        return address
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = hop
        if not _is_trusted(hop):
            break
    return address


def request_address(request: HttpRequest) -> str:
    return client_address(
        request.META.get("REMOTE_ADDR"), [request.headers.get("X-Forwarded-For", "")]
    )


def client_of(authorization: str | None, address: str, *, staff: bool) -> Client:
    """The token's bucket if a valid-looking token is sent (the identity
    middleware has refused any other), else the address's."""
    if authorization is not None:
        try:
            return Client(f"token:{token_hash(bearer_token(authorization))}", staff=staff)
        except InvalidToken:
            pass
    return Client(f"address:{address}")


def operation_client(context: object) -> Client:
    """The client of an operation, from its strawberry context: an HTTP
    request's (any transport served by the Django view), or a websocket's."""
    request = getattr(context, "request", None)
    if isinstance(request, HttpRequest):
        authorization = request.headers.get("Authorization")
        address = request_address(request)
        # Only a token's user is loaded already (the identity middleware):
        # a session's would cost a query on every request.
        staff = authorization is not None and bool(getattr(request.user, "is_staff", False))
        return client_of(authorization, address, staff=staff)
    assert isinstance(context, dict), context
    scope = context["ws"].scope
    peer = scope.get("client")
    forwarded = [
        value.decode("latin-1") for name, value in scope["headers"] if name == b"x-forwarded-for"
    ]
    address = client_address(peer[0] if peer else None, forwarded)
    authorization = authorization_of(context.get("connection_params"))
    user = context.get(CONNECTION_USER)
    staff = authorization is not None and bool(getattr(user, "is_staff", False))
    return client_of(authorization, address, staff=staff)
