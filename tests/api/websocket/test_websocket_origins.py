"""Which pages may open a websocket, against a real uvicorn: the server's own
origin and those of CORS_ALLOWED_ORIGINS; clients that send no Origin (no
browser) too. Any other origin is refused at the handshake (403), so that a
page elsewhere cannot act with a user's cookie."""

from collections.abc import Iterator

import pytest
from websockets.exceptions import InvalidStatus

from tests.conftest import running_uvicorn
from tests.graphql_ws import PROTOCOLS, graphql_websocket

pytestmark = pytest.mark.django_db(transaction=True)

ALLOWED = "https://shop.example,http://localhost:3000"


@pytest.fixture(scope="module")
def server(test_database_url: str) -> Iterator[str]:
    with running_uvicorn(test_database_url, settings={"CORS_ALLOWED_ORIGINS": ALLOWED}) as url:
        yield url


async def streams(base_url: str, protocol: str, origin: str | None) -> bool:
    headers = {"Origin": origin} if origin else None
    async with graphql_websocket(base_url, protocol, headers=headers) as socket:
        payloads = await socket.collect("subscription { productStream { snapshotComplete } }")
    # Each payload carries extensions (its cost) besides.
    results = [{key: payload.get(key) for key in ("data", "errors")} for payload in payloads]
    return results == [{"data": {"productStream": {"snapshotComplete": True}}, "errors": None}]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("origin", [None, "https://shop.example", "http://localhost:3000"])
async def test_an_allowed_origin_or_none_may_connect(server, protocol, origin):
    assert await streams(server, protocol, origin)


async def test_the_servers_own_origin_may_connect(server):
    assert await streams(server, "graphql-transport-ws", server)


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://shop.example",  # another scheme is another origin
        "https://shop.example.evil.example",
        "http://localhost:3001",
        "null",  # a sandboxed page or a file
    ],
)
async def test_another_origin_is_refused_at_the_handshake(server, origin):
    with pytest.raises(InvalidStatus, match="403"):
        await streams(server, "graphql-transport-ws", origin)
