"""The API token format: ``cvr_`` and 43 URL-safe characters (256 random bits).

So much entropy makes guessing hopeless, which is why a fast hash (SHA-256)
is the right one to store: a slow password hash would only slow every request.
"""

import hashlib
import re
import secrets

PREFIX = "cvr_"
# The prefix and a few random characters: enough to tell tokens apart in the
# admin, far too few to help guess the rest.
DISPLAY_LENGTH = len(PREFIX) + 8
_TOKEN = re.compile(rf"{PREFIX}[A-Za-z0-9_-]{{43}}")
_BEARER = re.compile(r"Bearer +(\S+) *", re.IGNORECASE)


class InvalidToken(Exception):
    """A credential that must be refused; the message says why."""


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def display_prefix(token: str) -> str:
    return token[:DISPLAY_LENGTH]


def bearer_token(authorization: str) -> str:
    """The token of an ``Authorization: Bearer <token>`` value."""
    match = _BEARER.fullmatch(authorization)
    if match is None:
        raise InvalidToken("The Authorization header must be `Bearer <token>`.")
    token = match.group(1)
    if not _TOKEN.fullmatch(token):
        raise InvalidToken("Invalid API token.")
    return token
