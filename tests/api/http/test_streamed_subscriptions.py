"""``productStream`` over Server-Sent Events and over Apollo's multipart
subscriptions, against a real uvicorn read with httpx: the batches and the
errors a websocket gets, event ids that resume, heartbeats, and what a
request that is no subscription, or a malformed one, is answered."""

import asyncio
import json
from contextlib import aclosing
from decimal import Decimal
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.db import connections, transaction

from products import services
from products.factories import CategoryFactory, ProductFactory
from tests.api.http.http_streams import (
    MULTIPART,
    SSE,
    TRANSPORTS,
    Frame,
    collect,
    frames,
    results,
    streamed,
)
from tests.conftest import catalog_with_ties, running_uvicorn
from tests.graphql_ws import graphql_websocket
from tests.products.live_view import BATCH, LIVE_STREAM

pytestmark = pytest.mark.django_db(transaction=True)

SNAPSHOT = (
    """
subscription Snapshot($filter: ProductFilter, $batchSize: Int) {
  productStream(filter: $filter, batchSize: $batchSize) { ...Batch }
}
"""
    + BATCH
)
# As each client sends a query: urql lists every type it reads.
URQL_QUERY_ACCEPT = (
    "application/graphql-response+json, application/graphql+json, application/json, "
    "text/event-stream, multipart/mixed"
)
APOLLO_SUBSCRIPTION_ACCEPT = (
    "multipart/mixed;boundary=graphql;subscriptionSpec=1.0,"
    "application/graphql-response+json,application/json;q=0.9"
)
CASES = [("sse", "GET"), ("sse", "POST"), ("multipart", "POST")]


@pytest.fixture(autouse=True)
async def close_writer_connections():
    """The writes run on asgiref's shared thread; its connection must not
    outlive the test database."""
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture
async def client(uvicorn_server: str):
    async with httpx.AsyncClient(base_url=uvicorn_server, timeout=10) as client:
        yield client


def batches(frames: list[Frame]) -> list[dict[str, Any]]:
    for frame in frames:
        assert "errors" not in frame.payload, frame.payload
    return [frame.payload["data"]["productStream"] for frame in frames]


def ids(batches: list[dict[str, Any]]) -> list[str]:
    return [product["id"] for batch in batches for product in batch["products"]]


async def connection_ids(client: httpx.AsyncClient) -> list[str]:
    response = await client.post(
        "/graphql/",
        json={"query": "{ products(first: 100) { edges { node { id } } } }"},
        headers={"Accept": "application/json"},
    )
    return [edge["node"]["id"] for edge in response.json()["data"]["products"]["edges"]]


@sync_to_async
def update(product_id: int, **changes: Any) -> None:
    services.update_product(product_id, changes)  # type: ignore[arg-type]


async def websocket_errors(base_url: str, query: str, variables: dict[str, Any]) -> Any:
    async with graphql_websocket(base_url, "graphql-transport-ws") as socket:
        (payload,) = await socket.collect(query, variables)
    return payload["errors"]


@pytest.mark.parametrize(("transport", "method"), CASES)
async def test_a_snapshot_streams_in_batches_in_the_connections_order(client, transport, method):
    await sync_to_async(catalog_with_ties)(7)
    got = await collect(client, transport, SNAPSHOT, {"batchSize": 3}, method=method)

    streamed_batches = batches(got)
    assert [b["sequence"] for b in streamed_batches] == [1, 2, 3]
    assert [len(b["products"]) for b in streamed_batches] == [3, 3, 1]
    assert [b["snapshotComplete"] for b in streamed_batches] == [False, False, True]
    assert {b["phase"] for b in streamed_batches} == {"SNAPSHOT"}
    assert ids(streamed_batches) == await connection_ids(client)
    # Over SSE each event is identified by its batch's resume token.
    expected_ids = (
        [b["resumeToken"] for b in streamed_batches] if transport == "sse" else [None] * 3
    )
    assert [frame.id for frame in got] == expected_ids


