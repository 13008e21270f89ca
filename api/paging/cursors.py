"""Opaque, signed, versioned keyset cursors.

A cursor holds the ordering it was made for and the row's values in that
ordering (ending with the primary key). It is signed with the SECRET_KEY, so a
tampered or forged cursor is refused instead of silently paging from a made-up
position; rotating the key through SECRET_KEY_FALLBACKS keeps old cursors valid.
"""

from collections.abc import Sequence
from typing import Any

from django.core import signing

from api.graphql.errors import InvalidCursor
from api.signing import Signer

VERSION = 1
_signer = Signer(salt="conveyor.cursor")

CursorValue = str | int


def encode_cursor(ordering: str, values: Sequence[CursorValue]) -> str:
    return _signer.sign_object([VERSION, ordering, list(values)], compress=False)


def decode_cursor(cursor: str, ordering: str, size: int) -> list[CursorValue]:
    """The values stored in ``cursor``, checked to belong to ``ordering``."""
    if not cursor:
        raise InvalidCursor("Cursor is empty; pass an endCursor or startCursor from a page.")
    try:
        payload: Any = _signer.unsign_object(cursor)
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        raise InvalidCursor(
            "Invalid cursor: it is malformed or was altered; use a cursor from a page as it is."
        ) from None
    if not (isinstance(payload, list) and len(payload) == 3 and payload[0] == VERSION):
        raise InvalidCursor("Invalid cursor: it was made by another version of this API.")
    _, made_for, values = payload
    if made_for != ordering:
        raise InvalidCursor(
            f"This cursor was made for orderBy {made_for}, not {ordering}; "
            "page with the orderBy the cursor came from."
        )
    if not (isinstance(values, list) and len(values) == size):
        raise InvalidCursor("Invalid cursor: it does not match this ordering.")
    return values
