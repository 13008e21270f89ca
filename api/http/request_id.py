"""The id of the request being served, for its logs and its error responses.

It comes from the client's ``X-Request-ID`` header when that is sane (a proxy
or a client that sets one can then find its request in our logs), else it is
made anew. A context variable carries it to everything the request runs.
"""

from contextvars import ContextVar, Token
from uuid import uuid4

MAX_LENGTH = 200

_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def new_request_id() -> str:
    return uuid4().hex


def accepted_request_id(header: str | None) -> str:
    """The client's id if it is short and printable (it goes into logs and a
    response header as it is), else a new one."""
    if header and len(header) <= MAX_LENGTH and header.isprintable() and header.isascii():
        return header
    return new_request_id()


def current_request_id() -> str | None:
    return _current.get()


def set_request_id(request_id: str) -> Token[str | None]:
    """Sets the id for the rest of this context; returns the token to reset it."""
    return _current.set(request_id)


def reset_request_id(token: Token[str | None]) -> None:
    _current.reset(token)