@pytest.mark.parametrize(("transport", "method"), CASES)
async def test_a_live_stream_sends_a_committed_change_after_its_snapshot(client, transport, method):
    product = await sync_to_async(ProductFactory.create)(
        price=Decimal("10.00"), discount_percent=None, category=None
    )
    async with (
        streamed(client, transport, LIVE_STREAM, {"batchSize": 10}, method=method) as response,
        aclosing(results(response)) as stream,
    ):
        (snapshot,) = batches([await anext(stream)])
        assert snapshot["snapshotComplete"]
        assert snapshot["phase"] == "SNAPSHOT"
        await update(product.pk, price=Decimal("20.00"))
        async with asyncio.timeout(10):
            frame = await anext(stream)
    (live,) = batches([frame])
    assert live["phase"] == "LIVE"
    assert live["sequence"] == 2
    assert [(p["price"], p["version"]) for p in live["products"]] == [("20.00", 2)]
    assert frame.id == (live["resumeToken"] if transport == "sse" else None)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (SNAPSHOT, {"batchSize": 0}),
        (SNAPSHOT, {"filter": {"categories": ["not-an-id"]}}),
        ('subscription { productStream(resume: "garbage") { sequence } }', {}),
        ('subscription { productStream(resume: "x", live: true) { sequence } }', {}),
        ("subscription { productStream { nope } }", {}),
        (
            "subscription { productStream { products { "
            + " ".join(f"a{n}: sku" for n in range(40))
            + " } } }",
            {},
        ),
    ],
    ids=["batch size", "filter id", "resume token", "resume with live", "unknown field", "aliases"],
)
async def test_errors_are_those_of_a_websocket_inside_the_stream(
    client, uvicorn_server, transport, query, variables
):
    got = await collect(client, transport, query, variables)

    assert len(got) == 1, got
    assert got[0].payload.get("data") is None
    assert got[0].payload["errors"] == await websocket_errors(uvicorn_server, query, variables)
    assert got[0].id is None


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_document_that_does_not_parse_is_an_error_inside_the_stream(client, transport):
    # (graphql-transport-ws closes the socket with 4400 instead.)
    got = await collect(client, transport, "subscription { productStream {")

    (error,) = got[0].payload["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert error["message"].startswith("Syntax Error")


@pytest.mark.parametrize("accept", [SSE, 'multipart/mixed;subscriptionSpec="1.0"'])
async def test_a_query_asked_for_as_a_stream_alone_is_told_to_ask_for_json(client, accept):
    transport = "sse" if accept == SSE else "multipart"
    headers = {"Accept": accept}
    got = await collect(client, transport, "{ products { totalCount } }", headers=headers)

    (error,) = got[0].payload["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "Only subscriptions are streamed" in error["message"]


async def test_a_query_that_accepts_json_besides_a_stream_gets_json(client):
    response = await client.post(
        "/graphql/",
        json={"query": "{ products { totalCount } }"},
        headers={"Accept": URQL_QUERY_ACCEPT},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/")
    assert response.json()["data"] == {"products": {"totalCount": 0}}


async def test_apollo_clients_accept_header_streams_a_subscription_as_multipart(client):
    got = await collect(
        client, "multipart", SNAPSHOT, headers={"Accept": APOLLO_SUBSCRIPTION_ACCEPT}
    )
    assert batches(got)[0]["snapshotComplete"] is True


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        (b"{not json", "application/json", "not valid JSON"),
        (b"[]", "application/json", "Batching is not enabled"),
        (b"42", "application/json", "must be a JSON object"),
        (b'{"query": 42}', "application/json", "`query` must be a string"),
        (b'{"query": "subscription { x }", "variables": []}', "application/json", "`variables`"),
        (b"subscription { x }", "text/plain", "Unsupported content type"),
    ],
)
async def test_a_malformed_request_is_a_400_with_a_json_error(
    client, transport, content, content_type, message
):
    headers = {"Accept": TRANSPORTS[transport], "Content-Type": content_type}
    response = await client.post("/graphql/", content=content, headers=headers)

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert message in error["message"]


async def test_malformed_variables_in_a_get_are_a_400(client):
    params = {"query": SNAPSHOT, "variables": "{oops"}
    response = await client.get("/graphql/", params=params, headers={"Accept": SSE})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_bad_token_is_refused_before_anything_streams(client, transport):
    headers = {"Accept": TRANSPORTS[transport], "Authorization": "Bearer nope"}
    response = await client.post("/graphql/", json={"query": SNAPSHOT}, headers=headers)

    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_page_of_another_origin_may_not_open_a_stream(client, uvicorn_server, transport):
    accept = {"Accept": TRANSPORTS[transport]}
    foreign = await client.post(
        "/graphql/", json={"query": SNAPSHOT}, headers={**accept, "Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    assert foreign.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # The server's own pages may.
    own = await collect(client, transport, SNAPSHOT, headers={"Origin": uvicorn_server})
    assert batches(own)[0]["snapshotComplete"]


async def test_an_origin_allowed_by_cors_may_open_a_stream(test_database_url):
    origin = "https://shop.example"
    settings = {"CORS_ALLOWED_ORIGINS": origin}
    with running_uvicorn(test_database_url, settings) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            got = await collect(client, "sse", SNAPSHOT, headers={"Origin": origin})
            preflight = await client.options(
                "/graphql/",
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type,last-event-id",
                },
            )
    assert batches(got)[0]["snapshotComplete"]
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert "last-event-id" in allowed


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_reconnect_with_last_event_id_goes_on_after_that_event(client, method):
    await sync_to_async(catalog_with_ties)(10)
    variables = {"batchSize": 3}
    async with (
        streamed(client, "sse", SNAPSHOT, variables, method=method) as response,
        aclosing(results(response)) as stream,
    ):
        first = [await anext(stream), await anext(stream)]  # then the client leaves

    last_id = first[-1].id
    assert last_id is not None
    headers = {"Last-Event-ID": last_id}
    rest = await collect(client, "sse", SNAPSHOT, variables, method=method, headers=headers)

    assert [b["sequence"] for b in batches(rest)] == [1, 2]
    assert ids(batches(first)) + ids(batches(rest)) == await connection_ids(client)


async def test_a_live_stream_reconnected_sends_what_changed_meanwhile_and_no_snapshot(client):
    products = await sync_to_async(ProductFactory.create_batch)(3, category=None)
    async with (
        streamed(client, "sse", LIVE_STREAM) as response,
        aclosing(results(response)) as stream,
    ):
        snapshot = await anext(stream)
    await update(products[1].pk, stock=99)

    # `live: true` is in the document resent: the event id says where it stands.
    headers = {"Last-Event-ID": snapshot.id or ""}
    async with (
        streamed(client, "sse", LIVE_STREAM, headers=headers) as response,
        aclosing(results(response)) as stream,
    ):
        async with asyncio.timeout(10):
            (live,) = batches([await anext(stream)])
    assert live["phase"] == "LIVE"
    assert [(p["id"], p["stock"], p["version"]) for p in live["products"]] == [
        (ids([batches([snapshot])[0]])[1], 99, 2)
    ]


@pytest.mark.parametrize(
    "last_event_id",
    ["garbage", "WzEsIm5vcGUiXQ:forged"],
)
async def test_a_bad_last_event_id_is_an_invalid_cursor_error(client, last_event_id):
    got = await collect(client, "sse", SNAPSHOT, headers={"Last-Event-ID": last_event_id})
    (error,) = got[0].payload["errors"]
    assert error["extensions"]["code"] == "INVALID_CURSOR"


async def test_a_last_event_id_of_another_filter_is_refused(client):
    category = await sync_to_async(CategoryFactory.create)()
    await sync_to_async(ProductFactory.create)(category=category)
    (frame,) = await collect(client, "sse", SNAPSHOT)
    other = {"filter": {"inStock": True}}
    got = await collect(client, "sse", SNAPSHOT, other, headers={"Last-Event-ID": frame.id or ""})
    (error,) = got[0].payload["errors"]
    assert error["extensions"]["code"] == "INVALID_CURSOR"
    assert "another filter" in error["message"]


async def test_a_quiet_stream_sends_heartbeats(test_database_url):
    await sync_to_async(ProductFactory.create)()
    with running_uvicorn(test_database_url, {"HTTP_STREAM_HEARTBEAT_SECONDS": "0.2"}) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            for transport in TRANSPORTS:
                async with streamed(client, transport, LIVE_STREAM) as response:
                    kinds = []
                    async with asyncio.timeout(5), aclosing(frames(response)) as stream:
                        async for frame in stream:
                            kinds.append(frame.kind)
                            if kinds.count("heartbeat") == 3:
                                break
                assert kinds[0] == "next", (transport, kinds)
                assert set(kinds[1:]) == {"heartbeat"}, (transport, kinds)


async def test_every_frame_is_what_its_protocol_says(client):
    """The bytes on the wire, as graphql-sse's and Apollo's parsers expect them."""
    await sync_to_async(ProductFactory.create)()
    query = "subscription { productStream { sequence } }"
    sse = await client.post("/graphql/", json={"query": query}, headers={"Accept": SSE})
    assert sse.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert sse.headers["cache-control"] == "no-cache, no-transform"
    first, complete, end = sse.text.split("\n\n")
    id_line, event, data = first.split("\n")
    assert id_line.startswith("id: ")
    assert event == "event: next"
    result = json.loads(data.removeprefix("data: "))
    assert result["data"] == {"productStream": {"sequence": 1}}
    assert set(result) == {"data", "extensions"}
    assert complete == "event: complete\ndata:"
    assert end == ""

    multipart = await client.post("/graphql/", json={"query": query}, headers={"Accept": MULTIPART})
    assert multipart.headers["content-type"] == (
        'multipart/mixed;boundary="graphql";subscriptionSpec="1.0"'
    )
    assert multipart.text == (
        "\r\n--graphql\r\nContent-Type: application/json; charset=utf-8\r\n\r\n"
        '{"payload":{"data":{"productStream":{"sequence":1}},'
        '"extensions":{"cost":{"requested":1,"limit":3500}}}}\r\n--graphql--\r\n'
    )


async def test_a_live_stream_that_falls_behind_ends_so_that_its_client_resumes(
    test_database_url,
):
    settings = {"LIVE_MAX_PENDING": "1"}
    with running_uvicorn(test_database_url, settings) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            ends = {}
            for transport in TRANSPORTS:
                async with (
                    streamed(client, transport, LIVE_STREAM) as response,
                    aclosing(frames(response)) as stream,
                ):
                    assert (await anext(stream)).kind == "next"  # the (empty) snapshot
                    # Three changes at once, more than may wait for one subscriber.
                    await sync_to_async(create_together)(3)
                    async with asyncio.timeout(10):
                        ends[transport] = [frame async for frame in stream]
    # SSE: no `complete`, so that the client reconnects with its last event id.
    assert ends["sse"] == []
    # Multipart: Apollo's transport error, then the end of the body.
    ((error,), complete) = [ends["multipart"][0].payload, ends["multipart"][1].kind]
    assert ends["multipart"][0].kind == "error"
    assert error["extensions"]["code"] == "TRY_AGAIN_LATER"
    assert "Fell too far behind" in error["message"]
    assert complete == "complete"


def create_together(count: int) -> None:
    with transaction.atomic():
        ProductFactory.create_batch(count)
