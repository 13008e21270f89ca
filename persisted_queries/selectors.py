"""Reads of persisted documents. A document never changes once stored, so
each process keeps those it found: a hit costs no query after the first.
Misses are not kept: another process may store the document any moment."""

from django.db.models import Q

from persisted_queries.errors import PersistedQueryNotFound
from persisted_queries.models import PersistedDocument
from persisted_queries.requests import Named

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
