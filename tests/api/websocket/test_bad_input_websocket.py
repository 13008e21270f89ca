"""A catalogue of bad input over a websocket, against a real uvicorn, on both
subprotocols: each protocol violation closes the socket with the protocol's
code, each bad operation gets an error that says what is wrong while the
connection goes on. Never an internal error (1011) or a silent socket; nothing
is written, and the server serves on."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import websockets
from asgiref.sync import sync_to_async
from django.db import connections
from websockets.asyncio.client import ClientConnection

from products.factories import ProductFactory
from tests.conftest import running_uvicorn
from tests.graphql_ws import PROTOCOLS, graphql_websocket

pytestmark = pytest.mark.django_db(transaction=True)

TRANSPORT, LEGACY = PROTOCOLS

STREAM = """
subscription($after: String, $batchSize: Int, $filter: ProductFilter) {
  productStream(after: $after, batchSize: $batchSize, filter: $filter) { sequence products { id } }
}
"""
# A live stream of nothing: it waits, and holds its place on the connection.
WAITING = "subscription { productStream(live: true, filter: {ids: []}) { sequence } }"
CREATE = 'mutation { createCategory(name: "Lamps") { category { slug } errors { code } } }'
STATE = """
{ products(first: 100) { totalCount edges { node { id version } } } categories { totalCount } }
"""

Frames = Callable[[str, str], list[str | bytes]]


@pytest.fixture(autouse=True)
async def close_writer_connections():
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture(scope="module")
def limited_server(test_database_url: str) -> Iterator[str]:
    """A server with small websocket limits, to reach them quickly."""
    limits = {"WS_CONNECTION_INIT_TIMEOUT": "0.5", "WS_MAX_SUBSCRIPTIONS": "2"}
    with running_uvicorn(test_database_url, settings=limits) as base_url:
        yield base_url


@pytest.fixture
async def catalog(transactional_db) -> None:
    await sync_to_async(ProductFactory.create_batch)(3)


async def state(base_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url) as client:
        body: dict[str, Any] = (await client.post("/graphql/", json={"query": STATE})).json()
    return body


@pytest.fixture
async def unharmed(uvicorn_server, limited_server, catalog) -> AsyncIterator[None]:
    """After the test: nothing written, and both servers answer and stream."""
    before = await state(uvicorn_server)
    yield
    assert await state(uvicorn_server) == before
    for server in (uvicorn_server, limited_server):
        async with httpx.AsyncClient(base_url=server) as client:
            assert (await client.get("/healthz")).status_code == 200
        async with graphql_websocket(server, TRANSPORT) as socket:
            (payload,) = await socket.collect(STREAM, {"batchSize": 10})
        assert len(payload["data"]["productStream"]["products"]) == 3


@asynccontextmanager
async def raw_socket(
    base_url: str, protocol: str | None, *, init: bool = True
) -> AsyncIterator[ClientConnection]:
    url = base_url.replace("http://", "ws://") + "/graphql/"
    subprotocols: Any = [protocol] if protocol else None
    async with websockets.connect(url, subprotocols=subprotocols, max_size=None) as socket:
        if init:
            await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(await socket.recv())["type"] == "connection_ack"
        yield socket


async def closed(socket: ClientConnection) -> tuple[int | None, list[dict[str, Any]]]:
    """The close code, once the server has closed, and what it sent before."""
    messages = []
    async with asyncio.timeout(10):
        try:
            while True:
                messages.append(json.loads(await socket.recv()))
        except websockets.ConnectionClosed:
            return socket.close_code, messages


def start(kind: str, **fields: Any) -> str:
    """A subscribe (or legacy start) message, ``fields`` over a good one."""
    return json.dumps({"id": "1", "type": kind, "payload": {"query": STREAM}} | fields)


def both(name: str, frames: Frames, code: int, *, init: bool = True) -> list[Any]:
    return [
        pytest.param(protocol, init, frames, code, id=f"{name}, {protocol}")
        for protocol in PROTOCOLS
    ]


def only(protocol: str, name: str, frames: Frames, code: int, *, init: bool = True) -> Any:
    return pytest.param(protocol, init, frames, code, id=f"{name}, {protocol}")


VIOLATIONS = [
    only(TRANSPORT, "binary frame", lambda s, e: [b"\x00\xff"], 4400),
    # The legacy handler's own answer, a WebSocket protocol error.
    only(LEGACY, "binary frame", lambda s, e: [b"\x00\xff"], 1002),
    *both("malformed JSON", lambda s, e: ['{"type": "connection_init"'], 4400),
    *both("a JSON array", lambda s, e: ["[1, 2]"], 4400),
    *both("JSON nested 100,000 deep", lambda s, e: ["[" * 100_000 + "]" * 100_000], 4400),
    *both("JSON null", lambda s, e: ["null"], 4400),
    *both("no type", lambda s, e: [json.dumps({"id": "1"})], 4400),
    *both("an unknown type", lambda s, e: [json.dumps({"type": "bogus"})], 4400),
    *both("a start without id", lambda s, e: [start(s, id=None)], 4400),
    *both("a numeric id", lambda s, e: [start(s, id=1)], 4400),
    *both("a payload that is no object", lambda s, e: [start(s, payload=[1])], 4400),
    *both("no payload", lambda s, e: [start(s, payload=None)], 4400),
    *both("a query that is no string", lambda s, e: [start(s, payload={"query": 5})], 4400),
    *both(
        "variables that are no object",
        lambda s, e: [start(s, payload={"query": STREAM, "variables": [1]})],
        4400,
    ),
    *both(
        "an operation name that is no string",
        lambda s, e: [start(s, payload={"query": STREAM, "operationName": 7})],
        4400,
    ),
    *both("a stop without id", lambda s, e: [json.dumps({"type": e})], 4400),
    *both("a start before connection_init", lambda s, e: [start(s)], 4401, init=False),
    *both("a second connection_init", lambda s, e: ['{"type": "connection_init"}'], 4429),
    *both("a message over 1 MiB", lambda s, e: [start(s, padding="x" * (1 << 20))], 1009),
    only(
        TRANSPORT, "a duplicate id", lambda s, e: [start(s, payload={"query": WAITING})] * 2, 4409
    ),
    only(TRANSPORT, "a syntax error", lambda s, e: [start(s, payload={"query": "{"})], 4400),
    only(
        TRANSPORT,
        "a connection_init payload that is no object",
        lambda s, e: ['{"type": "connection_init", "payload": [1]}'],
        4400,
        init=False,
    ),
    # The legacy protocol says connection_error, then closes normally.
    only(
        LEGACY,
        "a connection_init payload that is no object",
        lambda s, e: ['{"type": "connection_init", "payload": [1]}'],
        1000,
        init=False,
    ),
]


@pytest.mark.usefixtures("unharmed")
@pytest.mark.parametrize(("protocol", "init", "frames", "code"), VIOLATIONS)
async def test_a_protocol_violation_closes_the_socket(uvicorn_server, protocol, init, frames, code):
    start_type, stop_type = (
        ("subscribe", "complete") if protocol == TRANSPORT else ("start", "stop")
    )
    async with raw_socket(uvicorn_server, protocol, init=init) as socket:
        for frame in frames(start_type, stop_type):
            await socket.send(frame)
        assert (await closed(socket))[0] == code


@pytest.mark.usefixtures("unharmed")
@pytest.mark.parametrize("protocol", ["graphql-foo", None])
async def test_a_handshake_without_a_known_subprotocol_is_closed_with_4406(
    uvicorn_server, protocol
):
    async with raw_socket(uvicorn_server, protocol, init=False) as socket:
        assert (await closed(socket))[0] == 4406


@pytest.mark.usefixtures("unharmed")
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_no_connection_init_in_time_closes_with_4408(limited_server, protocol):
    async with raw_socket(limited_server, protocol, init=False) as socket:
        assert await closed(socket) == (4408, [])
        assert socket.close_reason == "Connection initialisation timeout"


def code_of(code: str) -> Callable[[dict[str, Any]], bool]:
    return lambda error: error.get("extensions", {}).get("code") == code


def saying(text: str, code: str) -> Callable[[dict[str, Any]], bool]:
    return lambda error: text in error["message"] and code_of(code)(error)


BAD_OPERATIONS = [
    pytest.param(STREAM, {"batchSize": 0}, code_of("BAD_USER_INPUT"), id="batchSize 0"),
    pytest.param(STREAM, {"batchSize": 1001}, code_of("BAD_USER_INPUT"), id="batchSize 1001"),
    pytest.param(STREAM, {"after": "garbage"}, code_of("INVALID_CURSOR"), id="a bad cursor"),
    pytest.param(STREAM, {"after": ""}, code_of("INVALID_CURSOR"), id="an empty cursor"),
    pytest.param(STREAM, {"filter": {"ids": ["nope"]}}, code_of("INVALID_ID"), id="a bad ID"),
    pytest.param(
        STREAM,
        {"filter": {"price": {"gte": "abc"}}},
        saying("not a valid Decimal", "BAD_USER_INPUT"),
        id="a bad Decimal",
    ),
    pytest.param(
        STREAM,
        {"batchSize": "ten"},
        saying("Int cannot represent", "GRAPHQL_VALIDATION_FAILED"),
        id="a variable of a bad type",
    ),
    pytest.param(
        "subscription { nope }",
        {},
        saying("Cannot query field 'nope'", "GRAPHQL_VALIDATION_FAILED"),
        id="a validation error",
    ),
    pytest.param(
        "subscription A { productStream { sequence } } subscription B { productStream { cursor } }",
        {},
        saying("Must provide operation name", "GRAPHQL_VALIDATION_FAILED"),
        id="two operations and no name",
    ),
]


@pytest.mark.usefixtures("unharmed")
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(("query", "variables", "expected"), BAD_OPERATIONS)
async def test_a_bad_operation_gets_an_error_and_the_connection_goes_on(
    uvicorn_server, protocol, query, variables, expected
):
    async with graphql_websocket(uvicorn_server, protocol) as socket:
        (payload,) = await socket.collect(query, variables)
        (error,) = payload["errors"]
        assert expected(error), error
        (good,) = await socket.collect(STREAM, {"batchSize": 5})
        assert len(good["data"]["productStream"]["products"]) == 3


@pytest.mark.usefixtures("unharmed")
async def test_a_syntax_error_on_the_legacy_protocol_is_an_error_of_its_operation(uvicorn_server):
    # graphql-transport-ws closes with 4400 instead (VIOLATIONS).
    async with graphql_websocket(uvicorn_server, LEGACY) as socket:
        ((error,),) = [payload["errors"] for payload in await socket.collect("{")]
        assert error["message"].startswith("Syntax Error")
        assert await socket.collect(WAITING.replace("live: true", "live: false"))


@pytest.mark.usefixtures("unharmed")
@pytest.mark.parametrize(
    ("protocol", "expected"),
    [
        (TRANSPORT, code_of("FORBIDDEN")),
        (LEGACY, saying("mutations are not allowed", "BAD_REQUEST")),
    ],
)
async def test_an_anonymous_mutation_over_the_socket_writes_nothing(
    uvicorn_server, protocol, expected
):
    async with graphql_websocket(uvicorn_server, protocol) as socket:
        (payload,) = await socket.collect(CREATE)
        (error,) = payload["errors"]
        assert expected(error), error


@pytest.mark.usefixtures("unharmed")
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_operation_over_the_limit_gets_an_error_and_the_others_go_on(
    limited_server, protocol
):
    async with graphql_websocket(limited_server, protocol) as socket:
        running = [await socket.subscribe(WAITING) for _ in range(2)]
        # Each sends its snapshot, then waits.
        assert {(await socket.receive())["id"] for _ in running} == set(running)
        (payload,) = [p async for p in socket.results(await socket.subscribe(WAITING))]
        (error,) = payload["errors"]
        assert error["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
        assert "At most 2 operations" in error["message"]

        await socket.unsubscribe(running[0])
        if socket.legacy:  # its handler says complete for a stopped operation
            assert (await socket.receive()) == {"type": "complete", "id": running[0]}
        third = await socket.subscribe(WAITING)
        assert (await socket.receive())["id"] == third
