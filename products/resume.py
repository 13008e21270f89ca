"""Resume tokens: what a ``productStream`` subscriber has been told, signed
like a cursor, so that ``productStream(resume:)`` goes on from there.

A token holds the snapshot's position (the cursor of the last row sent, or
that the snapshot is complete), whether the stream is live, and for a live
stream the frontier in the change log (products.changes) before which every
change has been told. It is bound to the stream's filter and ordering: a
token of one stream does not resume another.
"""

import hashlib
from dataclasses import dataclass
from typing import Any

from django.core import signing

from api.graphql.errors import InvalidCursor
from api.paging.keyset import Keyset
from api.signing import Signer
from products.changes import Frontier
from products.selectors import ProductCriteria

VERSION = 1
_signer = Signer(salt="conveyor.resume")


@dataclass(frozen=True)
class StreamPosition:
    after: str | None  # the cursor of the last snapshot row sent
    snapshot_complete: bool
    live: bool
    frontier: Frontier | None  # live streams: where in the log the client stands


def fingerprint(criteria: ProductCriteria) -> str:
    """The same for equal criteria, in every process."""
    return hashlib.sha256(repr(criteria.key()).encode()).hexdigest()[:16]


class Tokens:
    """The resume tokens of one stream, bound to its ordering and filter."""

    def __init__(self, keyset: Keyset, criteria: ProductCriteria) -> None:
        self._ordering = keyset.name
        self._fingerprint = fingerprint(criteria)

    def encode(self, position: StreamPosition) -> str:
        frontier = position.frontier
        return _signer.sign_object(
            [
                VERSION,
                self._ordering,
                self._fingerprint,
                position.after,
                position.snapshot_complete,
                position.live,
                None
                if frontier is None
                else [frontier.position, list(frontier.in_flight), frontier.unfinished_from],
            ]
        )

    def decode(self, token: str) -> StreamPosition:
        """The position in ``token``, checked to belong to this stream."""
        try:
            payload: Any = _signer.unsign_object(token)
        except (signing.BadSignature, ValueError, UnicodeDecodeError):
            raise InvalidCursor(
                "Invalid resume token: it is malformed or was altered; use a resumeToken as it is."
            ) from None
        if not (isinstance(payload, list) and len(payload) == 7 and payload[0] == VERSION):
            raise InvalidCursor("Invalid resume token: it was made by another version of this API.")
        _, ordering, made_for, after, complete, live, frontier = payload
        if ordering != self._ordering or made_for != self._fingerprint:
            raise InvalidCursor(
                "This resume token was made for another filter or orderBy; "
                "resume with the filter and orderBy of the stream it came from."
            )
        return StreamPosition(
            after=after,
            snapshot_complete=complete,
            live=live,
            frontier=None
            if frontier is None
            else Frontier(frontier[0], tuple(frontier[1]), frontier[2]),
        )
