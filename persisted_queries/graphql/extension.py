"""Persisted queries, resolved before the document is parsed: a document
named by the client takes the place of ``query``; a document sent with its
hash is checked and stored; with ``GRAPHQL_TRUSTED_DOCUMENTS_ONLY`` nothing
but registered documents runs."""

from collections.abc import AsyncIterator

from django.conf import settings
from strawberry.extensions import SchemaExtension

from api.graphql.sent_extensions import operation_extensions
from persisted_queries import selectors, services
from persisted_queries.errors import (
    InvalidPersistedQuery,
    NotRegistered,
    PersistedQueryNotAllowed,
)
from persisted_queries.hashing import sha256_hex
from persisted_queries.requests import Named, named_document


class PersistedQueries(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context
        trusted_only = settings.GRAPHQL_TRUSTED_DOCUMENTS_ONLY
        # An error raised here is the operation's result (strawberry makes
        # it one); nothing is parsed or run.
        named = named_document(operation_extensions(context))
        if named is not None and context.query is None:
            context.query = await selectors.named_text(named, trusted_only=trusted_only)
        elif named is not None and named.sha256 and context.query is not None:
            await _keep(named, context.query, trusted_only=trusted_only)
        elif trusted_only and context.query is not None:
            # A document sent without a name: a validation error is the
            # refusal every transport reports.
            known = await selectors.document_text(sha256_hex(context.query), trusted_only=True)
            if known != context.query:
                context.validation_rules = (*context.validation_rules, NotRegistered)
        yield


async def _keep(named: Named, text: str, *, trusted_only: bool) -> None:
    """A document sent with its hash: the hash must be the text's; a new one
    is stored, unless only registered documents run."""
    if sha256_hex(text) != named.name:
        raise InvalidPersistedQuery(
            "`extensions.persistedQuery.sha256Hash` is not the SHA-256 of `query`: "
            "hash the document's text exactly as sent, in UTF-8."
        )
    if await selectors.document_text(named.name, trusted_only=trusted_only) is not None:
        return
    if trusted_only:
        raise PersistedQueryNotAllowed
    await services.learn(named.name, text)
