"""GraphQL documents a client may name instead of sending them.

Kept in the database, not in a process: a document one server process learnt
(Apollo's automatic persisted queries) or the command registered is known to
every process and survives restarts."""

from django.db import models


class PersistedDocument(models.Model):
    # The name a client sends: Apollo's sha256Hash, Relay's id, GraphQL
    # Codegen's hash (its manifests key documents by them).
    key = models.CharField(max_length=200, primary_key=True)
    # Of the text, whatever the key is: Apollo's link names a registered
    # document by this hash even when its manifest named it otherwise.
    sha256 = models.CharField(max_length=64, db_index=True)
    text = models.TextField()
    # Registered in advance (register_documents), not learnt from a client:
    # the only ones that run with GRAPHQL_TRUSTED_DOCUMENTS_ONLY.
    trusted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key
