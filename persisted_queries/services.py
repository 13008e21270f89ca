"""Writes of persisted documents."""

from collections.abc import Mapping

from django.db import transaction

from persisted_queries.hashing import sha256_hex
from persisted_queries.models import PersistedDocument


async def learn(sha256: str, text: str) -> None:
    """Keeps a document a client sent with its hash (automatic persisted
    queries); the caller checked the hash. Two processes learning the same
    document at once both succeed."""
    await PersistedDocument.objects.abulk_create(
        [PersistedDocument(key=sha256, sha256=sha256, text=text)], ignore_conflicts=True
    )


def register(documents: Mapping[str, str]) -> int:
    """Registers trusted documents by the keys a manifest gives them, in one
    transaction; a document learnt from a client before becomes trusted.
    Returns how many were registered. The manifests' keys are hashes of the
    texts, so a key keeps its text: running processes keep what they found."""
    rows = [
        PersistedDocument(key=key, sha256=sha256_hex(text), text=text, trusted=True)
        for key, text in documents.items()
    ]
    with transaction.atomic():
        PersistedDocument.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["key"],
            update_fields=["sha256", "text", "trusted"],
        )
    return len(rows)
