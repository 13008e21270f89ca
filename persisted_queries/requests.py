"""What a request asks of persisted queries, from its ``extensions``.

Apollo's link sends ``extensions.persistedQuery {version: 1, sha256Hash}``.
Relay (``doc_id`` or ``id``) and GraphQL Codegen (``documentId``, optionally
``sha256:…`` as the GraphQL-over-HTTP proposal writes it) name the document
beside ``query`` in the request instead; the HTTP view moves that name into
``extensions`` (``with_document_id``), so every transport reads one place."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from persisted_queries.errors import InvalidPersistedQuery

DOCUMENT_ID = "documentId"
NAME_PARAMETERS = ("documentId", "doc_id", "id")
SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Named:
    """A document named by a client: by the hash of its text (Apollo), which
    a client may send with the text to have it stored, or by a key."""

    name: str
    sha256: bool


def named_document(extensions: Mapping[str, Any] | None) -> Named | None:
    if not extensions:
        return None
    if (persisted := extensions.get("persistedQuery")) is not None:
        if not isinstance(persisted, dict) or persisted.get("version") != 1:
            raise InvalidPersistedQuery(
                "`extensions.persistedQuery` must be an object with `version: 1` and `sha256Hash`."
            )
        sha256 = persisted.get("sha256Hash")
        if not isinstance(sha256, str) or not SHA256.fullmatch(sha256):
            raise InvalidPersistedQuery(
                "`extensions.persistedQuery.sha256Hash` must be 64 lowercase hexadecimal digits."
            )
        return Named(sha256, sha256=True)
    if (key := extensions.get(DOCUMENT_ID)) is not None:
        if not isinstance(key, str) or not key or len(key) > 200:
            raise InvalidPersistedQuery("A document id must be a non-empty string.")
        return Named(key.removeprefix("sha256:"), sha256=False)
    return None


def with_document_id(
    parameters: Mapping[str, Any], extensions: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The request's extensions, with the document id it gave beside them."""
    for parameter in NAME_PARAMETERS:
        if (key := parameters.get(parameter)) is not None:
            return {**(extensions or {}), DOCUMENT_ID: key}
    return extensions
