"""Redis stopped, then started again, between two server processes: live
updates end loudly and resume, while writes and queries go on."""

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.faults.conftest import Serve, report
from tests.faults.services import PostgresCluster, RedisServer, staff_token
from tests.graphql_ws import GraphQLWebSocket, graphql_websocket

pytestmark = pytest.mark.slow

LIVE = """subscription($filter: ProductFilter) {
  productStream(filter: $filter, live: true) {
    phase snapshotComplete products { id price version }
  }
}"""
FIRST_PRODUCT = "{ products(first: 1) { edges { node { id price } } } }"
SET_PRICE = """mutation($id: ID!, $price: Decimal!) {
  updateProduct(id: $id, input: {price: $price}) { product { price } errors { code } }
}"""
# Seconds within which the stream ends, a subscription is refused, or a
# mutation answers, with Redis gone.
PROMPTLY = 1.0
RESUMED_WITHIN = 5.0


async def post(base_url: str, query: str, variables: dict[str, Any], token: str = "") -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        response = await http.post(
            "/graphql/", json={"query": query, "variables": variables}, headers=headers
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def set_price(base_url: str, token: str, product_id: str, price: str) -> float:
    """Sets the price through ``base_url``; returns how long the mutation took."""
    started = time.monotonic()
    data = await post(base_url, SET_PRICE, {"id": product_id, "price": price}, token)
    assert data["updateProduct"] == {"product": {"price": price}, "errors": []}
    return time.monotonic() - started


def subscribe_live(socket: GraphQLWebSocket, product_id: str) -> Awaitable[str]:
    return socket.subscribe(LIVE, {"filter": {"ids": [product_id]}})


async def live_updates(socket: GraphQLWebSocket, product_id: str) -> AsyncIterator[Any]:
    """Subscribes live to one product; returns once its snapshot has come,
    with the payloads to come."""
    results = socket.results(await subscribe_live(socket, product_id))
    first = await next_within(results)
    assert first["data"]["productStream"]["snapshotComplete"], first
    return results


async def next_within(payloads: AsyncIterator[Any], seconds: float = 10) -> Any:
    async with asyncio.timeout(seconds):
        return await anext(payloads)


def interrupted(payload: dict[str, Any]) -> bool:
    (error,) = payload["errors"]
    return bool(error["extensions"]["code"] == "LIVE_UPDATES_INTERRUPTED")


async def test_live_updates_end_loudly_without_redis_and_resume_with_it(
    postgres: PostgresCluster, private_redis: RedisServer, serve: Serve, tmp_path: Path
) -> None:
    redis = {"REDIS_URL": private_redis.url, "BROADCAST_PREFIX": f"faults_h-{uuid4().hex}"}
    writer, listener = serve("writer", **redis), serve("listener", **redis)
    token = staff_token(postgres)
    product = (await post(writer, FIRST_PRODUCT, {}))["products"]["edges"][0]["node"]

    async with graphql_websocket(listener, "graphql-transport-ws") as socket:
        updates = await live_updates(socket, product["id"])
        await set_price(writer, token, product["id"], "11.00")
        (changed,) = (await next_within(updates))["data"]["productStream"]["products"]
        assert changed["price"] == "11.00"

        private_redis.stop()
        stopped = time.monotonic()
        failure = await next_within(updates)
        stream_ended = time.monotonic() - stopped
        assert interrupted(failure), failure
        assert "subscribe again" in failure["errors"][0]["message"]
        assert [payload async for payload in updates] == []

        started = time.monotonic()
        refusals = socket.results(await subscribe_live(socket, product["id"]))
        refusal = await next_within(refusals)
        refused = time.monotonic() - started
        assert interrupted(refusal), refusal
        assert [payload async for payload in refusals] == []

    write_without_redis = await set_price(writer, token, product["id"], "12.00")
    assert re.search(
        r"ERROR .*publish_changes.*Connection refused", (tmp_path / "writer.log").read_text()
    )
    for server in (writer, listener):
        data = await post(server, FIRST_PRODUCT, {})
        assert data["products"]["edges"][0]["node"] == {"id": product["id"], "price": "12.00"}

    private_redis.start()
    back = time.monotonic()
    async with graphql_websocket(listener, "graphql-transport-ws") as socket:
        updates = await live_updates(socket, product["id"])
        await set_price(writer, token, product["id"], "13.00")
        (changed,) = (await next_within(updates))["data"]["productStream"]["products"]
        resumed = time.monotonic() - back
    assert changed["price"] == "13.00"

    report(
        stream_ended=stream_ended,
        subscription_refused=refused,
        write_without_redis=write_without_redis,
        resumed=resumed,
    )
    assert stream_ended < PROMPTLY
    assert refused < PROMPTLY
    assert write_without_redis < PROMPTLY
    assert resumed < RESUMED_WITHIN
