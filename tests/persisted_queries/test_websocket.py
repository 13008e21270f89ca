"""Persisted queries over websockets, in the extensions of the message that
starts an operation: Apollo's hash alone, then with the document once; and
with trusted documents only, nothing but registered documents runs, named
or sent whole."""

import uuid
from collections.abc import Iterator

import pytest

from persisted_queries.hashing import sha256_hex
from persisted_queries.services import register
from tests.conftest import running_uvicorn
from tests.graphql_ws import PROTOCOLS, graphql_websocket

pytestmark = pytest.mark.django_db(transaction=True)

REGISTERED = "subscription { productStream { phase snapshotComplete } }"


@pytest.fixture(scope="module")
def trusted_server(test_database_url: str) -> Iterator[str]:
    settings = {"GRAPHQL_TRUSTED_DOCUMENTS_ONLY": "true"}
    with running_uvicorn(test_database_url, settings=settings) as base_url:
        yield base_url


@pytest.fixture
def registered(trusted_server: str) -> str:
    # Each test's rows are flushed after it: registered again for each.
    register({"stream": REGISTERED})
    return trusted_server


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_only_registered_documents_run(registered: str, protocol: str) -> None:
    async with graphql_websocket(registered, protocol) as client:
        [batch] = await client.collect(REGISTERED)
        assert batch["data"]["productStream"] == {"phase": "SNAPSHOT", "snapshotComplete": True}
        [refused] = await client.collect(
            "subscription { productStream { phase snapshotComplete sequence } }"
        )
        assert refused["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"


def apq(document: str) -> dict[str, object]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(document)}}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_hash_alone_then_with_its_document_once(uvicorn_server: str, protocol: str) -> None:
    # A document of its own: a server process remembers those it has found.
    document = f"subscription L{uuid.uuid4().hex} {{ productStream {{ snapshotComplete }} }}"
    async with graphql_websocket(uvicorn_server, protocol) as client:
        [unknown] = await client.collect(None, extensions=apq(document))
        assert unknown["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        [learnt] = await client.collect(document, extensions=apq(document))
        assert learnt["data"]["productStream"] == {"snapshotComplete": True}
        [named] = await client.collect(None, extensions=apq(document))
        assert named["data"]["productStream"] == {"snapshotComplete": True}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_registered_documents_run_by_their_hash(registered: str, protocol: str) -> None:
    async with graphql_websocket(registered, protocol) as client:
        [batch] = await client.collect(None, extensions=apq(REGISTERED))
        assert batch["data"]["productStream"] == {"phase": "SNAPSHOT", "snapshotComplete": True}
