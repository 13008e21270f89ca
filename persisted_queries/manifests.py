"""Persisted-document manifests, as the clients' compilers write them.

Relay's compiler (``persistConfig``) and GraphQL Codegen's client preset
(``persistedDocuments``, persisted-documents.json) both write one JSON object
that maps each document's id (Relay's) or hash (Codegen's) to its text."""

from pathlib import Path

import orjson


class ManifestError(Exception):
    pass


def read_manifest(path: Path) -> dict[str, str]:
    try:
        manifest = orjson.loads(path.read_bytes())
    except OSError as error:
        raise ManifestError(f"{path}: cannot be read: {error.strerror}.") from None
    except orjson.JSONDecodeError as error:
        raise ManifestError(f"{path}: not JSON: {error}.") from None
    if not isinstance(manifest, dict) or not all(
        isinstance(key, str) and key and isinstance(text, str) and text.strip()
        for key, text in manifest.items()
    ):
        raise ManifestError(
            f"{path}: a manifest is a JSON object of document ids to document texts, "
            'as Relay and GraphQL Codegen write it: {"<id>": "query … { … }"}.'
        )
    if any(len(key) > 200 for key in manifest):
        raise ManifestError(f"{path}: a document id is longer than 200 characters.")
    return manifest
