"""PostgreSQL stopped while a stream is being read, then started again: the
stream ends with a clear error, the server says it is not ready, and it
serves again soon after PostgreSQL is back, without a restart."""

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

import httpx
import pytest

from tests.faults.conftest import PRODUCTS, Serve, report
from tests.faults.services import PostgresCluster
from tests.graphql_ws import graphql_websocket

pytestmark = pytest.mark.slow

POOL_TIMEOUT = 2.0
READINESS_TIMEOUT = 1.0
RECOVERY_SECONDS = 5.0
OUTAGE_SECONDS = 20.0
# About 1 KB a product: the stream outlasts what socket buffers hold, so it
# is still reading when PostgreSQL stops.
STREAM = """subscription($batchSize: Int) {{
  productStream(batchSize: $batchSize) {{
    sequence snapshotComplete products {{ id sku name {} }}
  }}
}}""".format(" ".join(f"d{n}: description" for n in range(8)))
QUERY = {"query": "{ products(first: 5) { edges { node { id discountedPrice } } } }"}


async def timed(request: Awaitable[httpx.Response]) -> tuple[float, httpx.Response]:
    started = time.monotonic()
    response = await request
    return time.monotonic() - started, response


async def stream_to_the_end(base_url: str) -> list[Any]:
    async with graphql_websocket(base_url, "graphql-transport-ws") as socket:
        return await socket.collect(STREAM, {"batchSize": 500})


async def test_a_stream_ends_with_an_error_and_the_server_recovers(
    postgres: PostgresCluster, serve: Serve
) -> None:
    base_url = serve(
        "server",
        DB_POOL_TIMEOUT=POOL_TIMEOUT,
        READINESS_TIMEOUT=READINESS_TIMEOUT,
        STREAM_WINDOW_SIZE=100,
    )
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=30) as http,
        graphql_websocket(base_url, "graphql-transport-ws", small_buffers=True) as socket,
    ):
        results = socket.results(await socket.subscribe(STREAM, {"batchSize": 20}))
        read = [await anext(results) for _ in range(3)]
        postgres.stop()
        stopped = time.monotonic()
        async with asyncio.timeout(30):
            read += [payload async for payload in results]
        stream_ended = time.monotonic() - stopped

        *batches, failure = read
        assert all("errors" not in batch for batch in batches)
        assert not any(batch["data"]["productStream"]["snapshotComplete"] for batch in batches)
        (error,) = failure["errors"]

        # Long enough for the pool's reconnection attempts to back off far.
        while time.monotonic() - stopped < OUTAGE_SECONDS:
            assert (await http.get("/healthz")).status_code == 200
            readyz_answered, response = await timed(http.get("/readyz"))
            assert response.status_code == 503
            assert readyz_answered < READINESS_TIMEOUT + 1
            query_answered, response = await timed(http.post("/graphql/", json=QUERY))
            assert response.status_code != 500
            assert response.json()["errors"], response.text
            assert query_answered < POOL_TIMEOUT + 1

        postgres.start()
        back = time.monotonic()
        while (await http.get("/readyz")).status_code != 200:
            assert time.monotonic() - back < RECOVERY_SECONDS, "/readyz stayed 503"
            await asyncio.sleep(0.05)
        ready_again = time.monotonic() - back
        response = await http.post("/graphql/", json=QUERY)
        assert "errors" not in response.json(), response.text
        assert len(response.json()["data"]["products"]["edges"]) == 5
        batches = await stream_to_the_end(base_url)
        serving_again = time.monotonic() - back

    assert all("errors" not in batch for batch in batches)
    assert batches[-1]["data"]["productStream"]["snapshotComplete"]
    assert sum(len(b["data"]["productStream"]["products"]) for b in batches) == PRODUCTS
    assert serving_again < RECOVERY_SECONDS
    report(
        stream_ended=stream_ended,
        readyz_503=readyz_answered,
        query_error=query_answered,
        ready_again=ready_again,
        serving_again=serving_again,
    )
    # Last, as api maps database failures to this error.
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE", error
    assert "database is unavailable" in error["message"], error


async def test_a_restart_while_idle_costs_no_request_an_error(
    postgres: PostgresCluster, serve: Serve
) -> None:
    """The pooled connections PostgreSQL cut are found out before they are
    lent, not by the requests they would have been lent to."""
    base_url = serve("server", DB_POOL_TIMEOUT=POOL_TIMEOUT, DB_POOL_MIN_SIZE=4)
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        assert "errors" not in (await http.post("/graphql/", json=QUERY)).json()
        postgres.stop()
        postgres.start()
        answered, response = await timed(http.post("/graphql/", json=QUERY))
        assert "errors" not in response.json(), response.text
        assert (await http.get("/readyz")).status_code == 200
    report(first_query_after_restart=answered)
