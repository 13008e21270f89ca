"""Persisted queries for subscriptions streamed over HTTP (SSE and
multipart): a hash alone is unknown at first, then known once its document
has been sent with it. Unknown, it is answered in the stream, or as JSON to
a client that accepts JSON too (Apollo's multipart subscriptions do), as any
other request naming it."""

import json
import uuid
from typing import Any

import httpx
import pytest

from persisted_queries.hashing import sha256_hex
from tests.api.http.http_streams import TRANSPORTS, results

pytestmark = pytest.mark.django_db(transaction=True)


async def stream(base_url: str, accept: str, body: dict[str, Any]) -> list[Any]:
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=30) as client,
        client.stream("POST", "/graphql/", json=body, headers={"Accept": accept}) as response,
    ):
        assert response.status_code == 200, await response.aread()
        if response.headers["content-type"].startswith("application/json"):
            return [json.loads(await response.aread())]
        return [frame.payload async for frame in results(response)]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_hash_alone_then_with_its_document_once(
    uvicorn_server: str, transport: str
) -> None:
    # A document of its own: a server process remembers those it has found.
    document = f"subscription S{uuid.uuid4().hex} {{ productStream {{ snapshotComplete }} }}"
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(document)}}
    accept = TRANSPORTS[transport]

    [unknown] = await stream(uvicorn_server, accept, {"extensions": extensions})
    assert unknown["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    [learnt] = await stream(uvicorn_server, accept, {"query": document, "extensions": extensions})
    assert learnt["data"]["productStream"] == {"snapshotComplete": True}
    [named] = await stream(uvicorn_server, accept, {"extensions": extensions})
    assert named["data"]["productStream"] == {"snapshotComplete": True}


async def test_a_bad_persisted_query_is_an_error_in_the_stream(uvicorn_server: str) -> None:
    bad = {"extensions": {"persistedQuery": {"version": 2, "sha256Hash": "nope"}}}
    [refused] = await stream(uvicorn_server, TRANSPORTS["sse"], bad)
    assert refused["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
