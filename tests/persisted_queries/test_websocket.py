"""Trusted documents over websockets: their messages carry no extensions,
but only registered documents run there too."""

from collections.abc import Iterator

import pytest

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
