"""Reads of persisted documents. A document never changes once stored, so
each process keeps those it found: a hit costs no query after the first.
Misses are not kept: another process may store the document any moment."""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db.models import Q

from persisted_queries.errors import PersistedQueryNotFound
from persisted_queries.models import PersistedDocument
from persisted_queries.requests import Named, named_document

# Bounded: clients could fill it with documents of their own (automatic
# persisted queries); the oldest entry goes first.
CACHE_SIZE = 1000
_found: dict[tuple[str, bool], str] = {}


async def document_text(name: str, *, trusted_only: bool) -> str | None:
    """The text of the document a client names by key or by sha256 hash."""
    cached = _found.get((name, trusted_only))
    if cached is not None:
        return cached
    documents = PersistedDocument.objects.filter(Q(key=name) | Q(sha256=name))
    if trusted_only:
        documents = documents.filter(trusted=True)
    text = await documents.values_list("text", flat=True).afirst()
    if text is not None:
        if len(_found) >= CACHE_SIZE:
            del _found[next(iter(_found))]
        _found[(name, trusted_only)] = text
    return text


def forget_cached() -> None:
    """For tests that remove documents behind the cache's back."""
    _found.clear()


async def named_text(named: Named, *, trusted_only: bool) -> str:
    """The text of the document a client names instead of sending it."""
    text = await document_text(named.name, trusted_only=trusted_only)
    if text is None:
        raise PersistedQueryNotFound
    return text


async def document_named_by(extensions: Mapping[str, Any] | None) -> str | None:
    """The text of the document a request's ``extensions`` name, for the
    transports that must have a document before the schema's extensions run
    (strawberry refuses an operation without one): None if they name none.
    Raises the persisted query's error if the name is malformed or unknown."""
    named = named_document(extensions)
    if named is None:
        return None
    return await named_text(named, trusted_only=settings.GRAPHQL_TRUSTED_DOCUMENTS_ONLY)
