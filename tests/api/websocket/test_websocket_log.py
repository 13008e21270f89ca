"""The access lines of websockets, from a real uvicorn: one per operation
when it ends, however it ends, and one per connection when it closes."""

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from products.factories import ProductFactory
from tests.conftest import running_uvicorn
from tests.graphql_ws import PROTOCOLS, graphql_websocket

pytestmark = pytest.mark.django_db(transaction=True)

STREAM = """
subscription Catalog($batchSize: Int, $live: Boolean) {
  productStream(batchSize: $batchSize, live: $live) { sequence }
}
"""


@pytest.fixture(autouse=True)
async def close_writer_connections():
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("websocket-log") / "server.log"


@pytest.fixture(scope="module")
def server(test_database_url: str, log: Path) -> Iterator[str]:
    with running_uvicorn(test_database_url, settings={"LOG_LEVEL": "WARNING"}, log=log) as url:
        yield url


def access_lines(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line[:1] == "{"]


async def lines_of(log: Path, connection_of: str) -> list[dict[str, Any]]:
    """The access lines of the one connection that ran operation ``connection_of``
    (an operation name), once that connection's own line is written."""
    async with asyncio.timeout(10):
        while True:
            lines = access_lines(log)
            ids = {
                line["connection_id"]
                for line in lines
                if line.get("operation_name") == connection_of
            }
            mine = [line for line in lines if line.get("connection_id") in ids]
            if any(line["event"] == "websocket" for line in mine):
                return mine
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_one_line_per_operation_and_per_connection(server, log, protocol):
    await sync_to_async(ProductFactory.create_batch)(5)
    name = f"Catalog{protocol.replace('-', '')}"
    query = STREAM.replace("Catalog", name)
    async with graphql_websocket(server, protocol) as socket:
        assert len(await socket.collect(query, {"batchSize": 2})) == 3
        assert await socket.collect(query, {"batchSize": 0})
        cancelled = await socket.subscribe(query, {"live": True})
        await socket.receive()  # its snapshot
        await socket.unsubscribe(cancelled)
        if socket.legacy:
            await socket.receive()  # the legacy handler's complete
        await socket.subscribe(query, {"live": True})
        await socket.receive()
    # ... and the connection goes with the last one still running.

    lines = await lines_of(log, name)
    operations = [line for line in lines if line["event"] == "subscription"]
    assert [(line["outcome"], line["code"]) for line in operations] == [
        ("complete", None),
        ("error", "BAD_USER_INPUT"),
        ("cancelled", None),
        ("disconnected", None),
    ]
    assert [(line["batches"], line["rows"], line["phase"]) for line in operations] == [
        (3, 5, "SNAPSHOT"),
        (0, 0, None),
        (1, 5, "SNAPSHOT"),
        (1, 5, "SNAPSHOT"),
    ]
    assert {line["subprotocol"] for line in lines} == {protocol}
    assert [line["operation_id"] for line in operations] == ["1", "2", "3", "4"]
    assert all(line["duration_ms"] >= 0 for line in lines)
    (connection,) = [line for line in lines if line["event"] == "websocket"]
    assert (connection["operations"], connection["close_code"]) == (4, 1000)
    assert connection["closed_by"] == "client"
